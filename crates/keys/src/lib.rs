//! QuantDesk account API keys: the printable key format (`qdk_…`), Ed25519 signing by the
//! platform and offline verification in the app, scopes and how the person narrows them, rate
//! limits as written in a key, signed revocation lists, the issuance ledger the platform's back
//! end keeps, and installing a key on this computer (OS keychain for the key, only its id and
//! hash in the store). The `quantdesk-keys` binary is the issuing tool built on it.
//!
//! This crate must never write a key, a signing key's secret half or any other secret to the
//! store, a log, an error message or a `Debug` string; only the keychain holds a key, and only a
//! file with owner-only permissions holds a signing key. It must never accept a key it has not
//! verified against the trusted public key, nor let narrowing grant a scope the key lacks.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

// The `quantdesk-keys` binary's own dependencies (Cargo has no per-binary dependencies).
use anyhow as _;
use clap as _;

pub mod account;
mod error;
mod key;
pub mod ledger;
pub mod platform;
mod rate;
mod revocation;
mod scope;

pub use error::KeyError;
pub use key::{
    Claims, Issuer, KEY_PREFIX, PLATFORM_PUBLIC_KEY, PUBLIC_KEY_ENV, REVOCATIONS_PREFIX,
    RevocationList, SIGNING_KEY_PREFIX, Verifier, encode_public_key, key_hash, new_key_id,
    parse_public_key, show_time,
};
pub use rate::{ANY_FAMILY, RateLimit, parse_rate_list};
pub use revocation::{REVOCATIONS_ENV, RevocationSource};
pub use scope::{Scope, Scopes};
