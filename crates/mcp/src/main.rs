//! `quantdesk-mcp`: the MCP server Claude Desktop launches over stdio. It exposes QuantDesk's
//! tools — market data now; trading, backtesting and analysis as they land — as thin handlers
//! over the library crates, and writes one audit-log entry per call.
//!
//! It must never write anything but the MCP protocol to stdout (logs go to stderr and a rotating
//! file in the data folder), never hold domain logic of its own, and never approve an order:
//! approvals come only from the person, through the desktop app.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod access;
mod input;
mod limits;
mod server;
mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use quantdesk_broker::{AlpacaBroker, Broker, LinkedAlpaca, PaperBroker, PaperConfig};
use quantdesk_keys::{RevocationSource, Verifier, account};
use quantdesk_live::alerts::Alerts;
use quantdesk_live::watch::{Stocks as WatchedStocks, Watcher};
use quantdesk_live::{Role as LiveRole, SharedLive};
use quantdesk_market::{
    AlpacaConfig, AlpacaFeed, AlpacaProvider, BundledProvider, CachedProvider, CoinbaseConfig,
    CoinbaseProvider, CryptoRouted, MarketData,
    stream::alpaca::AlpacaStreamConfig,
    stream::coinbase::FeedConfig,
    stream::hub::{AlpacaUpstream, Upstreams},
    stream::live::LiveCrypto,
    stream::stocks::{AlpacaClock, LiveStocks, MarketHours},
};
use quantdesk_secrets::SecretStore;
use quantdesk_store::Store;
use quantdesk_trading::Desk;
use rmcp::ServiceExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// mimalloc, not the system allocator: an analysis call allocates and frees output columns of
/// megabytes (three 8 MB columns for MACD or Bollinger Bands on 1,000,000 bars), which glibc's
/// malloc hands back to the OS on every free and then faults in again, page by page, on the next
/// call — more time than the arithmetic. mimalloc keeps such memory for reuse. The indicator
/// benchmark (`crates/quant/benches/indicators.rs`) declares the same allocator, so it measures
/// what this binary runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// QuantDesk's MCP server for Claude Desktop: market data, analysis, backtests and trading
/// inside your limits. Speaks MCP over stdio; logs go to stderr and <data-dir>/logs.
#[derive(Debug, Parser)]
#[command(name = "quantdesk-mcp", version, about)]
struct Cli {
    /// Folder holding the store and logs (default: the per-user data folder, shared with the app).
    #[arg(long, env = quantdesk_store::DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Where market data comes from.
    #[arg(long, env = "QUANTDESK_PROVIDER", value_enum, default_value_t = ProviderKind::Auto)]
    provider: ProviderKind,

    /// Where orders go: the account linked in the QuantDesk app (the default), the built-in
    /// paper broker, or Alpaca from the environment.
    #[arg(long, env = "QUANTDESK_BROKER", value_enum, default_value_t = BrokerKind::Auto)]
    broker: BrokerKind,

