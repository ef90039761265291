//! The app's side of sealed settings (`quantdesk_guard::seal`): the seal key in the keychain,
//! made on first start and used for every change of the limits, approval policy or live switch
//! and for every decision the person makes on a pending order; and what Home says when the seal
//! is broken or missing.

use quantdesk_guard::OrderRecord;
use quantdesk_guard::seal::{self, SealKey, SealState};
use quantdesk_secrets::SecretStore;
use quantdesk_store::Store;
use serde::Serialize;

use crate::{Desktop, DesktopError};

/// The desk's seal key from the keychain, made (and the desk sealed as it stands) if this is
/// the first start; `None`, logged, when the keychain cannot hold it. A desk whose settings
/// carry seals while its key is gone is not re-sealed here: that waits for the person to save.
pub(crate) async fn open(store: &Store) -> Option<SealKey> {
    let secrets = match SecretStore::from_env() {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(%err, "no keychain: the settings are not sealed");
            return None;
        }
    };
    let name = seal::key_name(store);
    match secrets.get(&name) {
        Ok(Some(hex)) => match SealKey::from_hex(hex.expose()) {
            Ok(key) => Some(key),
            Err(err) => {
                tracing::error!(%err, "the settings seal key is unreadable");
                None
            }
        },
        Ok(None) => {
            let key = SealKey::generate().ok()?;
            let stored = secrets
                .set(&name, &key.to_hex())
                .and_then(|_| secrets.set(&seal::check_name(store), &key.check().to_hex()));
            if let Err(err) = stored {
                tracing::warn!(%err, "the keychain refused the settings seal key");
                return None;
            }
            if matches!(seal::state(store, None).await, Ok(SealState::Unsealed))
                && let Err(err) = key.seal_current(store).await
            {
                tracing::error!(%err, "the settings could not be sealed");
            }
            Some(key)
        }
        Err(err) => {
            tracing::warn!(%err, "the keychain could not be read: the settings are not sealed");
            None
        }
    }
}

impl Desktop {
    /// The app's signature over the person's decision on `order`, which a sealed desk requires
    /// before it acts on it; `None` when the app has no seal key.
    pub(crate) fn sign_decision(&self, order: &OrderRecord, approve: bool) -> Option<String> {
        self.seal.as_ref().map(|k| k.sign_decision(order, approve))
    }

    /// Writes a sealed setting: signed by the app's key, or plainly when there is none. After a
    /// write by the person, a broken seal is mended: the settings as the app shows them are
    /// sealed again.
    pub(crate) async fn write_sealed<T: Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), DesktopError> {
        match &self.seal {
            Some(seal_key) => {
                seal_key.write(&self.store, key, value).await?;
                let check = seal_key.check();
                if seal::state(&self.store, Some(&check)).await? != SealState::Sealed {
                    seal_key.seal_current(&self.store).await?;
                }
            }
            None => self.store.set_setting(key, value).await?,
        }
        Ok(())
    }

    /// What Home says about the seal: `None` when the settings carry the app's seal.
    pub(crate) async fn settings_problem(&self) -> Result<Option<String>, DesktopError> {
        let check = self.seal.as_ref().map(|k| k.check());
        Ok(match seal::state(&self.store, check.as_ref()).await? {
            SealState::Sealed => None,
            SealState::Unsealed => Some(
                "Your limits are not sealed (QuantDesk could not use the keychain): another \
                 program could change them."
                    .into(),
            ),
            SealState::Broken(why) => Some(format!(
                "Orders are refused: {why}. Review your settings and save them to seal them again."
            )),
        })
    }
}
