//! QuantDesk's access to the OS keychain: a small [`SecretStore`] that sets, gets and deletes a
//! secret (the account API key, later broker keys) by name, through `keyring-core` and the
//! platform's credential store — on Linux the Secret Service (GNOME Keyring, KWallet) first and
//! the kernel keyring (keyutils) as the fallback, on macOS the login keychain, on Windows the
//! Credential Manager.
//!
//! This crate must never write a secret anywhere but the keychain: not to a file, not to a log,
//! not into an error message or a `Debug` string. Secrets it hands out are [`Secret`]s, whose
//! `Debug` is redacted and whose memory is wiped when dropped.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// Environment variable choosing the keychain: `auto` (the default), `secret-service`,
/// `keyutils`, `macos` or `windows`.
pub const KEYCHAIN_ENV: &str = "QUANTDESK_KEYCHAIN";

/// The service name every QuantDesk secret is filed under.
pub const SERVICE: &str = "QuantDesk";

/// Which credential store holds the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The platform's usual store; on Linux the Secret Service, falling back to the kernel
    /// keyring when no Secret Service answers.
    Auto,
    /// The freedesktop Secret Service over D-Bus (GNOME Keyring, KWallet).
    SecretService,
    /// The Linux kernel keyring (keyutils): the session keyring, linked to the persistent one.
    /// Held in kernel memory, never on disk; gone after a reboot.
    KernelKeyring,
    /// The macOS login keychain.
    MacosKeychain,
    /// The Windows Credential Manager.
    WindowsCredentials,
}

impl Backend {
    /// The backend named by `QUANTDESK_KEYCHAIN`, `Auto` when it is unset or empty.
    pub fn from_env() -> Result<Self, SecretError> {
        match std::env::var(KEYCHAIN_ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse(),
            _ => Ok(Backend::Auto),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::SecretService => "secret-service",
            Backend::KernelKeyring => "keyutils",
            Backend::MacosKeychain => "macos",
            Backend::WindowsCredentials => "windows",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Backend::Auto => "OS keychain",
            Backend::SecretService => "Secret Service",
            Backend::KernelKeyring => "kernel keyring",
            Backend::MacosKeychain => "macOS keychain",
            Backend::WindowsCredentials => "Windows Credential Manager",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl FromStr for Backend {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "default" => Ok(Backend::Auto),
            "secret-service" | "secretservice" | "dbus" => Ok(Backend::SecretService),
            "keyutils" | "kernel" | "kernel-keyring" => Ok(Backend::KernelKeyring),
            "macos" | "keychain" => Ok(Backend::MacosKeychain),
            "windows" => Ok(Backend::WindowsCredentials),
            other => Err(SecretError::UnknownBackend(other.to_string())),
        }
    }
}

/// What can go wrong. No variant carries a secret.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error(
        "unknown keychain '{0}' (set {KEYCHAIN_ENV} to auto, secret-service, keyutils, macos or windows)"
    )]
    UnknownBackend(String),

    #[error("the {backend} is not available here: {reason}")]
    Unavailable { backend: Backend, reason: String },

    #[error("no keychain is available: {0}")]
    NoKeychain(String),

    #[error("'{0}' cannot name a keychain entry (use 1 to 200 printable characters)")]
    BadName(String),

    #[error("an empty secret cannot be stored")]
    EmptySecret,

    #[error("the {backend} refused access to '{name}': {reason}")]
    Access {
        backend: Backend,
        name: String,
        reason: String,
    },

    #[error("the {backend} entry '{name}' does not hold text")]
    NotText { backend: Backend, name: String },

    #[error("the {backend} has more than one entry named '{name}'")]
    Ambiguous { backend: Backend, name: String },

    #[error("the {backend} failed on '{name}': {reason}")]
    Platform {
        backend: Backend,
        name: String,
        reason: String,
    },
}

