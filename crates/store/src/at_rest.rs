//! Encryption at rest: the desk's store is a SQLCipher database (AES-256, HMAC-SHA512 per page)
//! whose 256-bit key lives in the OS keychain under [`STORE_KEY`], shared by the app, the
//! sidecar and the command-line tools of the same user. Another account on the computer, a
//! backup, a synced folder or a stolen disk sees only ciphertext.
//!
//! The key is made once, by whichever process opens the desk first, under a lock file next to
//! the database so two processes starting together agree on one key. It is never made for a
//! store that is already encrypted: a missing key there is an error that says so, not a fresh
//! empty desk. A plaintext store from before this (or from a computer without a durable keychain)
//! is encrypted in place once a key can be kept.
//!
//! A key is only worth making where the keychain keeps it: the Secret Service, the macOS
//! keychain, the Windows Credential Manager. The Linux kernel keyring forgets everything at
//! reboot, and with the key the whole store — journal, positions, audit log — would go; there
//! [`Encryption::WhenKeyIsDurable`] leaves the store plaintext (still 0600 in a 0700 folder) and
//! says why in [`AtRest::Plain`].

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use quantdesk_secrets::{Backend, Secret, SecretStore};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};
use zeroize::Zeroizing;

use crate::{BUSY_TIMEOUT, DB_FILE, Store, StoreError, private};

/// The keychain entry holding the store's key (64 hex digits).
pub const STORE_KEY: &str = "store-key";

/// The first 16 bytes of every plaintext SQLite database.
const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the store is encrypted, and if not, why not. The app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AtRest {
    /// SQLCipher, with the key from the keychain.
    Encrypted { keychain: String },
    /// Plain SQLite (files 0600 in a 0700 folder), and the reason.
    Plain { reason: String },
}

impl AtRest {
    pub fn is_encrypted(&self) -> bool {
        matches!(self, AtRest::Encrypted { .. })
    }
}

impl fmt::Display for AtRest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtRest::Encrypted { keychain } => {
                write!(f, "encrypted (SQLCipher, key in the {keychain})")
            }
            AtRest::Plain { reason } => write!(f, "not encrypted: {reason}"),
        }
    }
}

/// When [`Store::open_desk`] encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// When the keychain keeps the key across reboots; on the Linux kernel keyring alone the
    /// store stays plaintext rather than hang on a key a reboot erases.
    WhenKeyIsDurable,
    /// Whatever keychain holds the key, the kernel keyring included (tests; an operator who
    /// accepts that losing the key loses the store).
    Always,
}

/// A 256-bit SQLCipher key, used raw (no passphrase stretching: it is random, not a password).
/// Its `Debug` is redacted and its memory wiped on drop.
pub struct StoreKey(Zeroizing<String>);

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

impl StoreKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| StoreError::Key(format!("no randomness: {e}")))?;
        Ok(Self(Zeroizing::new(hex::encode(bytes.as_ref()))))
    }

    /// The key as the keychain keeps it: 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, StoreError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Key(format!(
                "the keychain's '{STORE_KEY}' is not 64 hex digits"
            )));
        }
        Ok(Self(Zeroizing::new(text.to_ascii_lowercase())))
    }

    fn hex(&self) -> &str {
        &self.0
    }

    /// The value of `PRAGMA key = …` (sqlx writes pragma values verbatim).
    fn pragma(&self) -> String {
        format!("\"x'{}'\"", self.hex())
    }
}

/// What is on disk before the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    /// No database yet (no file, or an empty one with no write-ahead log).
    New,
    /// A plaintext SQLite database.
    Plain,
    /// Anything else: SQLCipher's pages start with their random salt.
    Encrypted,
}

fn on_disk(db: &Path) -> Result<OnDisk, StoreError> {
    let io = |source| StoreError::DataDir {
        path: db.to_path_buf(),
        source,
    };
    let mut header = [0u8; 16];
    let read = match File::open(db) {
        Ok(mut f) => read_up_to(&mut f, &mut header).map_err(io)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(e)),
    };
    if read == 0 {
        // A database whose pages are all still in its write-ahead log (a process stopped before
        // its first checkpoint) has an empty main file. The log's header is plaintext either
        // way; its first frame (after 32 bytes of log header and 24 of frame header) is page 1,
        // which starts with the plaintext header unless SQLCipher encrypted it.
        let mut first = [0u8; 72];
        let read = match File::open(side_file(db, "-wal")) {
            Ok(mut f) => read_up_to(&mut f, &mut first).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(e)),
        };
        return Ok(if read < first.len() {
            OnDisk::New
        } else if &first[56..] == PLAINTEXT_HEADER {
            OnDisk::Plain
        } else {
            OnDisk::Encrypted
        });
    }
    Ok(if read == 16 && &header == PLAINTEXT_HEADER {
        OnDisk::Plain
    } else {
        OnDisk::Encrypted
    })
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match f.read(&mut buf[total..])? {
            0 => break,
            n => total += n,
        }
    }
    Ok(total)
}

