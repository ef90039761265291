//! Restarting Claude Desktop, so it reads its config again, where the OS lets us do it without
//! guessing:
//!
//! - **macOS**: `osascript -e 'tell application "Claude" to quit'` (Claude quits as if the person
//!   chose Quit), wait until `application "Claude" is running` says false, then `open -a Claude`.
//!   Offered when `Claude.app` is in `/Applications` or `~/Applications`.
//! - **Windows**: the running `claude.exe` processes and their paths come from PowerShell's
//!   `Get-Process`; only those inside Claude Desktop's own install folder
//!   (`%LOCALAPPDATA%\AnthropicClaude\`) count, so Claude Code's `claude.exe` is never touched.
//!   They are ended with `taskkill /T` (then `/F` if they are still there after a few seconds)
//!   and Claude is started again from `%LOCALAPPDATA%\AnthropicClaude\claude.exe`. The
//!   Microsoft Store build cannot be launched by path, so it is not offered there.
//! - **Linux**: Anthropic ships no Linux build; a community build is restarted only when its
//!   running main process is found in `/proc` with a known executable (the AppImage file itself
//!   for an AppImage), and it is started again with the same arguments.
//!
//! Everything that decides — which commands, which processes — is a plain function of its
//! inputs (tested on any OS); [`restart`] only runs what they decided. It never ends a process it
//! did not identify as Claude Desktop, and never starts anything but Claude Desktop.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Environment, Os};

/// How long Claude Desktop gets to quit before it is ended by force (Windows, Linux) or the
/// restart gives up (macOS).
const QUIT_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);

/// The name of the Windows install folder under `%LOCALAPPDATA%` (Claude Desktop's installer).
const WINDOWS_INSTALL_DIR: &str = "AnthropicClaude";

/// One program with its arguments, as it will be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl Invocation {
    fn new(program: impl Into<PathBuf>, args: &[&str]) -> Self {
        Self {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null());
        cmd
    }

    /// Runs it to the end; its stdout on success.
    fn output(&self) -> Result<String, RestartError> {
        let out = self
            .command()
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .map_err(|e| self.failed(e.to_string()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(self.failed(if err.is_empty() {
                out.status.to_string()
            } else {
                err
            }));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts it and lets it run on its own (it outlives QuantDesk).
    fn launch(&self) -> Result<(), RestartError> {
        let mut cmd = self.command();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group: a signal to QuantDesk's group does not reach it.
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| self.failed(e.to_string()))?;
        // Reap it whenever it ends, so it never lingers as a zombie of QuantDesk.
        std::thread::spawn(move || child.wait());
        Ok(())
    }

    fn failed(&self, why: String) -> RestartError {
        RestartError::Command {
            command: self.display(),
            why,
        }
    }

    fn display(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A running Claude Desktop process: what ends it and what starts it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningClaude {
    pub pid: u32,
    /// The program to start again: the executable, or the AppImage it runs from.
    pub program: PathBuf,
    /// Its arguments (Linux), to start it the same way.
    pub args: Vec<OsString>,
}

/// Whether QuantDesk can restart Claude Desktop here, and the sentence that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// The button may be shown; `how` says what it will do.
    Available { how: String },
    /// It can't; `why` says why and what the person can do instead.
    Unavailable { why: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error("{0}")]
    Unavailable(String),
    #[error("`{command}` failed: {why}")]
    Command { command: String, why: String },
    #[error(
        "Claude Desktop did not quit within {} seconds; quit it yourself (it may be asking about \
         unsaved work) and open it again",
        QUIT_WAIT.as_secs()
    )]
    DidNotQuit,
}

/// What a restart did, in one sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restarted {
    pub message: String,
}

// ------------------------------------------------------------------ macOS

/// `osascript -e 'tell application "Claude" to quit'`.
pub fn macos_quit() -> Invocation {
    Invocation::new("osascript", &["-e", "tell application \"Claude\" to quit"])
}

/// Prints `true` or `false`.
pub fn macos_is_running() -> Invocation {
    Invocation::new("osascript", &["-e", "application \"Claude\" is running"])
}

/// `open -a Claude`.
pub fn macos_open() -> Invocation {
    Invocation::new("open", &["-a", "Claude"])
}

/// Where Claude.app may be installed.
pub fn macos_app_candidates(env: &Environment) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/Applications/Claude.app")];
    out.extend(env.home.iter().map(|h| h.join("Applications/Claude.app")));
    out
}

