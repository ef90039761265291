//! The key format, issuing and offline verification.
//!
//! A key is `qdk_<body>.<signature>`, both parts unpadded base64url. The body is the issuer's
//! Ed25519 public key (32 bytes) followed by the claims as compact JSON; the signature is
//! Ed25519 over `quantdesk/account-key/v1\0` + body. Carrying the signer's public key lets a
//! verifier tell a damaged key (the signature does not match the body) from an intact key issued
//! by someone else (it matches, but the signer is not the trusted platform key). Revocation lists
//! are the same envelope with the prefix `qdr_` and their own signing context.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::KeyError;
use crate::rate::{ANY_FAMILY, RateLimit};
use crate::scope::{Scope, Scopes};

/// Every account API key starts with this.
pub const KEY_PREFIX: &str = "qdk_";
/// Every signed revocation list starts with this.
pub const REVOCATIONS_PREFIX: &str = "qdr_";
/// A signing key file holds this prefix and the 32-byte seed, base64url.
pub const SIGNING_KEY_PREFIX: &str = "qdsk_";
/// Environment variable that replaces the compiled-in platform public key (self-hosting, tests).
pub const PUBLIC_KEY_ENV: &str = "QUANTDESK_PUBLIC_KEY";

/// The QuantDesk platform's public key, base64url: keys signed by its private half are the only
/// ones this build accepts unless `QUANTDESK_PUBLIC_KEY` says otherwise.
///
/// This is a DEVELOPMENT key pair whose private half was thrown away after it was made: no key
/// signed by it exists. A production build must replace it with the platform's real public key
/// (see crates/keys/README.md, "The platform key").
pub const PLATFORM_PUBLIC_KEY: &str = "XRn5DqXzhCv84UIQooNbFchAJ8Q1tDR5wH3gq18gXcw";

const KEY_CONTEXT: &[u8] = b"quantdesk/account-key/v1\0";
const REVOCATIONS_CONTEXT: &[u8] = b"quantdesk/revocations/v1\0";

/// What a key says about its holder. Field names on the wire are short: the key is pasted and
/// stored by people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The key's own id (`k_` + 20 hex digits): what lists, revocations and the store name.
    #[serde(rename = "kid")]
    pub key_id: String,
    /// The platform account the key belongs to.
    #[serde(rename = "acct")]
    pub account_id: String,
    /// Issued at, seconds since 1970 (UTC).
    pub iat: i64,
    /// Expires at, seconds since 1970 (UTC).
    pub exp: i64,
    pub scopes: Scopes,
    /// Rate limits by tool family (a scope's name, or `*` for the rest). A family with no limit
    /// here and no `*` is not limited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate: BTreeMap<String, RateLimit>,
}

impl Claims {
    /// The limit for `family`: its own, else the `*` one, else none.
    pub fn rate_limit(&self, family: &str) -> Option<RateLimit> {
        self.rate
            .get(family)
            .or_else(|| self.rate.get(ANY_FAMILY))
            .copied()
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.iat, 0).unwrap_or(DateTime::UNIX_EPOCH)
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::UNIX_EPOCH)
    }

    fn check(&self) -> Result<(), KeyError> {
        let printable =
            |s: &str| !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_graphic());
        if !printable(&self.key_id) || self.key_id.starts_with(KEY_PREFIX) {
            return Err(KeyError::BadIssue(format!(
                "the key id '{}' must be 1 to 128 printable characters",
                self.key_id.escape_debug()
            )));
        }
        if !printable(&self.account_id) {
            return Err(KeyError::BadIssue(format!(
                "the account id '{}' must be 1 to 128 printable characters without spaces",
                self.account_id.escape_debug()
            )));
        }
        if self.exp <= self.iat {
            return Err(KeyError::BadIssue(
                "it would expire before it is issued".into(),
            ));
        }
        if self.scopes.is_empty() {
            return Err(KeyError::BadIssue("it needs at least one scope".into()));
        }
        for family in self.rate.keys() {
            if family != ANY_FAMILY {
                family.parse::<Scope>()?;
            }
        }
        Ok(())
    }
}