pub(crate) fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut side = db.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// The key to open `db` with, and what that makes of the store.
fn choose_key(
    secrets: &SecretStore,
    disk: OnDisk,
    policy: Encryption,
    db: &Path,
) -> Result<(Option<StoreKey>, AtRest), StoreError> {
    let keychain = secrets.backend().to_string();
    let found = secrets.get(STORE_KEY);
    if disk == OnDisk::Encrypted {
        return match found {
            Ok(Some(secret)) => Ok((
                Some(StoreKey::from_hex(secret.expose())?),
                encrypted(keychain),
            )),
            Ok(None) => Err(StoreError::KeyMissing {
                path: db.to_path_buf(),
                keychain,
            }),
            Err(source) => Err(StoreError::Keychain(source)),
        };
    }
    match found {
        Ok(Some(secret)) => {
            return Ok((
                Some(StoreKey::from_hex(secret.expose())?),
                encrypted(keychain),
            ));
        }
        Ok(None) => {}
        // No key can be read, so none is made: one might be there once the keychain answers.
        Err(err) => {
            return Ok((
                None,
                plain(format!("the {keychain} did not answer ({err})")),
            ));
        }
    }
    if policy == Encryption::WhenKeyIsDurable && secrets.backend() == Backend::KernelKeyring {
        return Ok((None, plain(kernel_only())));
    }
    let key = StoreKey::generate()?;
    match secrets.set(STORE_KEY, key.hex()) {
        Ok(Backend::KernelKeyring) if policy == Encryption::WhenKeyIsDurable => {
            // The durable keychain refused it and the kernel keyring took it instead.
            if let Err(err) = secrets.delete(STORE_KEY) {
                tracing::warn!(%err, "could not take the store key back out of the kernel keyring");
            }
            Ok((None, plain(kernel_only())))
        }
        Ok(backend) => {
            // Read back: the key the store is encrypted with must be the one the keychain gives.
            let stored = secrets
                .get(STORE_KEY)?
                .map(|s: Secret| StoreKey::from_hex(s.expose()));
            match stored {
                Some(Ok(back)) if back.hex() == key.hex() => {
                    Ok((Some(key), encrypted(backend.to_string())))
                }
                _ => Err(StoreError::Key(format!(
                    "the {backend} did not give back the store key it was given"
                ))),
            }
        }
        Err(err) => Ok((
            None,
            plain(format!("the {keychain} refused a new key ({err})")),
        )),
    }
}

fn encrypted(keychain: String) -> AtRest {
    AtRest::Encrypted { keychain }
}

fn plain(reason: String) -> AtRest {
    AtRest::Plain { reason }
}

fn kernel_only() -> String {
    "the only keychain is the Linux kernel keyring, which forgets its keys at reboot and would take \
     the store with it (a Secret Service such as GNOME Keyring or KWallet keeps the key)"
        .into()
}