// ---------------------------------------------------------------- Windows

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

// ------------------------------------------------------------------ Linux

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

// ----------------------------------------------------------------- all OSes

/// Whether Claude Desktop can be restarted from QuantDesk on `os` (Linux and Windows look at
/// the running processes; `proc_root` is `/proc` outside tests).
pub fn offer(os: Os, env: &Environment, proc_root: &Path) -> Offer {
    match os {
        Os::MacOs => {
            if macos_app_candidates(env).iter().any(|p| p.is_dir()) {
                Offer::Available {
                    how: "QuantDesk asks Claude Desktop to quit and opens it again.".into(),
                }
            } else {
                Offer::Unavailable {
                    why: "Claude.app is not in Applications, so QuantDesk cannot open it for you. \
                          Quit Claude Desktop and open it again yourself."
                        .into(),
                }
            }
        }
        Os::Windows => match windows_launcher(env) {
            Some(l) if l.is_file() => Offer::Available {
                how: "QuantDesk closes Claude Desktop and starts it again.".into(),
            },
            _ => Offer::Unavailable {
                why: "QuantDesk cannot start this copy of Claude Desktop by itself (it is not in \
                      its usual install folder, or it is the Microsoft Store build). Quit it from \
                      its tray icon and open it again from the Start menu."
                    .into(),
            },
        },
        Os::Linux => {
            if find_linux(proc_root).is_empty() {
                Offer::Unavailable {
                    why: "No running Claude Desktop was found, so QuantDesk does not know how to \
                          start it. Anthropic publishes no Linux build; if you use a community \
                          build, open it (or quit and reopen it) yourself."
                        .into(),
                }
            } else {
                Offer::Available {
                    how: "QuantDesk ends the running Claude Desktop and starts it again the same \
                          way."
                        .into(),
                }
            }
        }
    }
}

/// Restarts Claude Desktop on this machine (or starts it, on macOS and Windows, when it is not
/// running). Blocks for up to about [`QUIT_WAIT`] twice: call it off the async threads.
pub fn restart(os: Os, env: &Environment, proc_root: &Path) -> Result<Restarted, RestartError> {
    if let Offer::Unavailable { why } = offer(os, env, proc_root) {
        return Err(RestartError::Unavailable(why));
    }
    match os {
        Os::MacOs => {
            let running = |_: ()| {
                macos_is_running()
                    .output()
                    .is_ok_and(|out| out.trim() == "true")
            };
            let was_running = running(());
            if was_running {
                macos_quit().output()?;
                if !wait_until(|| !running(())) {
                    return Err(RestartError::DidNotQuit);
                }
            }
            macos_open().output()?;
            Ok(Restarted {
                message: if was_running {
                    "Claude Desktop was restarted; QuantDesk's tools are there once it has opened."
                } else {
                    "Claude Desktop was not running; QuantDesk opened it."
                }
                .into(),
            })
        }
        Os::Windows => {
            let launcher = windows_launcher(env).ok_or_else(|| {
                RestartError::Unavailable("%LOCALAPPDATA% is not set on this machine".into())
            })?;
            let local = env.local_appdata.clone().unwrap_or_default();
            let list = || {
                windows_list_processes()
                    .output()
                    .map(|out| parse_windows_processes(&out, &local))
            };
            let running = list()?;
            for p in &running {
                let _ = windows_end(p.pid, false).output();
            }
            if !running.is_empty() && !wait_until(|| list().is_ok_and(|l| l.is_empty())) {
                for p in list()? {
                    let _ = windows_end(p.pid, true).output();
                }
                if !wait_until(|| list().is_ok_and(|l| l.is_empty())) {
                    return Err(RestartError::DidNotQuit);
                }
            }
            Invocation::new(launcher, &[]).launch()?;
            Ok(Restarted {
                message: if running.is_empty() {
                    "Claude Desktop was not running; QuantDesk started it."
                } else {
                    "Claude Desktop was restarted; QuantDesk's tools are there once it has opened."
                }
                .into(),
            })
        }
        Os::Linux => restart_linux(&find_linux(proc_root), proc_root),
    }
}

