//! `quantdesk-keys`: makes the platform's signing key pair, issues, lists and revokes account API
//! keys and signs revocation lists (what the website's back end runs), and installs a key on this
//! computer (`store-key`: OS keychain for the key, id and hash in the store).
//!
//! Keys are printed on stdout once, when issued, and never written anywhere by this tool; the
//! ledger keeps their SHA-256 only.
#![forbid(unsafe_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use quantdesk_keys::account::{self, KeyState};
use quantdesk_keys::ledger::{Ledger, LedgerEntry};
use quantdesk_keys::{
    Claims, Issuer, PUBLIC_KEY_ENV, REVOCATIONS_ENV, RevocationSource, Scopes, Verifier, key_hash,
    new_key_id, parse_public_key, parse_rate_list, show_time,
};
use quantdesk_secrets::{Backend, KEYCHAIN_ENV, SecretStore};
use quantdesk_store::Store;

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
        Store::open_in(&dir)
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

fn keygen(out: &Path, force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let issuer = Issuer::generate()?;
    let secret_path = out.join("signing-key");
    write_private(&secret_path, &format!("{}\n", issuer.to_text()), force)?;
    let public = issuer.public_key_text();
    std::fs::write(out.join("public-key"), format!("{public}\n"))
        .with_context(|| format!("writing {}", out.join("public-key").display()))?;
    eprintln!(
        "signing key written to {} (owner-only); keep it secret and backed up",
        secret_path.display()
    );
    println!("{public}");
    Ok(())
}

/// Writes a file only its owner can read; refuses to replace one unless `force`.
fn write_private(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (use --force to replace an existing signing key)",
            path.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn read_issuer(path: &Path) -> anyhow::Result<Issuer> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the signing key {}", path.display()))?;
    Ok(Issuer::from_text(&text)?)
}

fn default_ledger(signing_key: &Path, ledger: Option<PathBuf>) -> PathBuf {
    ledger.unwrap_or_else(|| {
        signing_key
            .parent()
            .unwrap_or(Path::new("."))
            .join("ledger.json")
    })
}

/// `90s`, `30m`, `12h`, `365d`, `2w`, `1y` in seconds.
fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 = n
        .parse()
        .with_context(|| format!("'{text}': expected a number and a unit, e.g. 365d"))?;
    let unit = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => bail!("'{text}': the unit must be s, m, h, d, w or y"),
    };
    n.checked_mul(unit)
        .filter(|&s| s > 0)
        .with_context(|| format!("'{text}' is not a usable duration"))
}

fn issue(
    signing_key: &Path,
    account_id: String,
    scopes: &str,
    expires_in: &str,
    rate: &str,
    ledger: Option<PathBuf>,
) -> anyhow::Result<()> {
    let issuer = read_issuer(signing_key)?;
    let ledger_path = default_ledger(signing_key, ledger);
    let mut book = Ledger::load(&ledger_path)?;
    book.bind_to(&issuer.public_key_text())?;
    let now = account::now();
    let claims = Claims {
        key_id: new_key_id()?,
        account_id,
        iat: now,
        exp: now + parse_duration(expires_in)?,
        scopes: Scopes::parse_list(scopes)?,
        rate: parse_rate_list(rate)?.into_iter().collect(),
    };
    let key = issuer.issue(&claims)?;
    book.record(LedgerEntry::from_claims(&claims, key_hash(&key)));
    book.save(&ledger_path)?;
    eprintln!(
        "issued {} for account {} ({}), valid until {}",
        claims.key_id,
        claims.account_id,
        claims.scopes,
        show_time(claims.exp)
    );
    println!("{key}");
    Ok(())
}

fn list(ledger: &Path, json: bool) -> anyhow::Result<()> {
    let book = Ledger::load(ledger)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&book.keys)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<20} {:<18} {:<18} {:<8} SCOPES",
        "KEY", "ACCOUNT", "ISSUED", "EXPIRES", "STATE"
    );
    let now = account::now();
    for e in &book.keys {
        let state = if e.revoked_at.is_some() {
            "revoked"
        } else if e.expires_at <= now {
            "expired"
        } else {
            "valid"
        };
        println!(
            "{:<24} {:<20} {:<18} {:<18} {:<8} {}",
            e.key_id,
            e.account_id,
            show_time(e.issued_at).trim_end_matches(" UTC"),
            show_time(e.expires_at).trim_end_matches(" UTC"),
            state,
            e.scopes
        );
    }
    Ok(())
}