/// A secret read from the keychain. Its `Debug` and `Display` never show it; the memory is wiped
/// on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret itself. Keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The keychain, with the service name entries are filed under.
#[derive(Clone)]
pub struct SecretStore {
    service: String,
    /// In order of preference: reads look in each, writes go to the first that takes them.
    stores: Vec<(Backend, Arc<CredentialStore>)>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("service", &self.service)
            .field(
                "backends",
                &self
                    .stores
                    .iter()
                    .map(|(b, _)| b.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SecretStore {
    /// Opens `backend`. `Auto` connects to every store the platform has, in order of
    /// preference, and fails only if none is available.
    pub fn open(backend: Backend) -> Result<Self, SecretError> {
        let stores = match backend {
            Backend::Auto => {
                let mut stores = Vec::new();
                let mut reasons = Vec::new();
                for candidate in platform_order() {
                    match connect(candidate) {
                        Ok(store) => stores.push((candidate, store)),
                        Err(err) => {
                            tracing::debug!(backend = candidate.name(), %err, "keychain not available");
                            reasons.push(err.to_string());
                        }
                    }
                }
                if stores.is_empty() {
                    return Err(SecretError::NoKeychain(reasons.join("; ")));
                }
                stores
            }
            one => vec![(one, connect(one)?)],
        };
        Ok(Self {
            service: SERVICE.to_string(),
            stores,
        })
    }

    /// Opens the backend `QUANTDESK_KEYCHAIN` names (default `auto`).
    pub fn from_env() -> Result<Self, SecretError> {
        Self::open(Backend::from_env()?)
    }

    /// Files entries under another service name (tests keep theirs apart this way).
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The preferred backend, where new secrets go.
    pub fn backend(&self) -> Backend {
        self.stores.first().map_or(Backend::Auto, |(b, _)| *b)
    }

    /// Every backend in use, in order of preference.
    pub fn backends(&self) -> Vec<Backend> {
        self.stores.iter().map(|(b, _)| *b).collect()
    }

    /// Stores `secret` under `name`, replacing what was there. Tries the preferred backend
    /// first and the next one if it refuses (a locked Secret Service, say).
    pub fn set(&self, name: &str, secret: &str) -> Result<Backend, SecretError> {
        check_name(name)?;
        if secret.is_empty() {
            return Err(SecretError::EmptySecret);
        }
        let mut last = None;
        for (backend, store) in &self.stores {
            if *backend == Backend::KernelKeyring {
                // A kernel key is linked into per-thread session keyrings as well as the
                // persistent one; adding a new value would replace only the links this thread
                // sees. Invalidating the old key first removes it everywhere at once.
                if let Ok(old) = self.entry(*backend, store, name)
                    && let Err(err) = old.delete_credential()
                    && !matches!(err, keyring_core::Error::NoEntry)
                {
                    tracing::debug!(name, %err, "could not clear the old value");
                }
            }
            let result = self.entry(*backend, store, name).and_then(|e| {
                e.set_password(secret)
                    .map_err(|err| map(*backend, name, err))
            });
            match result {
                Ok(()) => return Ok(*backend),
                Err(err) => {
                    tracing::warn!(backend = backend.name(), name, %err, "keychain refused a secret");
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or_else(|| SecretError::NoKeychain("no backend".into())))
    }

    /// The secret under `name`, `None` when no backend has it.
    pub fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        check_name(name)?;
        let mut first_error = None;
        for (backend, store) in &self.stores {
            let result = self.entry(*backend, store, name).and_then(|e| {
                e.get_password()
                    .map(Secret::new)
                    .map_err(|err| map(*backend, name, err))
            });
            match result {
                Ok(secret) => return Ok(Some(secret)),
                Err(SecretError::Platform { reason, .. }) if reason == NO_ENTRY => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(None),
        }
    }

    /// Removes `name` from every backend; true if any held it.
    pub fn delete(&self, name: &str) -> Result<bool, SecretError> {
        check_name(name)?;
        let mut removed = false;
        for (backend, store) in &self.stores {
            let result = self.entry(*backend, store, name).and_then(|e| {
                e.delete_credential()
                    .map_err(|err| map(*backend, name, err))
            });
            match result {
                Ok(()) => removed = true,
                Err(SecretError::Platform { reason, .. }) if reason == NO_ENTRY => {}
                Err(err) => return Err(err),
            }
        }
        Ok(removed)
    }

    fn entry(
        &self,
        backend: Backend,
        store: &Arc<CredentialStore>,
        name: &str,
    ) -> Result<Entry, SecretError> {
        if backend == Backend::KernelKeyring {
            // Building a keyutils entry looks up the thread's session keyring and then links the
            // user's persistent keyring into it — which, in a thread without a session keyring of
            // its own, first installs a new one. The entry built in that same call still points
            // at the old (user-session) keyring, where keys written by other processes cannot be
            // found and new keys cannot be linked to the persistent keyring (EACCES). Building
            // once more, on the same thread, gives an entry on the session keyring that is now
            // in place. Every operation builds its entry and uses it on one thread.
            drop(Entry::new_in_store(store, &self.service, name));
        }
        Entry::new_in_store(store, &self.service, name).map_err(|err| map(backend, name, err))
    }
}

/// The reason text standing for "no such entry" (kept internal: callers see `Ok(None)`).
const NO_ENTRY: &str = "no such entry";

fn check_name(name: &str) -> Result<(), SecretError> {
    let ok =
        !name.is_empty() && name.chars().count() <= 200 && name.chars().all(|c| !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(SecretError::BadName(name.escape_debug().to_string()))
    }
}

/// keyring-core's errors, without the bytes some of them carry.
fn map(backend: Backend, name: &str, err: keyring_core::Error) -> SecretError {
    use keyring_core::Error as E;
    let name = name.to_string();
    match err {
        E::NoEntry => SecretError::Platform {
            backend,
            name,
            reason: NO_ENTRY.into(),
        },
        E::BadEncoding(mut bytes) | E::BadDataFormat(mut bytes, _) => {
            bytes.zeroize();
            SecretError::NotText { backend, name }
        }
        E::NoStorageAccess(reason) => SecretError::Access {
            backend,
            name,
            reason: reason.to_string(),
        },
        E::Ambiguous(_) => SecretError::Ambiguous { backend, name },
        E::Invalid(what, reason) => SecretError::Platform {
            backend,
            name,
            reason: format!("{what} is invalid: {reason}"),
        },
        other => SecretError::Platform {
            backend,
            name,
            reason: other.to_string(),
        },
    }
}

/// The stores `Auto` tries, best first.
fn platform_order() -> Vec<Backend> {
    if cfg!(target_os = "macos") {
        vec![Backend::MacosKeychain]
    } else if cfg!(target_os = "windows") {
        vec![Backend::WindowsCredentials]
    } else if cfg!(target_os = "linux") {
        vec![Backend::SecretService, Backend::KernelKeyring]
    } else {
        vec![Backend::SecretService]
    }
}

fn unavailable(backend: Backend, reason: impl fmt::Display) -> SecretError {
    SecretError::Unavailable {
        backend,
        reason: reason.to_string(),
    }
}

fn connect(backend: Backend) -> Result<Arc<CredentialStore>, SecretError> {
    match backend {
        Backend::Auto => Err(unavailable(backend, "pick one backend")),
        Backend::SecretService => secret_service(),
        Backend::KernelKeyring => kernel_keyring(),
        Backend::MacosKeychain => macos_keychain(),
        Backend::WindowsCredentials => windows_credentials(),
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn secret_service() -> Result<Arc<CredentialStore>, SecretError> {
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|err| unavailable(Backend::SecretService, err))?;
    Ok(store)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn secret_service() -> Result<Arc<CredentialStore>, SecretError> {
    Err(unavailable(
        Backend::SecretService,
        "there is no Secret Service on this platform",
    ))
}

#[cfg(target_os = "linux")]
fn kernel_keyring() -> Result<Arc<CredentialStore>, SecretError> {
    let store = linux_keyutils_keyring_store::Store::new()
        .map_err(|err| unavailable(Backend::KernelKeyring, err))?;
    Ok(store)
}

#[cfg(not(target_os = "linux"))]
fn kernel_keyring() -> Result<Arc<CredentialStore>, SecretError> {
    Err(unavailable(
        Backend::KernelKeyring,
        "the kernel keyring exists only on Linux",
    ))
}

#[cfg(target_os = "macos")]
fn macos_keychain() -> Result<Arc<CredentialStore>, SecretError> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|err| unavailable(Backend::MacosKeychain, err))?;
    Ok(store)
}

#[cfg(not(target_os = "macos"))]
fn macos_keychain() -> Result<Arc<CredentialStore>, SecretError> {
    Err(unavailable(Backend::MacosKeychain, "not macOS"))
}

#[cfg(target_os = "windows")]
fn windows_credentials() -> Result<Arc<CredentialStore>, SecretError> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|err| unavailable(Backend::WindowsCredentials, err))?;
    Ok(store)
}

#[cfg(not(target_os = "windows"))]
fn windows_credentials() -> Result<Arc<CredentialStore>, SecretError> {
    Err(unavailable(Backend::WindowsCredentials, "not Windows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_parse_by_name() {
        assert_eq!(
            "keyutils".parse::<Backend>().unwrap(),
            Backend::KernelKeyring
        );
        assert_eq!(
            "Secret-Service".parse::<Backend>().unwrap(),
            Backend::SecretService
        );
        assert_eq!("auto".parse::<Backend>().unwrap(), Backend::Auto);
        let err = "vault".parse::<Backend>().unwrap_err().to_string();
        assert!(err.contains("vault") && err.contains(KEYCHAIN_ENV), "{err}");
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let s = Secret::new("qdk_super-secret".into());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "qdk_super-secret");
    }

    #[test]
    fn names_must_be_printable() {
        assert!(check_name("account-key:k_1").is_ok());
        assert!(matches!(check_name(""), Err(SecretError::BadName(_))));
        assert!(matches!(check_name("a\nb"), Err(SecretError::BadName(_))));
        assert!(check_name(&"x".repeat(201)).is_err());
    }
}
