//! A mirror's side: connects to the owner, keeps its quotes, asks it for minute bars.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quantdesk_domain::Bar;
use quantdesk_market::stream::LiveQuote;
use quantdesk_market::stream::hub::{ALPACA, COINBASE, FeedState, HubStatus};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

use crate::wire::{MAX_LINE, Msg, Role, VERSION, line, parse};
use crate::{Current, Inner, lock, socket_path};

/// How long the hello may take.
const HELLO_WITHIN: Duration = Duration::from_secs(5);
/// How long a request for minute bars may take before the answer is "none".
const BARS_WITHIN: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Seen {
    /// Per stream (`coinbase`, `alpaca-stream`): its state and reconnections.
    feeds: std::collections::BTreeMap<String, (FeedState, u64)>,
    last: Instant,
}

impl Seen {
    fn status(&self, source: &'static str) -> HubStatus {
        let (state, reconnects) = self
            .feeds
            .get(source)
            .cloned()
            .unwrap_or((FeedState::Connecting, 0));
        HubStatus {
            state,
            source,
            reconnects,
            silent_for: Some(self.last.elapsed()),
        }
    }
}

/// The owner's cache as this process sees it.
#[derive(Debug)]
pub(crate) struct Mirror {
    quotes: Mutex<HashMap<String, (LiveQuote, Instant)>>,
    seen: Mutex<Seen>,
    out: mpsc::UnboundedSender<Msg>,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Vec<Bar>>>>,
    next_id: AtomicU64,
}

impl Mirror {
    pub(crate) fn quote(&self, product: &str) -> Option<(LiveQuote, Duration)> {
        lock(&self.quotes)
            .get(product)
            .map(|(q, at)| (q.clone(), at.elapsed()))
    }

    pub(crate) fn send(&self, msg: Msg) {
        let _ = self.out.send(msg);
    }

    pub(crate) async fn minute_bars(&self, product: &str) -> Vec<Bar> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.waiting).insert(id, tx);
        self.send(Msg::GetBars {
            id,
            product: product.to_string(),
        });
        let bars = tokio::time::timeout(BARS_WITHIN, rx).await;
        lock(&self.waiting).remove(&id);
        match bars {
            Ok(Ok(bars)) => bars,
            _ => Vec::new(),
        }
    }

    pub(crate) fn status(&self) -> HubStatus {
        lock(&self.seen).status(COINBASE)
    }

    pub(crate) fn statuses(&self) -> Vec<HubStatus> {
        let s = lock(&self.seen);
        let mut out = vec![s.status(COINBASE)];
        if s.feeds.contains_key(ALPACA) {
            out.push(s.status(ALPACA));
        }
        out
    }

    fn apply(&self, msg: Msg) {
        lock(&self.seen).last = Instant::now();
        match msg {
            Msg::Quote { quote, age_us } => {
                let at = Instant::now()
                    .checked_sub(Duration::from_micros(age_us))
                    .unwrap_or_else(Instant::now);
                lock(&self.quotes).insert(quote.product.clone(), (quote, at));
            }
            Msg::State {
                source,
                state,
                reconnects,
            } => {
                lock(&self.seen)
                    .feeds
                    .insert(source, (state.into(), reconnects));
            }
            Msg::Bars { id, bars } => {
                if let Some(tx) = lock(&self.waiting).remove(&id) {
                    let _ = tx.send(bars.into_iter().map(Bar::from).collect());
                }
            }
            Msg::Minute { .. } => {}
            other => tracing::debug!(?other, "ignored from the live stream's owner"),
        }
    }
}

/// Says hello as `role`, reads the peer's; then hands the rest of the peer's lines to a reader
/// task, which ends (closing the channel) at the end of the stream or at an unreadable line.
pub(crate) async fn hello(
    read: OwnedReadHalf,
    writer: &mut BufWriter<OwnedWriteHalf>,
    role: Role,
) -> std::io::Result<(Role, mpsc::Receiver<Msg>)> {
    let (peer, mut reader) = greet(read, writer, role).await?;
    let (tx, rx) = mpsc::channel(1_024);
    tokio::spawn(async move {
        while let Ok(Some(msg)) = read_msg(&mut reader).await {
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    });
    Ok((peer, rx))
}

/// The hello exchange; the peer's role and the reader positioned after its hello.
async fn greet(
    read: OwnedReadHalf,
    writer: &mut BufWriter<OwnedWriteHalf>,
    role: Role,
) -> std::io::Result<(Role, BufReader<OwnedReadHalf>)> {
    let mut reader = BufReader::new(read);
    let hello = Msg::Hello {
        v: VERSION,
        role,
        pid: std::process::id(),
    };
    writer.write_all(line(&hello).as_bytes()).await?;
    writer.flush().await?;
    let theirs = tokio::time::timeout(HELLO_WITHIN, read_msg(&mut reader))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no hello"))??;
    let peer = match theirs {
        Some(Msg::Hello { v, role, .. }) if v == VERSION => role,
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("expected hello of version {VERSION}, got {other:?}"),
            ));
        }
    };
    Ok((peer, reader))
}

/// The next message; `None` at the end of the stream. A line that is not a message of this
/// version is skipped (logged); one longer than the limit ends the connection.
async fn read_msg(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<Msg>> {
    loop {
        let mut text = String::new();
        let n = (&mut *reader)
            .take(MAX_LINE as u64)
            .read_line(&mut text)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if !text.ends_with('\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a line over the limit",
            ));
        }
        match parse(&text) {
            Some(msg) => return Ok(Some(msg)),
            None => {
                tracing::warn!(line = %text.chars().take(200).collect::<String>(), "skipped an unreadable line")
            }
        }
    }
}

/// Mirrors the owner until it goes away (`Ok`); `Err` when there is no owner to reach.
pub(crate) async fn run(inner: &Arc<Inner>) -> std::io::Result<()> {
    let stream = UnixStream::connect(socket_path(&inner.data_dir)).await?;
    quantdesk_ipc::check_peer(&stream).map_err(std::io::Error::other)?;
    let (read, write) = stream.into_split();
    let mut writer = BufWriter::new(write);
    let (_, mut reader) = greet(read, &mut writer, inner.role).await?;
    let (out, mut outgoing) = mpsc::unbounded_channel();
    let mirror = Arc::new(Mirror {
        quotes: Mutex::new(HashMap::new()),
        seen: Mutex::new(Seen {
            feeds: Default::default(),
            last: Instant::now(),
        }),
        out,
        waiting: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    let watched: Vec<String> = lock(&inner.watched).iter().cloned().collect();
    if !watched.is_empty() {
        mirror.send(Msg::Watch { products: watched });
    }
    if inner.role == Role::App {
        mirror.send(Msg::TakeOver);
    }
    *lock(&inner.current) = Current::Mirror(mirror.clone());
    tracing::info!("mirroring the live stream of another QuantDesk process");
    // Each line goes into the mirror as it is read: no hop through another task on the way.
    let mut reading = {
        let mirror = mirror.clone();
        tokio::spawn(async move {
            while let Ok(Some(msg)) = read_msg(&mut reader).await {
                mirror.apply(msg);
            }
        })
    };
    loop {
        tokio::select! {
            _ = &mut reading => break,
            Some(msg) = outgoing.recv() => {
                let sent = async {
                    writer.write_all(line(&msg).as_bytes()).await?;
                    writer.flush().await
                };
                if sent.await.is_err() {
                    break;
                }
            }
        }
    }
    reading.abort();
    *lock(&inner.current) = Current::Electing;
    Ok(())
}
