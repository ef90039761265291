//! The platform's side, offline: the signing key pair, issuing, listing and the signed
//! revocation list.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use quantdesk_keys::account::{self};
use quantdesk_keys::ledger::{Ledger, LedgerEntry};
use quantdesk_keys::{Claims, Issuer, Scopes, key_hash, new_key_id, parse_rate_list, show_time};

pub(crate) fn keygen(out: &Path, force: bool) -> anyhow::Result<()> {
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

pub(crate) fn read_issuer(path: &Path) -> anyhow::Result<Issuer> {
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
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<i64> {
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

pub(crate) fn issue(
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

pub(crate) fn list(ledger: &Path, json: bool) -> anyhow::Result<()> {
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

pub(crate) fn revocations(
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
