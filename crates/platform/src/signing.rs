//! The platform's Ed25519 signing key: made on first start as an owner-only file in the data
//! dir (`signing-key`, the format `quantdesk-keys keygen` writes, so that tool can administer
//! the same keys offline), with its public half beside it (`public-key`). Public keys the
//! platform signed with before a rotation are listed, one a line, in `retired-public-keys`.
//! The secret half is only ever read here and held by [`Issuer`]; it is never logged, served or
//! bundled.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use quantdesk_keys::{Issuer, parse_public_key};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SigningError {
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path} is not a signing key: {reason}")]
    Bad { path: PathBuf, reason: String },
    #[error(
        "{path} can be read by other users (mode {mode:o}); make it owner-only: chmod 600 {path}"
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// A public key the platform has signed with, as `/.well-known/quantdesk.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    pub public_key: String,
    pub current: bool,
}

/// The key id of a public key: `ed25519:` and the first 16 hex digits of its SHA-256.
pub fn key_id(public_key_text: &str) -> String {
    let bytes = parse_public_key(public_key_text)
        .map(|k| k.to_bytes().to_vec())
        .unwrap_or_else(|_| public_key_text.as_bytes().to_vec());
    format!("ed25519:{}", &hex::encode(Sha256::digest(bytes))[..16])
}

/// The signing key and the public keys to publish.
#[derive(Debug)]
pub struct Keys {
    pub issuer: Issuer,
    pub public: Vec<PublicKey>,
    pub created: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SigningError + '_ {
    move |e| SigningError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads the signing key in `dir`, making one (and `dir`) if there is none.
pub fn load_or_create(dir: &Path) -> Result<Keys, SigningError> {
    create_private_dir(dir)?;
    let path = dir.join("signing-key");
    let (issuer, created) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            check_private(&path)?;
            let issuer = Issuer::from_text(&text).map_err(|e| SigningError::Bad {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            (issuer, false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let issuer = Issuer::generate().map_err(|e| SigningError::Bad {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            write_private(&path, &format!("{}\n", issuer.to_text()))?;
            (issuer, true)
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let current = issuer.public_key_text();
    let public_path = dir.join("public-key");
    std::fs::write(&public_path, format!("{current}\n")).map_err(io(&public_path))?;
    let mut public = vec![PublicKey {
        kid: key_id(&current),
        public_key: current.clone(),
        current: true,
    }];
    let retired = dir.join("retired-public-keys");
    if let Ok(text) = std::fs::read_to_string(&retired) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line != current && parse_public_key(line).is_ok() {
                public.push(PublicKey {
                    kid: key_id(line),
                    public_key: line.to_string(),
                    current: false,
                });
            }
        }
    }
    Ok(Keys {
        issuer,
        public,
        created,
    })
}

/// Replaces the signing key with a new one; the old public key joins `retired-public-keys`.
/// Keys and lists signed by the old key stop verifying in apps that trust only the new one.
pub fn rotate(dir: &Path) -> Result<Keys, SigningError> {
    let old = load_or_create(dir)?;
    let retired = dir.join("retired-public-keys");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&retired)
        .map_err(io(&retired))?;
    writeln!(file, "{}", old.issuer.public_key_text()).map_err(io(&retired))?;
    let path = dir.join("signing-key");
    let issuer = Issuer::generate().map_err(|e| SigningError::Bad {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let tmp = dir.join("signing-key.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, &format!("{}\n", issuer.to_text()))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    load_or_create(dir)
}

/// Creates `dir` (owner-only on Unix) if it is missing.
pub fn create_private_dir(dir: &Path) -> Result<(), SigningError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

fn write_private(path: &Path, text: &str) -> Result<(), SigningError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), SigningError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SigningError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), SigningError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_owner_only_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = load_or_create(&data).unwrap();
        assert!(first.created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&data.join("signing-key")), 0o600);
            assert_eq!(mode(&data), 0o700);
        }
        let again = load_or_create(&data).unwrap();
        assert!(!again.created);
        assert_eq!(
            again.issuer.public_key_text(),
            first.issuer.public_key_text()
        );
        let rotated = rotate(&data).unwrap();
        assert_ne!(
            rotated.issuer.public_key_text(),
            first.issuer.public_key_text()
        );
        assert_eq!(rotated.public.len(), 2);
        assert!(rotated.public[0].current);
        assert_eq!(rotated.public[1].public_key, first.issuer.public_key_text());
        assert!(rotated.public[1].kid.starts_with("ed25519:"));
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let path = dir.path().join("signing-key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