/// Polls `done` until it holds or [`QUIT_WAIT`] passes.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + QUIT_WAIT;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(i: &Invocation) -> Vec<&str> {
        i.args.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn macos_quits_through_applescript_and_opens_by_name() {
        assert_eq!(macos_quit().program, Path::new("osascript"));
        assert_eq!(
            args(&macos_quit()),
            ["-e", "tell application \"Claude\" to quit"]
        );
        assert_eq!(
            args(&macos_is_running()),
            ["-e", "application \"Claude\" is running"]
        );
        assert_eq!(macos_open().display(), "open -a Claude");
    }

    #[test]
    fn macos_is_offered_only_with_claude_app_installed() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            home: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let proc = dir.path().join("proc");
        // /Applications/Claude.app may exist on a Mac running this test; only judge elsewhere.
        if !Path::new("/Applications/Claude.app").exists() {
            assert!(matches!(
                offer(Os::MacOs, &env, &proc),
                Offer::Unavailable { .. }
            ));
            assert!(matches!(
                restart(Os::MacOs, &env, &proc),
                Err(RestartError::Unavailable(_))
            ));
        }
        fs::create_dir_all(dir.path().join("Applications/Claude.app")).unwrap();
        assert!(matches!(
            offer(Os::MacOs, &env, &proc),
            Offer::Available { .. }
        ));
    }

    #[test]
    fn windows_keeps_only_claude_desktop_processes() {
        let local = Path::new(r"C:\Users\Ann\AppData\Local");
        let out = "4242\tC:\\Users\\Ann\\AppData\\Local\\AnthropicClaude\\app-0.12.55\\claude.exe\r\n\
                   4243\tc:\\users\\ann\\appdata\\local\\anthropicclaude\\app-0.12.55\\claude.exe\r\n\
                   5000\tC:\\Users\\Ann\\.local\\bin\\claude.exe\r\n\
                   5001\tC:\\Users\\Ann\\AppData\\Local\\AnthropicClaudeOld\\claude.exe\r\n\
                   6000\t\r\n\
                   garbage\r\n";
        let found = parse_windows_processes(out, local);
        assert_eq!(
            found.iter().map(|p| p.pid).collect::<Vec<_>>(),
            [4242, 4243]
        );
        assert_eq!(
            found[0].program,
            Path::new(r"C:\Users\Ann\AppData\Local\AnthropicClaude\app-0.12.55\claude.exe")
        );
    }

    #[test]
    fn windows_ends_politely_then_by_force_and_relaunches_from_the_install_folder() {
        assert_eq!(windows_end(42, false).display(), "taskkill /PID 42 /T");
        assert_eq!(windows_end(42, true).display(), "taskkill /PID 42 /T /F");
        let list = windows_list_processes();
        assert_eq!(list.program, Path::new("powershell.exe"));
        assert!(
            args(&list)
                .last()
                .unwrap()
                .contains("Get-Process -Name claude")
        );

        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            local_appdata: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let launcher = windows_launcher(&env).unwrap();
        assert_eq!(
            launcher,
            dir.path().join("AnthropicClaude").join("claude.exe")
        );
        let proc = dir.path().join("proc");
        assert!(matches!(
            offer(Os::Windows, &env, &proc),
            Offer::Unavailable { .. }
        ));
        fs::create_dir_all(launcher.parent().unwrap()).unwrap();
        fs::write(&launcher, b"MZ").unwrap();
        assert!(matches!(
            offer(Os::Windows, &env, &proc),
            Offer::Available { .. }
        ));
        assert!(windows_launcher(&Environment::default()).is_none());
    }

    #[cfg(unix)]
    /// A `/proc`-like folder: one directory per process with `cmdline`, an `exe` link and
    /// optionally `environ`.
    fn fake_process(proc: &Path, pid: u32, exe: &str, argv: &[&str], environ: &[&str]) {
        let dir = proc.join(pid.to_string());
        fs::create_dir_all(&dir).unwrap();
        let mut cmdline = argv.join("\0");
        cmdline.push('\0');
        fs::write(dir.join("cmdline"), cmdline).unwrap();
        std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
        if !environ.is_empty() {
            fs::write(dir.join("environ"), environ.join("\0")).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn linux_finds_the_main_claude_desktop_process_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        // A Debian-packaged community build: Electron running claude-desktop's app.asar.
        fake_process(
            proc,
            100,
            "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
            &[
                "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
                "/usr/lib/claude-desktop/app.asar",
                "--ozone-platform-hint=auto",
            ],
            &[],
        );
        // Its helper processes.
        fake_process(
            proc,
            101,
            "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
            &[
                "electron",
                "--type=renderer",
                "/usr/lib/claude-desktop/app.asar",
            ],
            &[],
        );
        // An AppImage: restart the image, not its temporary mount.
        fake_process(
            proc,
            200,
            "/tmp/.mount_ClaudeXyz/claude-desktop",
            &["/tmp/.mount_ClaudeXyz/claude-desktop"],
            &["HOME=/home/ann", "APPIMAGE=/home/ann/Apps/Claude.AppImage"],
        );
        // Claude Code (lower-case `claude`), another Electron app, an upgraded-away binary.
        fake_process(
            proc,
            300,
            "/home/ann/.local/share/claude/versions/2.1.0",
            &["claude", "--resume"],
            &[],
        );
        fake_process(
            proc,
            301,
            "/usr/bin/node",
            &["node", "/usr/bin/claude"],
            &[],
        );
        fake_process(
            proc,
            302,
            "/usr/share/code/code",
            &["/usr/share/code/code", "/usr/share/code/resources/app.asar"],
            &[],
        );
        fake_process(
            proc,
            303,
            "/usr/bin/claude-desktop (deleted)",
            &["/usr/bin/claude-desktop"],
            &[],
        );
        fs::create_dir_all(proc.join("self")).unwrap();

        let found = find_linux(proc);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].pid, 100);
        assert_eq!(
            found[0].program,
            Path::new("/usr/lib/claude-desktop/node_modules/electron/dist/electron")
        );
        assert_eq!(
            found[0].args,
            [
                OsString::from("/usr/lib/claude-desktop/app.asar"),
                OsString::from("--ozone-platform-hint=auto")
            ]
        );
        assert_eq!(found[1].pid, 200);
        assert_eq!(
            found[1].program,
            Path::new("/home/ann/Apps/Claude.AppImage")
        );
        assert!(matches!(
            offer(Os::Linux, &Environment::default(), proc),
            Offer::Available { .. }
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            offer(Os::Linux, &Environment::default(), empty.path()),
            Offer::Unavailable { .. }
        ));
        assert!(matches!(
            restart(Os::Linux, &Environment::default(), empty.path()),
            Err(RestartError::Unavailable(_))
        ));
    }

    #[test]
    fn linux_ends_with_term_then_kill() {
        assert_eq!(linux_end(7, false).display(), "kill -TERM 7");
        assert_eq!(linux_end(7, true).display(), "kill -KILL 7");
    }

    /// A real process named like a community build (a copy of `sleep` called `claude-desktop`)
    /// is found in the real /proc, ended, and started again with its arguments.
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_restarts_a_real_running_process_with_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("claude-desktop");
        let sleep_bin = ["/usr/bin/sleep", "/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("sleep is installed");
        fs::copy(sleep_bin, &exe).unwrap();
        let mut child = Command::new(&exe).arg("300").spawn().unwrap();
        // Whatever happens below, no copy of it outlives the test.
        struct EndAll(PathBuf);
        impl Drop for EndAll {
            fn drop(&mut self) {
                for p in find_linux(Path::new("/proc")) {
                    if p.program == self.0 {
                        let _ = linux_end(p.pid, true).output();
                    }
                }
            }
        }
        let _end_all = EndAll(exe.clone());
        let proc = Path::new("/proc");
        // Found once it has exec'd and the kernel shows its arguments.
        let started = |exe: &Path| {
            let end = Instant::now() + QUIT_WAIT;
            loop {
                let found: Vec<RunningClaude> = find_linux(proc)
                    .into_iter()
                    .filter(|p| p.program == exe && !p.args.is_empty())
                    .collect();
                if !found.is_empty() || Instant::now() >= end {
                    return found;
                }
                sleep(POLL / 10);
            }
        };
        let mine = started(&exe);
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0].pid, child.id());
        assert_eq!(mine[0].args, [OsString::from("300")]);

        // Reap the ended child as soon as it dies, so /proc forgets it.
        let reaper = std::thread::spawn(move || child.wait());
        let done = restart_linux(&mine, proc).unwrap();
        assert!(done.message.contains("restarted"), "{}", done.message);
        reaper.join().unwrap().unwrap();
        let again = started(&exe);
        assert_eq!(again.len(), 1, "started again: {again:?}");
        assert_ne!(again[0].pid, mine[0].pid);
        assert_eq!(again[0].args, [OsString::from("300")]);
    }
}
