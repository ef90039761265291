//! Where Claude Desktop keeps `claude_desktop_config.json` on each OS. A pure function of the
//! environment handed in, so every OS's rules are tested on any OS.

use std::path::{Path, PathBuf};

use crate::{CONFIG_FILE, ClaudeError};

/// The Microsoft Store build of Claude Desktop keeps its roaming data in this package folder.
const STORE_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    MacOs,
    Windows,
    Linux,
}

impl Os {
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// The environment the location depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub home: Option<PathBuf>,
    /// `%APPDATA%` (Windows).
    pub appdata: Option<PathBuf>,
    /// `%LOCALAPPDATA%` (Windows).
    pub local_appdata: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` (Linux).
    pub xdg_config_home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Self {
        // Only absolute paths count: the XDG spec says a relative value is invalid and ignored.
        let var = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        Self {
            home: var("HOME").or_else(|| var("USERPROFILE")),
            appdata: var("APPDATA"),
            local_appdata: var("LOCALAPPDATA"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
        }
    }
}

/// Every place the file may be on `os`, most specific first.
pub fn candidates(os: Os, env: &Environment) -> Vec<PathBuf> {
    let file = |dir: PathBuf| dir.join(CONFIG_FILE);
    match os {
        Os::MacOs => env
            .home
            .iter()
            .map(|h| file(h.join("Library/Application Support/Claude")))
            .collect(),
        Os::Windows => {
            let store = env.local_appdata.as_ref().map(|l| {
                file(
                    l.join("Packages")
                        .join(STORE_PACKAGE)
                        .join("LocalCache")
                        .join("Roaming")
                        .join("Claude"),
                )
            });
            let classic = env
                .appdata
                .clone()
                .or_else(|| env.home.as_ref().map(|h| h.join("AppData").join("Roaming")))
                .map(|a| file(a.join("Claude")));
            store.into_iter().chain(classic).collect()
        }
        Os::Linux => {
            let xdg = env
                .xdg_config_home
                .clone()
                .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
            xdg.map(|d| file(d.join("Claude"))).into_iter().collect()
        }
    }
}

/// The file to use: an existing one among the candidates; else, on Windows, the Microsoft Store
/// location when that build is installed; else the usual location (created on connect).
pub fn locate(os: Os, env: &Environment) -> Result<PathBuf, ClaudeError> {
    let all = candidates(os, env);
    if let Some(existing) = all.iter().find(|p| p.is_file()) {
        return Ok(existing.clone());
    }
    if os == Os::Windows
        && let Some(store) = all.iter().find(|p| is_store_path(p))
        && env
            .local_appdata
            .as_ref()
            .is_some_and(|l| l.join("Packages").join(STORE_PACKAGE).is_dir())
    {
        return Ok(store.clone());
    }
    all.into_iter()
        .rfind(|p| !is_store_path(p))
        .ok_or(ClaudeError::NoHome)
}

fn is_store_path(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == STORE_PACKAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &Path) -> Environment {
        Environment {
            home: Some(home.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn macos_is_application_support() {
        let p = locate(Os::MacOs, &env(Path::new("/Users/ann"))).unwrap();
        assert_eq!(
            p,
            Path::new("/Users/ann/Library/Application Support/Claude/claude_desktop_config.json")
        );
    }

    #[test]
    fn linux_prefers_xdg_config_home_and_falls_back_to_dot_config() {
        let mut e = env(Path::new("/home/ann"));
        assert_eq!(
            locate(Os::Linux, &e).unwrap(),
            Path::new("/home/ann/.config/Claude/claude_desktop_config.json")
        );
        e.xdg_config_home = Some("/xdg".into());
        assert_eq!(
            locate(Os::Linux, &e).unwrap(),
            Path::new("/xdg/Claude/claude_desktop_config.json")
        );
    }

    #[test]
    fn windows_uses_appdata_unless_the_store_build_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let e = Environment {
            home: Some(dir.path().join("home")),
            appdata: Some(dir.path().join("Roaming")),
            local_appdata: Some(dir.path().join("Local")),
            xdg_config_home: None,
        };
        assert_eq!(
            locate(Os::Windows, &e).unwrap(),
            dir.path().join("Roaming/Claude/claude_desktop_config.json")
        );
        std::fs::create_dir_all(dir.path().join("Local/Packages/Claude_pzs8sxrjxfjjc")).unwrap();
        assert_eq!(
            locate(Os::Windows, &e).unwrap(),
            dir.path().join(
                "Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json"
            )
        );
        // An existing classic file wins over a store folder with no file.
        let classic = dir.path().join("Roaming/Claude/claude_desktop_config.json");
        std::fs::create_dir_all(classic.parent().unwrap()).unwrap();
        std::fs::write(&classic, "{}").unwrap();
        assert_eq!(locate(Os::Windows, &e).unwrap(), classic);
    }

    #[test]
    fn no_home_is_a_clear_error() {
        assert!(matches!(
            locate(Os::Linux, &Environment::default()),
            Err(ClaudeError::NoHome)
        ));
    }
}
