//! Claude Desktop integration: finding `claude_desktop_config.json` on each OS and adding or
//! removing the one `quantdesk` entry under `mcpServers` that launches QuantDesk's MCP sidecar.
//!
//! The file belongs to the person and to Claude Desktop, so this crate edits it like a guest:
//! every other server and key is kept byte for byte (values are carried as raw JSON text, in
//! their order), the previous file is backed up, the new one is written atomically (temporary
//! file, then rename) under a lock, and a file that is not valid JSON is refused and left
//! untouched. It must never write a secret into that file (an entry is a command and its
//! arguments, nothing else; a stale entry with `env` is replaced, not merged), never touch
//! another server's entry, and never know anything of Tauri: the desktop app calls it.
//!
//! Claude Desktop reads the file only when it starts, so [`restart`] also offers to restart it
//! where the OS allows (and says plainly where it does not); it never ends a process it did not
//! identify as Claude Desktop.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod document;
mod locate;
pub mod restart;
mod write;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use thiserror::Error;

use document::Document;

pub use locate::{Environment, Os, candidates, locate};
pub use restart::{Offer as RestartOffer, RestartError, Restarted};

/// The key of our entry under `mcpServers`.
pub const ENTRY_NAME: &str = "quantdesk";

/// The file name Claude Desktop reads its MCP servers from.
pub const CONFIG_FILE: &str = "claude_desktop_config.json";

/// How many of our backups are kept next to the file (the oldest go first).
pub const BACKUPS_KEPT: usize = 5;

/// What the `quantdesk` entry launches: the sidecar by absolute path, with arguments. There is
/// deliberately no `env`: nothing secret may reach Claude Desktop's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    pub command: PathBuf,
    pub args: Vec<String>,
}

impl ServerEntry {
    /// An entry launching `command` with no arguments.
    pub fn new(command: impl Into<PathBuf>) -> Self {
        Self {
            command: command.into(),
            args: Vec::new(),
        }
    }

    /// The JSON Claude Desktop reads.
    pub fn to_json(&self) -> Value {
        json!({
            "command": self.command.to_string_lossy(),
            "args": self.args,
        })
    }

    fn validate(&self) -> Result<(), ClaudeError> {
        if !self.command.is_absolute() {
            return Err(ClaudeError::RelativeCommand(self.command.clone()));
        }
        Ok(())
    }
}

/// Whether Claude Desktop will launch QuantDesk.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// There is no config file yet (Claude Desktop may not be installed or never configured).
    NoConfigFile,
    /// The file exists and has no `quantdesk` entry.
    NotConnected,
    /// Our entry is there and launches exactly the expected sidecar.
    Connected,
    /// Our entry is there but differs (an older install's path, extra keys): `found` is what is
    /// there now. Connecting again replaces it.
    Stale { found: Value },
}

/// What a connect or disconnect did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The config file.
    pub path: PathBuf,
    /// False when the file already said what we wanted (nothing was written).
    pub changed: bool,
    /// True when the file did not exist before.
    pub created: bool,
    /// Where the previous contents were copied, when there were any.
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub enum ClaudeError {
    #[error(
        "no home folder is known on this machine, so Claude Desktop's configuration cannot be found"
    )]
    NoHome,
    #[error(
        "{path} is not valid JSON ({reason}); QuantDesk left it untouched. Fix or remove that \
         file, then connect again"
    )]
    InvalidJson { path: PathBuf, reason: String },
    #[error("{path}: {what}; QuantDesk left it untouched")]
    UnexpectedShape { path: PathBuf, what: String },
    #[error("the sidecar path {} is not absolute; Claude Desktop needs a full path", .0.display())]
    RelativeCommand(PathBuf),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} kept changing while QuantDesk was writing it; try again", .0.display())]
    Busy(PathBuf),
}

impl ClaudeError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| ClaudeError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Claude Desktop's config file at a known path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeConfig {
    path: PathBuf,
}

impl ClaudeConfig {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The config file for this machine (see [`locate`]).
    pub fn for_this_machine() -> Result<Self, ClaudeError> {
        locate(Os::current(), &Environment::from_process()).map(Self::at)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Is our entry present and current?
    pub fn status(&self, entry: &ServerEntry) -> Result<Status, ClaudeError> {
        let Some(text) = read_if_exists(&self.path)? else {
            return Ok(Status::NoConfigFile);
        };
        let doc = Document::parse(&self.path, &text)?;
        Ok(match doc.server(ENTRY_NAME)? {
            None => Status::NotConnected,
            Some(found) if found == entry.to_json() => Status::Connected,
            Some(found) => Status::Stale { found },
        })
    }

    /// Adds or replaces our entry, creating the file (and its folder) if missing.
    pub fn connect(&self, entry: &ServerEntry) -> Result<Change, ClaudeError> {
        entry.validate()?;
        let wanted = entry.to_json();
        write::edit(&self.path, |doc| {
            if doc.server(ENTRY_NAME)?.as_ref() == Some(&wanted) {
                return Ok(false);
            }
            doc.set_server(ENTRY_NAME, &wanted)?;
            Ok(true)
        })
    }

    /// Removes our entry and nothing else. A missing file or entry is not an error.
    pub fn disconnect(&self) -> Result<Change, ClaudeError> {
        if !self.path.exists() {
            return Ok(Change {
                path: self.path.clone(),
                changed: false,
                created: false,
                backup: None,
            });
        }
        write::edit(&self.path, |doc| doc.remove_server(ENTRY_NAME))
    }
}

/// What to tell the person after a change: Claude Desktop reads its config only at start.
pub fn restart_hint(os: Os) -> &'static str {
    match os {
        Os::MacOs => {
            "Quit Claude Desktop (Claude > Quit, or Cmd+Q) and open it again to load QuantDesk."
        }
        Os::Windows => {
            "Quit Claude Desktop from its tray icon (closing the window is not enough) and open \
             it again to load QuantDesk."
        }
        Os::Linux => {
            "Anthropic does not publish Claude Desktop for Linux. If you run a community build, \
             quit it completely and open it again to load QuantDesk."
        }
    }
}

fn read_if_exists(path: &Path) -> Result<Option<String>, ClaudeError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ClaudeError::InvalidJson {
                path: path.to_path_buf(),
                reason: "it is not UTF-8 text".into(),
            }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(ClaudeError::io("read", path)(err)),
    }
}