/// Holds `<db>.lock` exclusively while one process decides on the key and encrypts.
struct OpenLock(#[allow(dead_code)] File);

fn lock(db: &Path) -> Result<OpenLock, StoreError> {
    let path = side_file(db, ".lock");
    let io = |source| StoreError::DataDir {
        path: path.clone(),
        source,
    };
    private::create_private_file(&path).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    file.lock().map_err(io)?;
    Ok(OpenLock(file))
}

/// `options` keyed with `key`: the key first, before anything reads a page (sqlx keeps `key`
/// and the cipher settings at the head of its pragmas, in that order), then the page HMAC.
/// HMAC-SHA256 rather than SQLCipher's default SHA-512: with SHA instructions it is twice as fast
/// per page here, which is most of what encryption costs the order path, and as sound as a
/// per-page authenticator. Every keyed connection must say the same, so it is said only here.
pub(crate) fn keyed(options: SqliteConnectOptions, key: &StoreKey) -> SqliteConnectOptions {
    options
        .pragma("key", key.pragma())
        .pragma("cipher_hmac_algorithm", "HMAC_SHA256")
}

/// Rewrites the plaintext database `db` encrypted with `key`: a keyed connection on a new file
/// attaches the old one without a key and copies it whole (`sqlcipher_export`: every table,
/// index and row, and the schema version), then the new file is renamed over the old one and
/// the old one's write-ahead log removed, so no plaintext is left beside it.
async fn encrypt_in_place(db: &Path, key: &StoreKey) -> Result<(), StoreError> {
    let staging = side_file(db, "-encrypting");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        remove_if_present(&side_file(&staging, suffix))?;
    }
    private::create_private_file(&staging).map_err(|source| StoreError::DataDir {
        path: staging.clone(),
        source,
    })?;
    let options = SqliteConnectOptions::new()
        .filename(&staging)
        .busy_timeout(BUSY_TIMEOUT);
    let mut conn = keyed(options, key)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .map_err(StoreError::Encrypt)?;
    let plaintext = db.to_string_lossy().into_owned();
    let exported = async {
        sqlx::query("ATTACH DATABASE ?1 AS plaintext KEY ''")
            .bind(&plaintext)
            .execute(&mut conn)
            .await?;
        sqlx::query("SELECT sqlcipher_export('main', 'plaintext')")
            .fetch_all(&mut conn)
            .await?;
        sqlx::query("DETACH DATABASE plaintext")
            .execute(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    let closed = conn.close().await;
    if let Err(err) = exported.and(closed) {
        let _ = std::fs::remove_file(&staging);
        return Err(StoreError::Encrypt(err));
    }
    let io = |source| StoreError::DataDir {
        path: db.to_path_buf(),
        source,
    };
    File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&staging, db).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&side_file(db, suffix))?;
    }
    if let Some(dir) = db.parent() {
        // The rename is durable once the folder is.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    tracing::info!(path = %db.display(), "the store is now encrypted at rest");
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::DataDir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Store {
    /// Opens the desk's store in `data_dir` as the app, the sidecar and the tools do: encrypted
    /// with the key in `keychain`'s [`STORE_KEY`] (made on first use where it can be kept, see
    /// [`Encryption::WhenKeyIsDurable`]); a plaintext store is encrypted on the way.
    pub async fn open_desk(data_dir: &Path, keychain: Backend) -> Result<Self, StoreError> {
        let secrets = tokio::task::spawn_blocking(move || SecretStore::open(keychain))
            .await
            .map_err(|e| StoreError::Key(format!("keychain task failed: {e}")))?;
        match secrets {
            Ok(secrets) => {
                Self::open_desk_with(data_dir, secrets, Encryption::WhenKeyIsDurable).await
            }
            Err(err) => {
                // No keychain at all: a store that is plaintext stays usable; an encrypted one
                // cannot be opened, and says so.
                let db = data_dir.join(DB_FILE);
                if on_disk(&db)? == OnDisk::Encrypted {
                    return Err(StoreError::Keychain(err));
                }
                let at_rest = plain(format!("no keychain is available ({err})"));
                Self::open_in_as(data_dir, None, at_rest).await
            }
        }
    }

    /// [`open_desk`](Self::open_desk) with the keychain and the policy given (tests keep their
    /// keys under their own service name this way).
    pub async fn open_desk_with(
        data_dir: &Path,
        secrets: SecretStore,
        policy: Encryption,
    ) -> Result<Self, StoreError> {
        private::create_private_dir(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let db = data_dir.join(DB_FILE);
        let decided = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || {
                let held = lock(&db)?;
                let disk = on_disk(&db)?;
                let (key, at_rest) = choose_key(&secrets, disk, policy, &db)?;
                Ok::<_, StoreError>((held, disk, key, at_rest))
            })
            .await
            .map_err(|e| StoreError::Key(format!("keychain task failed: {e}")))?
        };
        let (held, disk, key, at_rest) = decided?;
        if disk == OnDisk::Plain
            && let Some(key) = &key
        {
            encrypt_in_place(&db, key).await?;
        }
        let store = Self::open_in_as(data_dir, key.as_ref(), at_rest).await;
        drop(held);
        store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_64_hex_digits_and_never_shown() {
        let key = StoreKey::generate().unwrap();
        assert_eq!(key.hex().len(), 64);
        assert_eq!(format!("{key:?}"), "StoreKey(<redacted>)");
        assert!(StoreKey::from_hex(key.hex()).is_ok());
        assert!(StoreKey::from_hex("abc").is_err());
        assert!(StoreKey::from_hex(&"g".repeat(64)).is_err());
        assert_ne!(StoreKey::generate().unwrap().hex(), key.hex());
    }

    #[test]
    fn the_header_tells_plain_from_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        assert_eq!(on_disk(&db).unwrap(), OnDisk::New);
        std::fs::write(&db, b"").unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::New);
        std::fs::write(&db, b"SQLite format 3\0rest of the page").unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::Plain);
        std::fs::write(&db, [7u8; 64]).unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::Encrypted);
        std::fs::write(&db, b"").unwrap();
        std::fs::write(side_file(&db, "-wal"), [1u8; 32]).unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::New, "a log without a frame");
        std::fs::write(side_file(&db, "-wal"), [1u8; 100]).unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::Encrypted);
        let mut wal = vec![0u8; 56];
        wal.extend_from_slice(PLAINTEXT_HEADER);
        wal.extend_from_slice(&[0u8; 100]);
        std::fs::write(side_file(&db, "-wal"), wal).unwrap();
        assert_eq!(on_disk(&db).unwrap(), OnDisk::Plain);
    }
}
