//! Passwords: the rules a new one must meet, and argon2id hashing with OWASP's recommended
//! parameters (19 MiB of memory, 2 passes, 1 lane). A hash is stored as
//! `argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (base64url), so parameters can change later
//! and old hashes still verify. A password is never logged or stored.

use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

/// The shortest password accepted.
pub const MIN_LEN: usize = 12;
/// The longest password accepted (argon2 takes any length; this bounds the work per attempt).
pub const MAX_LEN: usize = 1024;

const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

const COMMON: &str = include_str!("../assets/common-passwords.txt");

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("Use at least {MIN_LEN} characters.")]
    TooShort,
    #[error("Use at most {MAX_LEN} characters.")]
    TooLong,
    #[error("That password is one of the most common ones; choose another.")]
    Common,
    #[error("The password must not contain your email address.")]
    ContainsEmail,
    #[error("The password hash could not be computed: {0}")]
    Hash(String),
}

/// Checks a new password against the rules.
pub fn check_new(password: &str, email: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let common = COMMON
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .any(|l| l.trim() == lower);
    let one_char = password.chars().all(|c| password.starts_with(c));
    if common || one_char {
        return Err(PasswordError::Common);
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PasswordError::ContainsEmail);
    }
    Ok(())
}

fn hasher(m: u32, t: u32, p: u32) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Argon2's working memory (19 MiB a hash), kept and reused instead of allocated per hash, so
/// the process's memory stays at (hashes at once) × 19 MiB. The caller bounds how many hashes
/// run at once.
#[derive(Debug, Default)]
pub struct Memory {
    free: Mutex<Vec<Vec<Block>>>,
}

impl Memory {
    fn take(&self) -> Vec<Block> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| vec![Block::default(); M_COST as usize])
    }

    fn give(&self, blocks: Vec<Block>) {
        if let Ok(mut f) = self.free.lock() {
            f.push(blocks);
        }
    }
}

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_in(&Memory::default(), password)
}

/// [`hash`] with working memory from `memory`.
pub fn hash_in(memory: &Memory, password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let mut out = [0u8; 32];
    let mut blocks = memory.take();
    let done = hasher(M_COST, T_COST, P_COST)?.hash_password_into_with_memory(
        password.as_bytes(),
        &salt,
        &mut out,
        &mut blocks[..],
    );
    memory.give(blocks);
    done.map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(format!(
        "argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(out)
    ))
}

/// Does `password` match `stored`? A malformed stored hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    verify_in(&Memory::default(), password, stored)
}

/// [`verify`] with working memory from `memory` (when the hash's parameters are the current
/// ones).
pub fn verify_in(memory: &Memory, password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [alg, ver, params, salt, expected] = parts.as_slice() else {
        return false;
    };
    if *alg != "argon2id" || *ver != "v=19" || password.len() > MAX_LEN {
        return false;
    }
    let mut m = None;
    let mut t = None;
    let mut p = None;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse().ok(),
            Some(("t", v)) => t = v.parse().ok(),
            Some(("p", v)) => p = v.parse().ok(),
            _ => return false,
        }
    }
    let (Some(m), Some(t), Some(p)) = (m, t, p) else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (
        URL_SAFE_NO_PAD.decode(salt),
        URL_SAFE_NO_PAD.decode(expected),
    ) else {
        return false;
    };
    let Ok(hasher) = hasher(m, t, p) else {
        return false;
    };
    let mut out = vec![0u8; expected.len().max(4)];
    let done = if m == M_COST && p == P_COST {
        let mut blocks = memory.take();
        let done = hasher.hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            &mut blocks[..],
        );
        memory.give(blocks);
        done
    } else {
        hasher.hash_password_into(password.as_bytes(), &salt, &mut out)
    };
    done.is_ok() && constant_time_eq(&out, &expected)
}

/// A hash that matches no password, verified when an email has no account so that the answer
/// takes as long as for one that has.
pub fn dummy_hash() -> &'static str {
    "argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(check_new("short", "a@b.co"), Err(PasswordError::TooShort));
        assert_eq!(
            check_new("Password1234", "a@b.co"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_new("zzzzzzzzzzzzzzz", "a@b.co"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_new("alice.smith-is-great", "alice.smith@b.co"),
            Err(PasswordError::ContainsEmail)
        );
        assert_eq!(check_new("violet kettle drums 9", "alice@b.co"), Ok(()));
        // Twelve characters, counted as characters, not bytes.
        assert_eq!(
            check_new("ééééééééééé", "a@b.co"),
            Err(PasswordError::TooShort)
        );
    }

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("violet kettle drums 9").unwrap();
        let b = hash("violet kettle drums 9").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("violet kettle drums 9", &a));
        assert!(!verify("violet kettle drums 8", &a));
        assert!(!verify("violet kettle drums 9", dummy_hash()));
        assert!(!verify("x", "not a hash"));
        assert!(!verify("x", "argon2id$v=19$m=1,t=1,p=1$$"));
    }
}
