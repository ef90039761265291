//! The live hub under a firehose (issue 16's speed lines): the stand-in Coinbase feed sends
//! 100,000 ticker frames over 1,000 products at 100,000 a second; the app's hub (the owner)
//! ingests them and serves them on its socket to a subscribed sidecar — here a client in this
//! process that speaks the socket's protocol and timestamps each quote as it reads it.
//! Printed: the hub's ingest rate and frames lost, the latency from the hub reading a frame off
//! the websocket to the sidecar reading its quote (median, p99; target p99 <= 2 ms; the stand-in
//! queue -> receive part is printed beside it, for the record), and the process's memory
//! growth with 1,000 streamed products (target <= 50 MB; the process also holds the stand-in
//! and the client, so this is an upper bound on the hub's share).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{GroundTruth, StandIn};
use quantdesk_live::wire::{Msg, Role as WireRole, VERSION, line, parse};
use quantdesk_live::{Part, Role, SharedLive, socket_path};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::{HubEvent, LiveHub};
use quantdesk_market::stream::live::LiveSource;
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider};
use rust_decimal::Decimal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PRODUCTS: usize = 1_000;
/// Rounds of one second each; verdicts take the middle one.
const ROUNDS: usize = 3;
const MESSAGES: usize = 100_000;
/// Frames queued per millisecond: 100,000 a second.
const PER_MS: usize = 100;
const P99_TARGET: Duration = Duration::from_millis(2);
const MEMORY_TARGET_MB: f64 = 50.0;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn product(i: usize) -> String {
    format!("P{i:04}-USD")
}

/// The price that encodes frame `seq` (exact in cents).
fn price(seq: usize) -> Decimal {
    Decimal::new(100_000 + seq as i64, 2)
}