fn revocations(
    signing_key: &Path,
    ledger: Option<PathBuf>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let issuer = read_issuer(signing_key)?;
    let ledger_path = default_ledger(signing_key, ledger);
    let mut book = Ledger::load(&ledger_path)?;
    book.bind_to(&issuer.public_key_text())?;
    let list = book.revocation_list(account::now());
    let text = issuer.sign_revocations(&list)?;
    match out {
        Some(path) => {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{text}\n"))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "revocation list with {} key(s) written to {}",
                list.revoked.len(),
                path.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn read_key_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("reading the key from stdin")?;
    let key = text.trim().to_string();
    if key.is_empty() {
        bail!("no key on stdin (pipe it in: `quantdesk-keys store-key < key.txt`)");
    }
    Ok(key)
}

async fn verifier_with_revocations(trust: &Trust) -> anyhow::Result<Verifier> {
    let mut verifier = trust.verifier()?;
    if let Some(source) = trust.source() {
        let text = source.fetch().await?;
        verifier.honour_text(&text)?;
    }
    Ok(verifier)
}

fn describe(claims: &Claims) -> serde_json::Value {
    serde_json::json!({
        "key_id": claims.key_id,
        "account_id": claims.account_id,
        "issued_at": show_time(claims.iat),
        "expires_at": show_time(claims.exp),
        "scopes": claims.scopes,
        "rate": claims.rate,
    })
}

async fn inspect(trust: &Trust) -> anyhow::Result<()> {
    let key = read_key_from_stdin()?;
    let verifier = verifier_with_revocations(trust).await?;
    let claims = verifier.verify(&key, account::now())?;
    println!("{}", serde_json::to_string_pretty(&describe(&claims))?);
    Ok(())
}

async fn store_key(local: &Local, trust: &Trust) -> anyhow::Result<()> {
    let key = read_key_from_stdin()?;
    let store = local.store().await?;
    let mut verifier = trust.verifier()?;
    let status = account::refresh_revocations(&store, &mut verifier, trust.source().as_ref()).await;
    for problem in &status.problems {
        eprintln!("warning: {problem}");
    }
    let secrets = local.secrets()?;
    let installed = account::install(&store, &secrets, &verifier, &key, account::now()).await?;
    store.close().await;
    eprintln!(
        "installed the API key {} for account {} ({}) in the {}{}",
        installed.claims.key_id,
        installed.claims.account_id,
        installed.claims.scopes,
        installed.backend,
        installed
            .replaced
            .map(|old| format!("; it replaces {old}"))
            .unwrap_or_default()
    );
    Ok(())
}

async fn platform_client(
    store: &Store,
    platform: Option<String>,
) -> anyhow::Result<quantdesk_keys::platform::PlatformClient> {
    let url = match platform {
        Some(url) => url,
        None => account::platform_url(store).await?,
    };
    Ok(quantdesk_keys::platform::PlatformClient::new(&url)?)
}

async fn sign_in(
    local: &Local,
    trust: &Trust,
    platform: Option<String>,
    scopes: Option<String>,
    device_name: &str,
) -> anyhow::Result<()> {
    let store = local.store().await?;
    let client = platform_client(&store, platform).await?;
    let scopes = scopes.map(|s| Scopes::from_names(s.split(',').map(str::trim)));
    let auth = client
        .start_device_sign_in(device_name, scopes.as_ref())
        .await?;
    eprintln!(
        "open {} and approve the code {} (valid {} s)",
        auth.verification_uri_complete, auth.user_code, auth.expires_in
    );
    println!(
        "{}",
        serde_json::json!({"user_code": auth.user_code, "verification_uri_complete": auth.verification_uri_complete})
    );
    let issued = client.wait_for_approval(&auth, || false).await?;
    let verifier = trust.verifier()?;
    let secrets = local.secrets()?;
    let installed = account::install(
        &store,
        &secrets,
        &verifier,
        &issued.access_token,
        account::now(),
    )
    .await?;
    store.close().await;
    eprintln!(
        "signed in: the API key {} for account {} ({}) is in the {}",
        installed.claims.key_id,
        installed.claims.account_id,
        installed.claims.scopes,
        installed.backend
    );
    Ok(())
}

async fn refresh(local: &Local, trust: &Trust, platform: Option<String>) -> anyhow::Result<()> {
    let store = local.store().await?;
    let client = platform_client(&store, platform).await?;
    let mut verifier = trust.verifier()?;
    let status = account::refresh_from_platform(&store, &mut verifier, &client).await;
    store.close().await;
    for problem in &status.problems {
        eprintln!("warning: {problem}");
    }
    println!("{} revoked keys honoured", status.revoked);
    if status.problems.is_empty() {
        Ok(())
    } else {
        bail!("the revocation list could not be refreshed")
    }
}

async fn status(local: &Local, trust: &Trust) -> anyhow::Result<()> {
    let store = local.store().await?;
    let mut verifier = trust.verifier()?;
    let revocations =
        account::refresh_revocations(&store, &mut verifier, trust.source().as_ref()).await;
    let backend = local.backend()?;
    let state = account::load(
        &store,
        move || SecretStore::open(backend),
        &verifier,
        account::now(),
    )
    .await;
    let narrowed = account::narrowed_scopes(&store).await?;
    let (mode, granted, detail) = match &state {
        KeyState::Guest => ("guest", Scopes::guest(), serde_json::Value::Null),
        KeyState::Active(claims) => ("key", claims.scopes.clone(), describe(claims)),
        KeyState::Unusable { key_id, reason } => (
            "unusable",
            Scopes::default(),
            serde_json::json!({ "key_id": key_id, "reason": reason }),
        ),
    };
    let effective = match &narrowed {
        Some(n) => granted.narrow(n),
        None => granted,
    };
    let report = serde_json::json!({
        "mode": mode,
        "key": detail,
        "narrowed_to": narrowed,
        "effective_scopes": effective,
        "revoked_keys_known": revocations.revoked,
        "problems": revocations.problems,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
