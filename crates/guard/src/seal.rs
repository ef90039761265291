//! Sealed settings: the limits, the approval policy and the live-trading switch carry a
//! signature by a key only the desktop app holds, and the guard checks it before it admits an
//! order. A row rewritten by any other process — a shell tool, a script editing
//! `quantdesk.db` — is refused, not obeyed.
//!
//! The app holds a [`SealKey`] (Ed25519, its secret half in the OS keychain under
//! [`key_name`]); it writes each sealed setting together with its signature in one
//! transaction ([`SealKey::write`]). The sidecar reads only the public half ([`SealCheck`],
//! keychain entry [`check_name`]) and verifies with it ([`state`]). Once a desk has been sealed,
//! a missing, unsigned or altered row — or a missing public key while signatures exist — makes
//! [`state`] say [`SealState::Broken`], and the guard refuses every order under the rule
//! `settings_seal` until the person reviews the settings in the app and saves them again.
//! A desk never sealed (no key yet, e.g. before the app first ran) is [`SealState::Unsealed`]
//! and trades on its rows as they are; the app says so.
//!
//! The person's decisions are sealed the same way: the app signs "approve" or "reject" for one
//! order — its id, broker, mode and the request itself ([`SealKey::sign_decision`]) — and a
//! guard that has the public key acts on no decision without that signature
//! ([`crate::Guard::check_decision`]): a decision forged over the approval channel or by
//! another program is refused and the order keeps waiting for the person.
//!
//! What this does not stop (THREAT_MODEL.md): a process that can read the app's keychain item
//! (on Linux, any process of the user) can sign; an old signed row can be put back (replay).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use quantdesk_store::Store;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::GuardError;
use crate::journal::OrderRecord;
use crate::limits::{APPROVAL_SETTING, LIMITS_SETTING, LIVE_TRADING_SETTING};

/// The settings that are sealed, and how a person names them.
pub const SEALED: [(&str, &str); 3] = [
    (LIMITS_SETTING, "limits"),
    (APPROVAL_SETTING, "approval policy"),
    (LIVE_TRADING_SETTING, "live-trading switch"),
];

/// The settings row holding `key`'s signature.
pub fn seal_row(key: &str) -> String {
    format!("{key}.seal")
}

/// A short, stable name for the desk whose store is `store`, for its keychain entries (one
/// seal per data folder).
fn desk_id(store: &Store) -> String {
    let dir = store.path().parent().unwrap_or(store.path());
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    hex::encode(&Sha256::digest(dir.to_string_lossy().as_bytes())[..12])
}

/// The keychain entry of the app's secret seal key for this desk.
pub fn key_name(store: &Store) -> String {
    format!("settings-seal-key:{}", desk_id(store))
}

/// The keychain entry of the public half the sidecar verifies with.
pub fn check_name(store: &Store) -> String {
    format!("settings-seal:{}", desk_id(store))
}

/// What is signed: a domain tag, the key and the stored JSON text.
fn message(key: &str, value: &Value) -> Vec<u8> {
    format!("quantdesk-settings-v1\0{key}\0{value}").into_bytes()
}

/// What a decision's signature covers: the order (id, broker, mode, the request as stored) and
/// the verdict. A decision signed for one order says nothing about any other.
fn decision_message(order: &OrderRecord, approve: bool) -> Vec<u8> {
    let request = serde_json::to_string(&order.request).unwrap_or_default();
    let verdict = if approve { "approve" } else { "reject" };
    format!(
        "quantdesk-decision-v1\0{}\0{}\0{}\0{verdict}\0{request}",
        order.client_order_id, order.broker, order.mode
    )
    .into_bytes()
}

/// The app's signing key. Its secret half never goes into the store.
pub struct SealKey(SigningKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", self.check().to_hex())
    }
}

impl SealKey {
    /// A fresh key from the system's random number generator.
    pub fn generate() -> Result<Self, GuardError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| GuardError::Seal(format!("no randomness: {e}")))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    pub fn from_hex(text: &str) -> Result<Self, GuardError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| GuardError::Seal("the seal key in the keychain is malformed".into()))?;
        Ok(Self(SigningKey::from_bytes(&bytes)))
    }

    /// The secret half as hex, for the keychain.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The public half, for verifying.
    pub fn check(&self) -> SealCheck {
        SealCheck(self.0.verifying_key())
    }

    /// Writes `value` under the sealed setting `key` with its signature, in one transaction.
    pub async fn write<T: Serialize>(
        &self,
        store: &Store,
        key: &str,
        value: &T,
    ) -> Result<(), GuardError> {
        let value = serde_json::to_value(value)
            .map_err(|e| GuardError::Seal(format!("cannot encode {key}: {e}")))?;
        let signature = hex::encode(self.0.sign(&message(key, &value)).to_bytes());
        let signature = Value::String(signature).to_string();
        Ok(store
            .set_settings_text(&[(key, value.to_string()), (&seal_row(key), signature)])
            .await?)
    }

    /// The signature of the person's decision on `order`, as hex (sent with the decision).
    pub fn sign_decision(&self, order: &OrderRecord, approve: bool) -> String {
        hex::encode(self.0.sign(&decision_message(order, approve)).to_bytes())
    }

    /// Seals every sealed setting as it stands now (an absent one as its default), for a desk
    /// the app seals for the first time.
    pub async fn seal_current(&self, store: &Store) -> Result<(), GuardError> {
        self.write(store, LIMITS_SETTING, &crate::limits(store).await?)
            .await?;
        self.write(
            store,
            APPROVAL_SETTING,
            &crate::approval_policy(store).await?,
        )
        .await?;
        let live = store.setting::<bool>(LIVE_TRADING_SETTING).await?;
        self.write(store, LIVE_TRADING_SETTING, &live.unwrap_or(false))
            .await
    }
}

