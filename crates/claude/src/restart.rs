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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Environment, Os};

mod linux;
mod macos;
mod windows;

pub use linux::{find_linux, linux_end, restart_linux};
pub use macos::{macos_app_candidates, macos_is_running, macos_open, macos_quit};
pub use windows::{parse_windows_processes, windows_end, windows_launcher, windows_list_processes};

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
mod tests;