/// Seconds since 1970 as people read them: `2026-03-01 12:00 UTC`.
pub fn show_time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A fresh key id: `k_` and 20 random hex digits.
pub fn new_key_id() -> Result<String, KeyError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(format!("k_{}", hex::encode(bytes)))
}

/// The hex SHA-256 of a key's text (surrounding whitespace ignored): what the store keeps.
pub fn key_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.trim().as_bytes()))
}

/// Reads a public key written as base64url or standard base64 (32 bytes).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let text = text.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .map_err(|e| KeyError::BadPublicKey(format!("not base64: {e}")))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| KeyError::BadPublicKey(format!("{} bytes, not 32", b.len())))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| KeyError::BadPublicKey(e.to_string()))
}

/// A public key as this crate writes it: unpadded base64url.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The platform's signing key: issues keys and signs revocation lists. Only the website's back
/// end holds one. `Debug` never shows it.
pub struct Issuer {
    signing: SigningKey,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("public_key", &self.public_key_text())
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// A new key pair from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let signing = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self { signing })
    }

    /// Reads a signing key file's text (`qdsk_` + base64url seed).
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let body = text
            .trim()
            .strip_prefix(SIGNING_KEY_PREFIX)
            .ok_or_else(|| {
                KeyError::BadSigningKey(format!("it must start with {SIGNING_KEY_PREFIX}"))
            })?;
        let mut bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| KeyError::BadSigningKey(format!("not base64url: {e}")))?;
        let seed: Result<[u8; 32], _> = bytes.as_slice().try_into();
        bytes.fill(0);
        let mut seed =
            seed.map_err(|_| KeyError::BadSigningKey("the seed must be 32 bytes".into()))?;
        let signing = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self { signing })
    }

    /// The signing key file's text. Write it only to a file only its owner can read.
    pub fn to_text(&self) -> String {
        format!(
            "{SIGNING_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.signing.to_bytes())
        )
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_key_text(&self) -> String {
        encode_public_key(&self.public_key())
    }

    /// Signs `claims` into a key.
    pub fn issue(&self, claims: &Claims) -> Result<String, KeyError> {
        claims.check()?;
        let json = serde_json::to_vec(claims).map_err(|e| KeyError::BadIssue(e.to_string()))?;
        Ok(self.seal(KEY_PREFIX, KEY_CONTEXT, &json))
    }

    /// Signs a revocation list.
    pub fn sign_revocations(&self, list: &RevocationList) -> Result<String, KeyError> {
        let json = serde_json::to_vec(list).map_err(|e| KeyError::BadIssue(e.to_string()))?;
        Ok(self.seal(REVOCATIONS_PREFIX, REVOCATIONS_CONTEXT, &json))
    }

    fn seal(&self, prefix: &str, context: &[u8], json: &[u8]) -> String {
        let mut body = Vec::with_capacity(32 + json.len());
        body.extend_from_slice(self.public_key().as_bytes());
        body.extend_from_slice(json);
        let signature = self.signing.sign(&[context, &body].concat());
        format!(
            "{prefix}{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// How an envelope failed to open.
enum Open {
    WrongPrefix,
    Damaged,
}

/// Checks an envelope's structure and its signature against the public key it carries; returns
/// that key and the JSON.
fn open<'a>(text: &'a str, prefix: &str, context: &[u8]) -> Result<(VerifyingKey, Vec<u8>), Open> {
    let rest: &'a str = text.trim().strip_prefix(prefix).ok_or(Open::WrongPrefix)?;
    let (body, signature) = rest.split_once('.').ok_or(Open::Damaged)?;
    let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| Open::Damaged)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Open::Damaged)?;
    let signature: [u8; 64] = signature.try_into().map_err(|_| Open::Damaged)?;
    let signature = Signature::from_bytes(&signature);
    if body.len() <= 32 {
        return Err(Open::Damaged);
    }
    let (signer, json) = body.split_at(32);
    let signer: [u8; 32] = signer.try_into().map_err(|_| Open::Damaged)?;
    let signer = VerifyingKey::from_bytes(&signer).map_err(|_| Open::Damaged)?;
    signer
        .verify_strict(&[context, &body].concat(), &signature)
        .map_err(|_| Open::Damaged)?;
    Ok((signer, json.to_vec()))
}

