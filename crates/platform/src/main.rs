//! `quantdesk-platform`: the QuantDesk website and API. With no subcommand it serves (SQLite in
//! its data dir by default, or `--database-url postgres://…`); `publish DIR` publishes a release
//! made by `cargo xtask release`; `rotate-key` replaces the signing key. Logs go to stderr; the
//! URL and the public key are printed on stdout when it starts.
#![allow(unused_crate_dependencies)] // the package's library uses the rest
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use quantdesk_platform::{Config, db::Db, publish, signing};

/// The QuantDesk platform: sign-up website, account keys, app sign-in (RFC 8628), revocations,
/// downloads and the updater feed.
#[derive(Debug, Parser)]
#[command(name = "quantdesk-platform", version, about)]
struct Cli {
    /// Where the signing key and (by default) the SQLite database live.
    #[arg(
        long,
        env = "QUANTDESK_PLATFORM_DATA_DIR",
        value_name = "DIR",
        global = true
    )]
    data_dir: Option<PathBuf>,
    /// PostgreSQL (postgres://user:pass@host:port/db) instead of SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", global = true)]
    database_url: Option<String>,
    /// The address to serve on.
    #[arg(
        long,
        env = "QUANTDESK_PLATFORM_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8787"
    )]
    listen: SocketAddr,
    /// The URL people reach this platform at (default http://ADDR:PORT).
    #[arg(long, env = "QUANTDESK_PLATFORM_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// SMTP server for mail (smtp://host:port, smtps://user:pass@host); without it, mail goes to the log.
    #[arg(long, env = "QUANTDESK_PLATFORM_SMTP_URL", value_name = "URL")]
    smtp_url: Option<String>,
    /// The From: of the platform's mail.
    #[arg(
        long,
        env = "QUANTDESK_PLATFORM_MAIL_FROM",
        default_value = "QuantDesk <no-reply@quantdesk.app>"
    )]
    mail_from: String,
    /// Behind a load balancer: the client address is the last X-Forwarded-For entry.
    #[arg(long, env = "QUANTDESK_PLATFORM_BEHIND_PROXY")]
    behind_proxy: bool,
    /// Seconds the app waits between polls in the device sign-in.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    device_poll_interval: i64,
    /// Log filter, e.g. info, debug.
    #[arg(long, env = "QUANTDESK_PLATFORM_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the website and API (the default).
    Serve,
    /// Publish the release in DIR (latest.json and the installers from `cargo xtask release`).
    Publish { dir: PathBuf },
    /// Replace the signing key; the old public key stays listed as retired.
    RotateKey,
    /// Serve the revocations recorded in a `quantdesk-keys` ledger (keys issued offline).
    ImportLedger { ledger: PathBuf },
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let base = directories::BaseDirs::new().context("no home directory: pass --data-dir")?;
    Ok(base.data_dir().join("quantdesk-platform"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .init();
    let data_dir = match cli.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir()?,
    };
    match cli.command {
        Some(Command::Publish { dir }) => {
            signing::create_private_dir(&data_dir)?;
            let url = cli
                .database_url
                .clone()
                .unwrap_or_else(|| Db::sqlite_url(&data_dir));
            let db = Db::open(&url).await?;
            let release = publish::publish(&db, &dir)
                .await
                .with_context(|| format!("publishing {}", dir.display()))?;
            for file in &release.files {
                println!(
                    "{}  {:>10}  {}  {}",
                    file.sha256,
                    file.size,
                    file.name,
                    file.platform.as_deref().unwrap_or("-")
                );
            }
            println!("published QuantDesk {}", release.version);
            db.close().await;
            Ok(())
        }
        Some(Command::ImportLedger { ledger }) => {
            let url = cli
                .database_url
                .clone()
                .unwrap_or_else(|| Db::sqlite_url(&data_dir));
            signing::create_private_dir(&data_dir)?;
            let db = Db::open(&url).await?;
            let entries: Vec<_> = quantdesk_keys::ledger::Ledger::load(&ledger)?
                .keys
                .into_iter()
                .filter_map(|e| Some((e.key_id, e.revoked_at?, e.expires_at)))
                .collect();
            let added = db.record_revocations(&entries).await?;
            println!("{added} new revocations of {} in the ledger", entries.len());
            db.close().await;
            Ok(())
        }
        Some(Command::RotateKey) => {
            let keys = signing::rotate(&data_dir)?;
            println!("{}", keys.issuer.public_key_text());
            eprintln!(
                "new signing key in {}; restart every instance with it, and ship the new public key in the app",
                data_dir.display()
            );
            Ok(())
        }
        None | Some(Command::Serve) => {
            let mut config = Config::new(data_dir);
            config.database_url = cli.database_url;
            config.listen = cli.listen;
            config.public_url = cli.public_url;
            config.smtp_url = cli.smtp_url;
            config.mail_from = cli.mail_from;
            config.behind_proxy = cli.behind_proxy;
            config.device_poll_interval = cli.device_poll_interval.clamp(1, 60);
            let running = quantdesk_platform::spawn(config)
                .await
                .context("starting the platform")?;
            println!("QuantDesk platform at {}", running.state.public_url);
            println!("public key: {}", running.state.issuer.public_key_text());
            tracing::info!(url = %running.state.public_url, db = ?running.state.db.backend(), "serving");
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            tracing::info!("stopping");
            running.stop().await;
            Ok(())
        }
    }
}
