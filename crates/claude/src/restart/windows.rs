//! Windows: PowerShell lists the processes, `taskkill` ends them, the install folder's
//! `claude.exe` starts Claude again.

use std::path::{Path, PathBuf};

use super::{Invocation, RunningClaude, WINDOWS_INSTALL_DIR};
use crate::Environment;

/// Lists running `claude` processes as `<pid>\t<path>` lines.
pub fn windows_list_processes() -> Invocation {
    Invocation::new(
        "powershell.exe",
        &[
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            "Get-Process -Name claude -ErrorAction SilentlyContinue | \
             ForEach-Object { \"$($_.Id)`t$($_.Path)\" }",
        ],
    )
}

/// Reads [`windows_list_processes`]'s output, keeping the processes that run from Claude
/// Desktop's install folder under `local_appdata` (Claude Code also ships a `claude.exe`).
pub fn parse_windows_processes(output: &str, local_appdata: &Path) -> Vec<RunningClaude> {
    // Windows paths are case-insensitive and take either slash; compare them normalised.
    let norm = |p: &str| p.replace('/', "\\").to_lowercase();
    let local = local_appdata.to_string_lossy();
    let install = norm(&format!(
        "{}\\{WINDOWS_INSTALL_DIR}\\",
        local.trim_end_matches(['\\', '/'])
    ));
    output
        .lines()
        .filter_map(|line| {
            let (pid, path) = line.trim().split_once('\t')?;
            let pid = pid.trim().parse().ok()?;
            let path = path.trim();
            let inside = norm(path).starts_with(&install);
            inside.then(|| RunningClaude {
                pid,
                program: PathBuf::from(path),
                args: Vec::new(),
            })
        })
        .collect()
}

/// `taskkill /PID <pid> /T` (asks it to close), or with `/F` (ends it).
pub fn windows_end(pid: u32, force: bool) -> Invocation {
    let pid = pid.to_string();
    let mut args = vec!["/PID", pid.as_str(), "/T"];
    if force {
        args.push("/F");
    }
    Invocation::new("taskkill", &args)
}

/// Claude Desktop's launcher in its install folder (it starts the newest installed version).
pub fn windows_launcher(env: &Environment) -> Option<PathBuf> {
    env.local_appdata
        .as_ref()
        .map(|l| l.join(WINDOWS_INSTALL_DIR).join("claude.exe"))
}