/// A signed list of revoked key ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    /// When the list was made, seconds since 1970: a verifier never trades a list for an older
    /// one.
    pub iat: i64,
    pub revoked: BTreeSet<String>,
}

/// Checks keys offline against the trusted platform public key and the revocations it has been
/// given.
#[derive(Debug, Clone)]
pub struct Verifier {
    trusted: VerifyingKey,
    revoked: BTreeSet<String>,
    revocations_iat: Option<i64>,
}

/// How far a key's issue time may be ahead of this computer's clock.
const CLOCK_SKEW_SECS: i64 = 300;

impl Verifier {
    pub fn new(trusted: VerifyingKey) -> Self {
        Self {
            trusted,
            revoked: BTreeSet::new(),
            revocations_iat: None,
        }
    }

    /// The compiled-in platform key.
    pub fn platform() -> Result<Self, KeyError> {
        Ok(Self::new(parse_public_key(PLATFORM_PUBLIC_KEY)?))
    }

    /// `QUANTDESK_PUBLIC_KEY` when set, else the compiled-in platform key.
    pub fn from_env() -> Result<Self, KeyError> {
        match std::env::var(PUBLIC_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => Ok(Self::new(parse_public_key(&text)?)),
            _ => Self::platform(),
        }
    }

    pub fn trusted(&self) -> &VerifyingKey {
        &self.trusted
    }

    /// Verifies `text` as of `now` (seconds since 1970). The checks run in this order, so each
    /// failure has exactly one name: structure and signature (`NotAKey`, `Damaged`), signer
    /// (`UnknownSigner`), contents (`BadClaims`), revocation, expiry, issue time.
    pub fn verify(&self, text: &str, now: i64) -> Result<Claims, KeyError> {
        let (signer, json) = open(text, KEY_PREFIX, KEY_CONTEXT).map_err(|e| match e {
            Open::WrongPrefix => KeyError::NotAKey,
            Open::Damaged => KeyError::Damaged,
        })?;
        if signer != self.trusted {
            return Err(KeyError::UnknownSigner);
        }
        let claims: Claims =
            serde_json::from_slice(&json).map_err(|e| KeyError::BadClaims(e.to_string()))?;
        if self.revoked.contains(&claims.key_id) {
            return Err(KeyError::Revoked {
                key_id: claims.key_id,
            });
        }
        if now >= claims.exp {
            return Err(KeyError::Expired {
                at: show_time(claims.exp),
                key_id: claims.key_id,
            });
        }
        if claims.iat > now + CLOCK_SKEW_SECS {
            return Err(KeyError::NotYetValid {
                at: show_time(claims.iat),
                key_id: claims.key_id,
            });
        }
        Ok(claims)
    }

    /// Verifies a signed revocation list (it must be signed by the trusted key).
    pub fn verify_revocations(&self, text: &str) -> Result<RevocationList, KeyError> {
        let (signer, json) =
            open(text, REVOCATIONS_PREFIX, REVOCATIONS_CONTEXT).map_err(|e| match e {
                Open::WrongPrefix => KeyError::NotARevocationList,
                Open::Damaged => KeyError::RevocationsDamaged,
            })?;
        if signer != self.trusted {
            return Err(KeyError::RevocationsUnknownSigner);
        }
        serde_json::from_slice(&json).map_err(|e| KeyError::RevocationsBadContent(e.to_string()))
    }

    /// Honours a verified list: its ids are refused from now on. Lists only add revocations.
    pub fn honour(&mut self, list: &RevocationList) {
        self.revoked.extend(list.revoked.iter().cloned());
        self.revocations_iat = Some(self.revocations_iat.map_or(list.iat, |t| t.max(list.iat)));
    }

    /// Verifies `text` as a revocation list and honours it.
    pub fn honour_text(&mut self, text: &str) -> Result<RevocationList, KeyError> {
        let list = self.verify_revocations(text)?;
        self.honour(&list);
        Ok(list)
    }

    pub fn is_revoked(&self, key_id: &str) -> bool {
        self.revoked.contains(key_id)
    }

    /// How many key ids are refused.
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
    }

    /// The issue time of the newest list honoured so far.
    pub fn revocations_issued_at(&self) -> Option<i64> {
        self.revocations_iat
    }
}

#[cfg(test)]
mod tests;