    /// Log filter, e.g. `info` or `quantdesk=debug`.
    #[arg(long, env = "QUANTDESK_LOG", default_value = "info")]
    log: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve MCP over stdio (what Claude Desktop runs; the default).
    Serve,
    /// Check the audit log's hash chain; prints a JSON report, exits 1 if it is broken.
    VerifyAudit,
    /// Show or move the paper broker's replay clock (offline paper trading; tests drive it).
    PaperClock {
        /// Move forward this many trading days.
        #[arg(long)]
        advance: Option<usize>,
        /// Move forward to this date (the first trading day on or after it).
        #[arg(long)]
        set: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BrokerKind {
    /// The Alpaca account linked in the QuantDesk app (key from the OS keychain), else the
    /// built-in paper broker.
    Auto,
    /// The built-in paper broker: simulated money, offline.
    Paper,
    /// Alpaca, through its Trading API, with the key from APCA_API_KEY_ID /
    /// APCA_API_SECRET_KEY (paper endpoint unless the person turned live trading on).
    Alpaca,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProviderKind {
    /// Crypto pairs live from Coinbase Exchange's public market data (no account;
    /// QUANTDESK_COINBASE_REST_URL overrides its endpoint); everything else from Alpaca Market
    /// Data with the linked account's key when an Alpaca account is linked in the QuantDesk app
    /// (its orders need current prices), else from the bundled history.
    Auto,
    /// Real daily history shipped with QuantDesk, crypto included; offline, no account.
    Bundled,
    /// Alpaca Market Data v2 with the account's key (APCA_API_KEY_ID / APCA_API_SECRET_KEY).
    Alpaca,
}

/// The Alpaca data provider with the key from the environment (`--provider alpaca`).
fn alpaca_from_env() -> anyhow::Result<AlpacaProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(key_id), Some(secret)) = (var("APCA_API_KEY_ID"), var("APCA_API_SECRET_KEY")) else {
        anyhow::bail!("--provider alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY");
    };
    alpaca_provider(key_id, secret, AlpacaFeed::default())
}

/// The Alpaca data provider with this key and `feed`; `QUANTDESK_ALPACA_DATA_URL` and
/// `QUANTDESK_ALPACA_FEED` override its endpoint and feed.
fn alpaca_provider(
    key_id: String,
    secret: String,
    feed: AlpacaFeed,
) -> anyhow::Result<AlpacaProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut config = AlpacaConfig::new(key_id, secret);
    config.feed = feed;
    if let Some(url) = var("QUANTDESK_ALPACA_DATA_URL") {
        config.data_url = url;
    }
    if let Some(feed) = var("QUANTDESK_ALPACA_FEED") {
        config.feed = feed.parse().context("QUANTDESK_ALPACA_FEED")?;
    }
    AlpacaProvider::new(config).context("configuring the Alpaca data provider")
}