/// The public half of the app's seal key: what the sidecar verifies with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCheck(VerifyingKey);

impl SealCheck {
    pub fn from_hex(text: &str) -> Result<Self, GuardError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| GuardError::Seal("the public seal key is malformed".into()))?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| GuardError::Seal("the public seal key is not a valid key".into()))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Whether `signature` is the app's signature of this decision on `order`.
    pub fn verifies_decision(&self, order: &OrderRecord, approve: bool, signature: &str) -> bool {
        hex::decode(signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| {
                self.0
                    .verify(&decision_message(order, approve), &sig)
                    .is_ok()
            })
    }
}

/// Whether the sealed settings can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// Every sealed setting carries the app's valid signature.
    Sealed,
    /// The desk was never sealed (no key): its rows are used as they are.
    Unsealed,
    /// Something was changed outside the app, in these words.
    Broken(String),
}

/// Checks the sealed settings with `check` (the public key, if the keychain has one).
pub async fn state(store: &Store, check: Option<&SealCheck>) -> Result<SealState, GuardError> {
    let Some(check) = check else {
        for (key, label) in SEALED {
            if store.setting::<Value>(&seal_row(key)).await?.is_some() {
                return Ok(SealState::Broken(format!(
                    "the {label} are sealed, but the QuantDesk app's seal key is missing from \
                     the keychain"
                )));
            }
        }
        return Ok(SealState::Unsealed);
    };
    for (key, label) in SEALED {
        let value = store.setting::<Value>(key).await?;
        let signature = store.setting::<String>(&seal_row(key)).await?;
        let (Some(value), Some(signature)) = (value, signature) else {
            return Ok(SealState::Broken(format!(
                "the {label} setting is not sealed by the QuantDesk app (missing or written by \
                 another program)"
            )));
        };
        let valid = hex::decode(signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| check.0.verify(&message(key, &value), &sig).is_ok());
        if !valid {
            return Ok(SealState::Broken(format!(
                "the {label} were changed outside the QuantDesk app (their seal does not match)"
            )));
        }
    }
    Ok(SealState::Sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[tokio::test]
    async fn only_the_apps_key_seals_and_any_other_write_breaks_the_seal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        assert_eq!(state(&store, None).await.unwrap(), SealState::Unsealed);
        let key = SealKey::generate().unwrap();
        let check = SealCheck::from_hex(&key.check().to_hex()).unwrap();
        assert_eq!(
            state(&store, Some(&check)).await.unwrap(),
            SealState::Broken(
                "the limits setting is not sealed by the QuantDesk app (missing or written by \
                 another program)"
                    .into()
            )
        );
        key.seal_current(&store).await.unwrap();
        assert_eq!(
            state(&store, Some(&check)).await.unwrap(),
            SealState::Sealed
        );
        let strict = Limits {
            max_order_value: Some(rust_decimal::Decimal::from(50)),
            ..Limits::default()
        };
        key.write(&store, LIMITS_SETTING, &strict).await.unwrap();
        assert_eq!(
            state(&store, Some(&check)).await.unwrap(),
            SealState::Sealed
        );

        // Another program loosens the limits: the seal breaks.
        crate::set_limits(&store, &Limits::default()).await.unwrap();
        assert!(
            matches!(state(&store, Some(&check)).await.unwrap(), SealState::Broken(w) if w.contains("limits were changed"))
        );
        // Signed by some other key: broken too.
        let other = SealKey::generate().unwrap();
        other
            .write(&store, LIMITS_SETTING, &Limits::default())
            .await
            .unwrap();
        assert!(matches!(
            state(&store, Some(&check)).await.unwrap(),
            SealState::Broken(_)
        ));
        // The app saves again: sealed.
        key.write(&store, LIMITS_SETTING, &strict).await.unwrap();
        assert_eq!(
            state(&store, Some(&check)).await.unwrap(),
            SealState::Sealed
        );
        // The public key removed from the keychain while signatures exist: broken.
        assert!(
            matches!(state(&store, None).await.unwrap(), SealState::Broken(w) if w.contains("missing from"))
        );
        // The live switch turned on behind the app's back: broken.
        store
            .set_setting(LIVE_TRADING_SETTING, &true)
            .await
            .unwrap();
        assert!(
            matches!(state(&store, Some(&check)).await.unwrap(), SealState::Broken(w) if w.contains("live-trading"))
        );
        assert_eq!(SealKey::from_hex(&key.to_hex()).unwrap().check(), check);
        assert_ne!(key_name(&store), check_name(&store));
    }
}
