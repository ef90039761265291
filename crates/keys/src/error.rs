use thiserror::Error;

/// Why a key, a revocation list or a piece of one was refused. Each refusal a person can meet
/// has its own variant and its own message; none of them contains the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error(
        "this is not a QuantDesk API key (QuantDesk keys start with '{}')",
        crate::KEY_PREFIX
    )]
    NotAKey,

    #[error(
        "this API key is damaged or was altered: its signature does not match its contents \
         (copy it again from your QuantDesk account page)"
    )]
    Damaged,

    #[error(
        "this API key was not issued by the QuantDesk platform: it is signed by another key pair \
         than the one this app trusts"
    )]
    UnknownSigner,

    #[error(
        "this API key ({key_id}) has been revoked on the QuantDesk platform; sign in again in the \
         QuantDesk app (Settings → Sign in with your browser) or issue a new key on your account page"
    )]
    Revoked { key_id: String },

    #[error(
        "this API key ({key_id}) expired on {at}; issue a new one on your QuantDesk account page"
    )]
    Expired { key_id: String, at: String },

    #[error("this API key ({key_id}) is not valid before {at}; check this computer's clock")]
    NotYetValid { key_id: String, at: String },

    #[error(
        "this API key is signed but its contents cannot be read ({0}); is this app too old for it?"
    )]
    BadClaims(String),

    #[error(
        "this is not a QuantDesk revocation list (they start with '{}')",
        crate::REVOCATIONS_PREFIX
    )]
    NotARevocationList,

    #[error("the revocation list is damaged or was altered: its signature does not match")]
    RevocationsDamaged,

    #[error("the revocation list was not signed by the platform key this app trusts")]
    RevocationsUnknownSigner,

    #[error("the revocation list is signed but cannot be read: {0}")]
    RevocationsBadContent(String),

    #[error("the revocation list could not be loaded from {source_name}: {reason}")]
    RevocationsUnavailable { source_name: String, reason: String },

    #[error("not a valid public key: {0}")]
    BadPublicKey(String),

    #[error("not a valid signing key: {0}")]
    BadSigningKey(String),

    #[error(
        "unknown scope '{0}' (scopes: market:read, analysis, backtest, trade:paper, trade:live, account:read)"
    )]
    UnknownScope(String),

    #[error("bad rate limit {0}")]
    BadRate(String),

    #[error("cannot issue this key: {0}")]
    BadIssue(String),

    #[error("the system's random number generator failed: {0}")]
    Random(String),
}