/// The linked account's stock stream (`QUANTDESK_ALPACA_STREAM_URL`, `QUANTDESK_ALPACA_DATA_URL`
/// and `QUANTDESK_ALPACA_FEED` override Alpaca's endpoints and the IEX feed) with `data` filling
/// its gaps, and the account's market clock.
fn linked_stocks(
    linked: &LinkedAlpaca,
    data: Arc<dyn MarketData>,
) -> anyhow::Result<(AlpacaUpstream, Arc<dyn MarketHours>)> {
    let (key_id, secret) = (linked.key_id.expose(), linked.secret.expose());
    let config = AlpacaStreamConfig::from_env(key_id.into(), secret.into(), linked.link.feed)
        .context("configuring Alpaca's market data stream")?;
    let clock = AlpacaClock::new(&linked.link.base_url, key_id, secret)
        .context("configuring Alpaca's market clock")?;
    Ok((AlpacaUpstream { config, rest: data }, Arc::new(clock)))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // Everything this process creates (store, logs, reports) is its user's alone.
    quantdesk_store::private::restrict_new_files();
    let cli = Cli::parse();
    let data_dir = quantdesk_store::resolve_data_dir(cli.data_dir.clone())?;
    let _log_guard = init_logging(&data_dir, &cli.log)?;

    let keychain = quantdesk_secrets::Backend::from_env()?;
    let store = Store::open_desk(&data_dir, keychain)
        .await
        .with_context(|| format!("opening the QuantDesk store in {}", data_dir.display()))?;
    tracing::info!(at_rest = %store.at_rest(), "store opened");
    if let Some(Command::VerifyAudit) = cli.command {
        let report = store
            .verify_audit()
            .await
            .context("reading the audit log")?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        std::process::exit(if report.intact() { 0 } else { 1 });
    }
    // The account the person linked in the app, if the defaults leave the choice to it.
    let linked = if cli.broker == BrokerKind::Auto || cli.provider == ProviderKind::Auto {
        LinkedAlpaca::load(&store, SecretStore::from_env).await?
    } else {
        None
    };
    let desk_market: Arc<dyn MarketData> = match (cli.provider, &linked) {
        (ProviderKind::Bundled, _) | (ProviderKind::Auto, None) => Arc::new(BundledProvider::new()),
        (ProviderKind::Alpaca, _) => {
            Arc::new(CachedProvider::new(alpaca_from_env()?, store.clone()))
        }
        (ProviderKind::Auto, Some(l)) => Arc::new(CachedProvider::new(
            alpaca_provider(
                l.key_id.expose().into(),
                l.secret.expose().into(),
                l.link.feed,
            )?,
            store.clone(),
        )),
    };
    // What Claude reads: with the defaults, crypto pairs come live from Coinbase; the paper broker
    // trades them at the same live quotes (below).
    // Live prices come from the one stream of this data folder (`quantdesk_live`): the app's,
    // another sidecar's, or this one's if none runs.
    // With an Alpaca account linked, its market data stream carries the stocks asked for (one
    // connection per machine, through the same election), and stock prices come from it.
    let stocks = match (cli.provider, &linked) {
        (ProviderKind::Auto, Some(l)) => Some(linked_stocks(l, desk_market.clone())?),
        _ => None,
    };
    let (market, live, live_crypto): (Arc<dyn MarketData>, _, _) = match cli.provider {
        ProviderKind::Auto => {
            let coinbase = Arc::new(CoinbaseProvider::new(CoinbaseConfig::from_env()));
            let live = Arc::new(SharedLive::join_with(
                &data_dir,
                LiveRole::Sidecar,
                Upstreams {
                    coinbase: FeedConfig::from_env(),
                    coinbase_rest: coinbase.clone(),
                    alpaca: stocks.as_ref().map(|(upstream, _)| upstream.clone()),
                },
            ));
            let crypto: Arc<dyn MarketData> =
                Arc::new(LiveCrypto::new(coinbase.clone(), live.clone()));
            let watcher = Watcher::start(live.clone(), coinbase.clone(), store.clone())
                .await
                .context("reading the watchlist")?;
            let desk_stocks: Arc<dyn MarketData> = match &stocks {
                Some((_, hours)) => {
                    watcher.set_stocks(Some(WatchedStocks {
                        data: desk_market.clone(),
                        hours: hours.clone(),
                    }));
                    Arc::new(LiveStocks::new(
                        desk_market.clone(),
                        live.clone(),
                        hours.clone(),
                    ))
                }
                None => desk_market.clone(),
            };
            // Evaluated here only while this sidecar owns the stream (no app running).
            let alerts = Arc::new(Alerts::new(
                store.clone(),
                crypto.clone(),
                coinbase,
                live,
                format!("mcp:{}", std::process::id()),
            ));
            if stocks.is_some() {
                alerts.set_stocks(Some(desk_stocks.clone()));
            }
            alerts.clone().spawn();
            (
                Arc::new(CryptoRouted::new(crypto.clone(), desk_stocks)),
                Some((Arc::new(watcher), alerts)),
                Some(crypto),
            )
        }
        ProviderKind::Bundled | ProviderKind::Alpaca => (desk_market.clone(), None, None),
    };
    tracing::info!(data_dir = %data_dir.display(), provider = desk_market.name(), crypto = cli.provider == ProviderKind::Auto, "quantdesk-mcp starting");

    // Crypto pairs trade at the live stream's quotes; the rest on the replay clock.
    let mut paper = PaperBroker::new(store.clone(), desk_market.clone(), PaperConfig::default());
    if let Some(crypto) = live_crypto {
        paper = paper.with_live_crypto(crypto);
    }
    let paper = Arc::new(paper);
    if let Some(Command::PaperClock { advance, set }) = cli.command {
        if let Some(date) = set {
            paper.set_clock(date).await?;
        }
        if let Some(days) = advance {
            paper.advance_clock(days).await?;
        }
        println!("{}", serde_json::to_string(&paper.clock().await?)?);
        return Ok(());
    }
    let broker: Arc<dyn Broker> = match (cli.broker, &linked) {
        (BrokerKind::Paper, _) | (BrokerKind::Auto, None) => paper,
        (BrokerKind::Auto, Some(l)) => Arc::new(
            l.broker(store.clone(), desk_market.clone())
                .context("configuring the linked Alpaca account")?,
        ),
        (BrokerKind::Alpaca, _) => Arc::new(
            AlpacaBroker::from_env(store.clone(), desk_market.clone())
                .await
                .context("configuring the Alpaca broker")?,
        ),
    };
    let trading = Arc::new(trading_desk(&store, broker, &data_dir)?);
    tracing::info!(mode = %trading.mode_line(), "trading");
    {
        // Orders a killed sidecar left claimed but unrecorded are settled with the broker, in
        // the background so the sidecar answers `initialize` at once.
        let trading = trading.clone();
        tokio::spawn(async move {
            match trading.desk.reconcile().await {
                Ok(done) if !done.is_empty() => {
                    tracing::info!(
                        orders = done.len(),
                        "reconciled orders left by a stopped sidecar"
                    )
                }
                Ok(_) => {}
                Err(err) => tracing::error!(%err, "reconciling orders with the broker failed"),
            }
        });
    }

    let access = account_access(&store).await?;
    let mut server = server::QuantDeskServer::new(store.clone(), market, access, Some(trading));
    if let Some((watcher, alerts)) = live {
        server = server.with_live(watcher, alerts);
    }
    // Stdin is screened before rmcp reads it: a message nested too deep for serde_json would
    // otherwise be dropped without an answer (`limits`).
    let stdin = limits::screened_stdin(server.rejections());
    let running = server
        .serve((stdin, tokio::io::stdout()))
        .await
        .context("starting the MCP session on stdio")?;
    let reason = running.waiting().await.context("MCP session")?;
    tracing::info!(?reason, "quantdesk-mcp stopped");
    store.close().await;
    Ok(())
}

