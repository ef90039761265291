//! Linux: a community build found in `/proc`, ended with TERM then KILL and started again with
//! the same arguments.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Invocation, RestartError, Restarted, RunningClaude, wait_until};

/// The executable file names of community Linux builds of Claude Desktop. (`claude`, lower
/// case, is Claude Code: never matched.)
const LINUX_NAMES: [&str; 3] = ["claude-desktop", "Claude", "claude-desktop-bin"];

/// Finds Claude Desktop's main processes in a `/proc`-like folder: a process whose executable
/// is named like a Claude Desktop build, or an Electron whose app (`*.asar`) lies in a
/// `claude-desktop` folder. Electron's helper processes (`--type=…`) are left out: ending the
/// main process ends them. Processes whose executable cannot be read (another user's) or was
/// deleted (upgraded underneath) are skipped: they cannot be started again by path.
pub fn find_linux(proc_root: &Path) -> Vec<RunningClaude> {
    let Ok(entries) = fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut out: Vec<RunningClaude> = entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            linux_process(&entry.path(), pid)
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

fn linux_process(dir: &Path, pid: u32) -> Option<RunningClaude> {
    let cmdline = fs::read(dir.join("cmdline")).ok()?;
    let mut argv = cmdline
        .split(|b| *b == 0)
        .map(|a| OsString::from(String::from_utf8_lossy(a).into_owned()));
    argv.next()?;
    let mut args: Vec<OsString> = argv.collect();
    // The kernel ends the list with a NUL, which leaves one empty piece.
    if args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    if args
        .iter()
        .any(|a| a.to_string_lossy().starts_with("--type="))
    {
        return None;
    }
    let exe = fs::read_link(dir.join("exe")).ok()?;
    if exe.to_string_lossy().ends_with(" (deleted)") {
        return None;
    }
    let named = exe
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| LINUX_NAMES.contains(&n));
    let claude_asar = args.iter().any(|a| {
        let p = Path::new(a);
        p.extension().is_some_and(|e| e == "asar")
            && p.components()
                .any(|c| c.as_os_str() == "claude-desktop" || c.as_os_str() == "Claude")
    });
    if !named && !claude_asar {
        return None;
    }
    // An AppImage runs from a temporary mount that goes away when it quits: start the image.
    let program = fs::read(dir.join("environ"))
        .ok()
        .and_then(|env| {
            env.split(|b| *b == 0)
                .find_map(|kv| kv.strip_prefix(b"APPIMAGE=").map(<[u8]>::to_vec))
        })
        .map(|p| PathBuf::from(String::from_utf8_lossy(&p).into_owned()))
        .filter(|p| p.is_absolute())
        .unwrap_or(exe);
    Some(RunningClaude { pid, program, args })
}

/// `kill -TERM <pid>` (or `-KILL`).
pub fn linux_end(pid: u32, force: bool) -> Invocation {
    let pid = pid.to_string();
    Invocation::new(
        "kill",
        &[if force { "-KILL" } else { "-TERM" }, pid.as_str()],
    )
}

/// Ends the given Claude Desktop processes (TERM, then KILL after [`QUIT_WAIT`]) and starts the
/// first one's program again with its arguments. Separate from [`restart`] so a test can hand
/// it exactly the processes it started.
pub fn restart_linux(
    running: &[RunningClaude],
    proc_root: &Path,
) -> Result<Restarted, RestartError> {
    let first = running.first().ok_or_else(|| {
        RestartError::Unavailable(
            "Claude Desktop is not running, so QuantDesk does not know where it is installed. \
             Open it yourself; it reads the new settings when it starts."
                .into(),
        )
    })?;
    let alive = |pid: u32| proc_root.join(pid.to_string()).exists();
    for p in running {
        // Already gone is fine.
        let _ = linux_end(p.pid, false).output();
    }
    if !wait_until(|| running.iter().all(|p| !alive(p.pid))) {
        for p in running.iter().filter(|p| alive(p.pid)) {
            let _ = linux_end(p.pid, true).output();
        }
        if !wait_until(|| running.iter().all(|p| !alive(p.pid))) {
            return Err(RestartError::DidNotQuit);
        }
    }
    Invocation {
        program: first.program.clone(),
        args: first.args.clone(),
    }
    .launch()?;
    Ok(Restarted {
        message: "Claude Desktop was restarted; QuantDesk's tools are there once it has opened."
            .into(),
    })
}