fn seq_of(p: Decimal) -> Option<usize> {
    let cents = (p * Decimal::from(100)).trunc();
    usize::try_from(cents.mantissa() / 10i128.pow(cents.scale()) - 100_000).ok()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let before = rss_mb();
    let standin = StandIn::start_firehose(GroundTruth::standard())
        .await
        .expect("stand-in");
    let dir = tempfile::tempdir().expect("temp dir");
    let rest = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    }));
    let config = FeedConfig {
        url: standin.ws_url().to_string(),
        ..FeedConfig::default()
    };
    let products: Vec<String> = (0..PRODUCTS).map(product).collect();
    let owner = SharedLive::join(dir.path(), Role::App, config, rest);
    owner.watch(products.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    while owner.part() != Part::Owner || owner.quote(&products[0]).is_none() {
        assert!(Instant::now() < deadline, "the hub never streamed");
        standin.send_ticker(&products[0], Decimal::ONE, 1_796_083_200, 0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hub = owner.hub().expect("the owner's hub");

    // The subscribed sidecar: the socket's protocol, each quote timestamped on arrival.
    let stream = tokio::net::UnixStream::connect(socket_path(dir.path()))
        .await
        .expect("the hub's socket");
    let (read, mut write) = stream.into_split();
    let hello = Msg::Hello {
        v: VERSION,
        role: WireRole::Sidecar,
        pid: std::process::id(),
    };
    write
        .write_all(line(&hello).as_bytes())
        .await
        .expect("hello");
    let seen: Stamps = Arc::new(Mutex::new(vec![None; ROUNDS * MESSAGES]));
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                if let Some(Msg::Quote { quote, .. }) = parse(&text) {
                    let at = Instant::now();
                    if let Some(seq) = seq_of(quote.price).filter(|s| *s < ROUNDS * MESSAGES) {
                        seen.lock().expect("seen")[seq] = Some(at);
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut rounds = Vec::new();
    for r in 0..ROUNDS {
        rounds.push(round(r, &standin, &hub, &seen, &products).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let after = rss_mb();
    reader.abort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (r, x) in rounds.iter().enumerate() {
        println!(
            "live hub: round {}: {MESSAGES} frames over {PRODUCTS} products queued in {:.2} s; \
             hub ingested {} at {:.0}/s; sidecar read {} ({} lost); frame received -> visible in \
             the sidecar median {:.2} ms, p99 {:.2} ms (stand-in queued -> received p99 {:.2} ms)",
            r + 1,
            x.sent_in.as_secs_f64(),
            x.ingested,
            x.rate,
            x.received,
            MESSAGES - x.received,
            ms(x.median),
            ms(x.p99),
            ms(x.standin_p99),
        );
    }
    // The verdicts take the middle round (the machine is shared; one round can be unlucky).
    let mut by_p99: Vec<&Round> = rounds.iter().collect();
    by_p99.sort_by_key(|x| x.p99);
    let mid = by_p99[ROUNDS / 2];
    println!(
        "live hub: frame received -> visible in a subscribed sidecar, middle round: p99 {:.2} ms \
         (target <= {} ms): {}",
        ms(mid.p99),
        P99_TARGET.as_millis(),
        if mid.p99 <= P99_TARGET && mid.received == MESSAGES {
            "MET"
        } else {
            "MISSED"
        }
    );
    let mut by_rate: Vec<&Round> = rounds.iter().collect();
    by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let mid = by_rate[ROUNDS / 2];
    println!(
        "live hub: ingest, middle round: {} of {MESSAGES} at {:.0} frames/s (target 100,000/s \
         sustained): {}",
        mid.ingested,
        mid.rate,
        if mid.ingested == MESSAGES && mid.rate >= 95_000.0 {
            "MET"
        } else {
            "MISSED"
        }
    );
    let memory = after - before;
    println!(
        "live hub: memory with {PRODUCTS} products streamed: +{memory:.1} MB for the whole \
         process (target <= {MEMORY_TARGET_MB} MB): {}",
        if memory <= MEMORY_TARGET_MB {
            "MET"
        } else {
            "MISSED"
        }
    );
    drop(hub);
    drop(owner);
    drop(standin);
}

type Stamps = Arc<Mutex<Vec<Option<Instant>>>>;

#[derive(Debug)]
struct Round {
    sent_in: Duration,
    ingested: usize,
    rate: f64,
    received: usize,
    median: Duration,
    p99: Duration,
    standin_p99: Duration,
}

fn quantile(mut d: Vec<Duration>, p: usize) -> Duration {
    d.sort();
    d.get(d.len() * p / 100).copied().unwrap_or(Duration::MAX)
}

/// One second of the firehose: frames `r·MESSAGES ..` at 100 a millisecond.
async fn round(
    r: usize,
    standin: &StandIn,
    hub: &LiveHub,
    seen: &Stamps,
    products: &[String],
) -> Round {
    let base = r * MESSAGES;
    let mut events = hub.events();
    let counted = tokio::spawn(async move {
        let mut at_hub = vec![None; MESSAGES];
        let (mut n, mut first, mut last) = (0usize, None, None);
        let end = Instant::now() + Duration::from_secs(30);
        while n < MESSAGES && Instant::now() < end {
            match tokio::time::timeout(Duration::from_secs(2), events.recv()).await {
                Ok(Ok(HubEvent::Quote { at, quote })) => {
                    let Some(seq) = seq_of(quote.price).and_then(|s| s.checked_sub(base)) else {
                        continue;
                    };
                    if seq < MESSAGES {
                        at_hub[seq] = Some(at);
                        n += 1;
                        first.get_or_insert(at);
                        last = Some(at);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(k))) => n += k as usize,
                Ok(Err(_)) | Err(_) => break,
            }
        }
        (n, first, last, at_hub)
    });
    let mut queued = Vec::with_capacity(MESSAGES);
    let started = Instant::now();
    for i in 0..MESSAGES {
        if i % PER_MS == 0 {
            let due = started + Duration::from_millis((i / PER_MS) as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
        }
        queued.push(Instant::now());
        let seq = base + i;
        standin.send_ticker(
            &products[seq % PRODUCTS],
            price(seq),
            1_796_083_260,
            seq as u64 + 1,
        );
    }
    let sent_in = started.elapsed();
    let (ingested, first, last, at_hub) = counted.await.expect("counter");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen: Vec<Option<Instant>> = seen.lock().expect("seen")[base..base + MESSAGES].to_vec();
    let out: Vec<Duration> = at_hub
        .iter()
        .zip(&seen)
        .filter_map(|(h, s)| Some(s.as_ref()?.saturating_duration_since(*h.as_ref()?)))
        .collect();
    let inbound: Vec<Duration> = queued
        .iter()
        .zip(&at_hub)
        .filter_map(|(q, h)| Some(h.as_ref()?.saturating_duration_since(*q)))
        .collect();
    let rate = match (first, last) {
        (Some(f), Some(l)) => ingested as f64 / l.duration_since(f).as_secs_f64().max(1e-9),
        _ => 0.0,
    };
    Round {
        sent_in,
        ingested,
        rate,
        received: seen.iter().filter(|s| s.is_some()).count(),
        median: quantile(out.clone(), 50),
        p99: quantile(out, 99),
        standin_p99: quantile(inbound, 99),
    }
}