/// The trading desk over the broker in use, with the approval timings from the environment
/// (`QUANTDESK_APPROVAL_WAIT_SECS`, default 40; `QUANTDESK_APPROVAL_TTL_SECS`, default 900;
/// `QUANTDESK_RECONCILE_AFTER_SECS`, default 60: when a dead process's unrecorded send is taken over).
fn trading_desk(
    store: &Store,
    broker: Arc<dyn Broker>,
    data_dir: &std::path::Path,
) -> anyhow::Result<tools::trading::Trading> {
    let secs = |name: &str, default: u64| -> anyhow::Result<u64> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v.trim().parse().with_context(|| name.to_string()),
            _ => Ok(default),
        }
    };
    let ttl = secs("QUANTDESK_APPROVAL_TTL_SECS", 15 * 60)?;
    let stale = secs("QUANTDESK_RECONCILE_AFTER_SECS", 60)?;
    // An out-of-range number of seconds is a configuration error, not a reason to panic.
    let duration = |name: &str, secs: u64| {
        i64::try_from(secs)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .with_context(|| format!("{name}: {secs} seconds is out of range"))
    };
    let desk = Desk::new(store.clone(), broker, format!("mcp:{}", std::process::id()))
        .with_approval_ttl(duration("QUANTDESK_APPROVAL_TTL_SECS", ttl)?)
        .with_stale_after(duration("QUANTDESK_RECONCILE_AFTER_SECS", stale)?)
        .with_seal(seal_check(store));
    let mut trading = tools::trading::Trading::new(desk);
    trading.approval.wait =
        std::time::Duration::from_secs(secs("QUANTDESK_APPROVAL_WAIT_SECS", 40)?);
    trading.approval.data_dir = Some(data_dir.to_path_buf());
    Ok(trading)
}

