//! macOS: AppleScript quits Claude, `open -a` starts it again.

use std::path::PathBuf;

use super::Invocation;
use crate::Environment;

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
