//! `quantdesk-keys`: makes the platform's signing key pair, issues, lists and revokes account API
//! keys and signs revocation lists (what the website's back end runs), and installs a key on this
//! computer (`store-key`: OS keychain for the key, id and hash in the store).
//!
//! Keys are printed on stdout once, when issued, and never written anywhere by this tool; the
//! ledger keeps their SHA-256 only.
#![allow(unused_crate_dependencies)] // the package's library uses the rest
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use quantdesk_keys::account::{self};
use quantdesk_keys::ledger::Ledger;
use quantdesk_keys::{
    PUBLIC_KEY_ENV, REVOCATIONS_ENV, RevocationSource, Scopes, Verifier, parse_public_key,
};
use quantdesk_secrets::{Backend, KEYCHAIN_ENV, SecretStore};
use quantdesk_store::Store;

mod cli;

use cli::issuing::{issue, keygen, list, read_issuer, revocations};
use cli::local::{inspect, refresh, sign_in, status, store_key};

/// QuantDesk account API keys: issue (platform back end) and install (this computer).
///
/// Format: `qdk_<body>.<signature>` (base64url); the body is the issuer's Ed25519 public key and
/// the claims (key id, account id, issued-at, expiry, scopes, rate limits) as JSON. Run
/// `quantdesk-keys format` for the full description.
#[derive(Debug, Parser)]
#[command(name = "quantdesk-keys", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a signing key pair: DIR/signing-key (owner-only) and DIR/public-key; prints the public key.
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace an existing signing key (keys it issued stop verifying with the new pair).
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a signing key.
    PublicKey {
        #[arg(long, value_name = "FILE")]
        signing_key: PathBuf,
    },
    /// Issue a key: prints it on stdout (the only time it is shown) and records it in the ledger.
    Issue {
        #[arg(long, value_name = "FILE")]
        signing_key: PathBuf,
        /// The platform account the key belongs to.
        #[arg(long, value_name = "ID")]
        account: String,
        /// Comma-separated: market:read, analysis, backtest, trade:paper, trade:live, account:read.
        #[arg(long, value_name = "LIST")]
        scopes: String,
        /// How long the key is valid: 90s, 30m, 12h, 365d, 2w, 1y.
        #[arg(long, value_name = "DURATION", default_value = "365d")]
        expires_in: String,
        /// Rate limits per tool family: 'market:read=60/min,backtest=10/h,*=600/h'.
        #[arg(long, value_name = "LIST", default_value = "")]
        rate: String,
        /// The issuance ledger (default: ledger.json beside the signing key).
        #[arg(long, value_name = "FILE")]
        ledger: Option<PathBuf>,
    },
    /// List the keys in a ledger.
    List {
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Mark a key revoked in the ledger; then publish a new list with `revocations`.
    Revoke {
        key_id: String,
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
    },
    /// Write the signed revocation list of every revoked key in the ledger.
    Revocations {
        #[arg(long, value_name = "FILE")]
        signing_key: PathBuf,
        /// The issuance ledger (default: ledger.json beside the signing key).
        #[arg(long, value_name = "FILE")]
        ledger: Option<PathBuf>,
        /// Where to write the list (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify a key read from stdin and print what it says (never the key).
    Inspect {
        #[command(flatten)]
        trust: Trust,
    },
    /// Install a key read from stdin on this computer: verify it, put it in the OS keychain and
    /// record its id and hash in the store.
    StoreKey {
        #[command(flatten)]
        local: Local,
        #[command(flatten)]
        trust: Trust,
    },
    /// Sign this computer in through the browser, as the app's "Sign in with your browser"
    /// does (RFC 8628 at the platform): prints the code and the page to open (and a JSON line on
    /// stdout), waits for the approval, then installs the key as store-key does.
    SignIn {
        #[command(flatten)]
        local: Local,
        #[command(flatten)]
        trust: Trust,
        /// The platform (default: the store's setting, QUANTDESK_PLATFORM_URL, or production).
        #[arg(long, value_name = "URL")]
        platform: Option<String>,
        /// Comma-separated scopes to ask for (default: the platform's).
        #[arg(long, value_name = "LIST")]
        scopes: Option<String>,
        /// The name the approval page shows.
        #[arg(long, default_value = "quantdesk-keys")]
        device_name: String,
    },
    /// Fetch the platform's revocation list into the store (by ETag), as the app does hourly.
    Refresh {
        #[command(flatten)]
        local: Local,
        #[command(flatten)]
        trust: Trust,
        #[arg(long, value_name = "URL")]
        platform: Option<String>,
    },
    /// Stop using the installed key and remove it from the keychain (back to guest mode).
    RemoveKey {
        #[command(flatten)]
        local: Local,
    },
    /// Show which key this computer uses and what it allows.
    Status {
        #[command(flatten)]
        local: Local,
        #[command(flatten)]
        trust: Trust,
    },
    /// Narrow the scopes in use (never beyond what the key allows), or lift the narrowing.
    Scopes {
        #[command(flatten)]
        local: Local,
        /// Comma-separated scopes to keep.
        #[arg(
            long,
            value_name = "LIST",
            conflicts_with = "clear",
            required_unless_present = "clear"
        )]
        narrow: Option<String>,
        /// Use every scope the key allows again.
        #[arg(long)]
        clear: bool,
    },
    /// Print the key format's description.
    Format,
}