/// The public half of the app's settings seal, from the keychain; `None` when there is none
/// (the guard then refuses orders if the store holds seals, and trades on plain rows if not).
fn seal_check(store: &Store) -> Option<quantdesk_guard::seal::SealCheck> {
    let name = quantdesk_guard::seal::check_name(store);
    let found = SecretStore::from_env().and_then(|s| s.get(&name));
    match found {
        Ok(Some(hex)) => match quantdesk_guard::seal::SealCheck::from_hex(hex.expose()) {
            Ok(check) => Some(check),
            Err(err) => {
                tracing::error!(%err, "the settings seal in the keychain is unreadable");
                None
            }
        },
        Ok(None) => None,
        Err(err) => {
            tracing::debug!(%err, "no keychain for the settings seal");
            None
        }
    }
}

/// The account key gate: the platform public key (`QUANTDESK_PUBLIC_KEY` overrides the built-in
/// one), the revocation lists (cached in the store, and `QUANTDESK_REVOCATIONS`), the keychain
/// (`QUANTDESK_KEYCHAIN`). A bad public key or keychain name is a configuration error and stops
/// the sidecar; a bad *key* does not: the sidecar starts and refuses every call with the reason.
async fn account_access(store: &Store) -> anyhow::Result<access::Access> {
    let mut verifier = Verifier::from_env().context(quantdesk_keys::PUBLIC_KEY_ENV)?;
    let keychain = quantdesk_secrets::Backend::from_env()?;
    let source = RevocationSource::from_env();
    let revocations = account::refresh_revocations(store, &mut verifier, source.as_ref()).await;
    for problem in &revocations.problems {
        tracing::warn!(%problem, "revocation list");
    }
    install_key_from_env(store, &verifier, keychain).await;
    Ok(access::Access::start(store, verifier, keychain).await)
}

/// Where a launcher that keeps the key itself hands it over: Claude Desktop passes the
/// `.mcpb` extension's (sensitive) API-key setting this way.
const API_KEY_ENV: &str = "QUANTDESK_API_KEY";

/// A key in `QUANTDESK_API_KEY` is installed as the app's sign-in does (verified, kept in the
/// keychain, only its id and hash in the store) unless it is already the key in use. A key
/// that does not verify is logged (never shown) and changes nothing.
async fn install_key_from_env(
    store: &Store,
    verifier: &Verifier,
    keychain: quantdesk_secrets::Backend,
) {
    let Some(key) = std::env::var(API_KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
    else {
        return;
    };
    let hash = quantdesk_keys::key_hash(key.trim());
    match store.active_account_key().await {
        Ok(Some(active)) if active.key_sha256 == hash => return,
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(%err, "{API_KEY_ENV}: the installed key could not be looked up");
            return;
        }
    }
    let secrets = match quantdesk_secrets::SecretStore::open(keychain) {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(%err, "{API_KEY_ENV}: no keychain to keep the key in");
            return;
        }
    };
    match account::install(store, &secrets, verifier, &key, account::now()).await {
        Ok(installed) => tracing::info!(
            key_id = %installed.claims.key_id,
            "{API_KEY_ENV}: API key installed"
        ),
        Err(err) => tracing::warn!(%err, "{API_KEY_ENV}: the key was not installed"),
    }
}

/// Logs to stderr (Claude Desktop shows it in its MCP log) and to a daily-rotated file in
/// `<data-dir>/logs`, keeping a week. Never stdout: that is the protocol.
fn init_logging(
    data_dir: &std::path::Path,
    filter: &str,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let log_dir = data_dir.join("logs");
    // The data folder first, so that it too is 0700 (the store tightens it again on open).
    quantdesk_store::private::create_private_dir(data_dir)
        .and_then(|()| quantdesk_store::private::create_private_dir(&log_dir))
        .with_context(|| format!("creating the log folder {}", log_dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("quantdesk-mcp")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&log_dir)
        .context("opening the log file")?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = || EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_filter(filter()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(file_writer)
                .with_ansi(false)
                .with_filter(filter()),
        )
        .try_init()
        .context("setting up logging")?;
    Ok(guard)
}