/// Which public key and revocations to trust.
#[derive(Debug, clap::Args)]
struct Trust {
    /// The platform public key (base64); default: the one built into QuantDesk.
    #[arg(long, env = PUBLIC_KEY_ENV, value_name = "BASE64", allow_hyphen_values = true)]
    public_key: Option<String>,
    /// A signed revocation list to honour: a file or an http(s) URL.
    #[arg(long, env = REVOCATIONS_ENV, value_name = "FILE|URL")]
    revocations: Option<String>,
}

/// This computer's store and keychain.
#[derive(Debug, clap::Args)]
struct Local {
    /// QuantDesk's data folder (default: the per-user one, shared with the app and sidecar).
    #[arg(long, env = quantdesk_store::DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keychain: auto, secret-service, keyutils, macos, windows.
    #[arg(long, env = KEYCHAIN_ENV, value_name = "NAME", default_value = "auto")]
    keychain: String,
}

impl Trust {
    fn verifier(&self) -> anyhow::Result<Verifier> {
        Ok(
            match self.public_key.as_deref().filter(|k| !k.trim().is_empty()) {
                Some(text) => Verifier::new(parse_public_key(text).context("--public-key")?),
                None => Verifier::platform()?,
            },
        )
    }

    fn source(&self) -> Option<RevocationSource> {
        self.revocations
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(RevocationSource::parse)
    }
}

impl Local {
    async fn store(&self) -> anyhow::Result<Store> {
        let dir = quantdesk_store::resolve_data_dir(self.data_dir.clone())?;
        Store::open_desk(&dir, self.backend()?)
            .await
            .with_context(|| format!("opening the QuantDesk store in {}", dir.display()))
    }

    fn backend(&self) -> anyhow::Result<Backend> {
        Ok(self.keychain.parse()?)
    }

    fn secrets(&self) -> anyhow::Result<SecretStore> {
        Ok(SecretStore::open(self.backend()?)?)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Keygen { out, force } => keygen(&out, force),
        Command::PublicKey { signing_key } => {
            println!("{}", read_issuer(&signing_key)?.public_key_text());
            Ok(())
        }
        Command::Issue {
            signing_key,
            account,
            scopes,
            expires_in,
            rate,
            ledger,
        } => issue(&signing_key, account, &scopes, &expires_in, &rate, ledger),
        Command::List { ledger, json } => list(&ledger, json),
        Command::Revoke { key_id, ledger } => {
            let mut book = Ledger::load(&ledger)?;
            let entry = book.revoke(&key_id, account::now())?.clone();
            book.save(&ledger)?;
            eprintln!(
                "revoked {} (account {}); publish a new list with `quantdesk-keys revocations`",
                entry.key_id, entry.account_id
            );
            Ok(())
        }
        Command::Revocations {
            signing_key,
            ledger,
            out,
        } => revocations(&signing_key, ledger, out),
        Command::Inspect { trust } => inspect(&trust).await,
        Command::StoreKey { local, trust } => store_key(&local, &trust).await,
        Command::RemoveKey { local } => {
            let store = local.store().await?;
            let secrets = local.secrets()?;
            match account::remove(&store, &secrets).await? {
                Some(id) => eprintln!("removed the API key {id}; QuantDesk runs in guest mode"),
                None => eprintln!("no API key was installed"),
            }
            store.close().await;
            Ok(())
        }
        Command::Status { local, trust } => status(&local, &trust).await,
        Command::SignIn {
            local,
            trust,
            platform,
            scopes,
            device_name,
        } => sign_in(&local, &trust, platform, scopes, &device_name).await,
        Command::Refresh {
            local,
            trust,
            platform,
        } => refresh(&local, &trust, platform).await,
        Command::Scopes {
            local,
            narrow,
            clear,
        } => {
            let store = local.store().await?;
            let wanted = match (narrow, clear) {
                (Some(list), false) => Some(Scopes::parse_list(&list)?),
                _ => None,
            };
            account::set_narrowed_scopes(&store, wanted.as_ref()).await?;
            match wanted {
                Some(s) => eprintln!("scopes narrowed to {s} (never beyond what the key allows)"),
                None => eprintln!("scope narrowing lifted"),
            }
            store.close().await;
            Ok(())
        }
        Command::Format => {
            print!("{}", include_str!("../README.md"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::issuing::parse_duration;

    /// Base64url public keys may start with '-'.
    #[test]
    fn a_public_key_may_start_with_a_hyphen() {
        let cli =
            Cli::try_parse_from(["quantdesk-keys", "inspect", "--public-key", "-71wk_vn"]).unwrap();
        let Command::Inspect { trust } = cli.command else {
            panic!("not inspect");
        };
        assert_eq!(trust.public_key.as_deref(), Some("-71wk_vn"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("365d").unwrap(), 365 * 86_400);
        assert_eq!(parse_duration("1y").unwrap(), 365 * 86_400);
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("d").is_err());
    }
}
