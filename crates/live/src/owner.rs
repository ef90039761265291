//! The owner's side: runs the hub and serves its cache to every mirror that connects.

use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use quantdesk_market::stream::hub::{HubEvent, LiveHub};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;

use crate::wire::{Msg, Role, WireBar, WireState, line};
use crate::{Current, Inner, client::hello, lock, socket_path};

/// Owns the stream until another process (the app) takes it over: `true` then, `false` when
/// the socket could not be served (the lock is let go so another process can try).
pub(crate) async fn run(inner: &Arc<Inner>, held: File) -> bool {
    let path = socket_path(&inner.data_dir);
    // Holding the lock, any socket there was left by an owner that died.
    let _ = std::fs::remove_file(&path);
    let listener = match bind(&path) {
        Ok(l) => l,
        Err(err) => {
            tracing::error!(%err, path = %path.display(), "cannot serve the live stream");
            drop(held);
            tokio::time::sleep(Duration::from_secs(1)).await;
            return false;
        }
    };
    let products: Vec<String> = lock(&inner.watched).iter().cloned().collect();
    let hub = {
        // Held until this process is the owner, so an account linked meanwhile is not missed.
        let upstreams = lock(&inner.upstreams);
        let hub = Arc::new(LiveHub::start_with(upstreams.clone(), products));
        *lock(&inner.current) = Current::Owner(hub.clone());
        hub
    };
    tracing::info!(path = %path.display(), "this process owns the live stream");
    let (take_over, mut asked) = mpsc::channel::<()>(1);
    let mut mirrors = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Err(err) = quantdesk_ipc::check_peer(&stream) {
                        tracing::warn!(%err, "refused a mirror of the live stream");
                        continue;
                    }
                    mirrors.spawn(serve(stream, hub.clone(), take_over.clone(), inner.role));
                }
                Err(err) => tracing::warn!(%err, "accepting a mirror of the live stream failed"),
            },
            _ = asked.recv() => break,
            Some(_) = mirrors.join_next(), if !mirrors.is_empty() => {}
        }
    }
    tracing::info!("handing the live stream over to the app");
    mirrors.abort_all();
    drop(listener);
    let _ = std::fs::remove_file(&path);
    *lock(&inner.current) = Current::Electing;
    drop(hub);
    drop(held);
    true
}

fn bind(path: &std::path::Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Every quote the hub has, with its age.
fn snapshot(hub: &LiveHub) -> Vec<Msg> {
    let mut out: Vec<Msg> = hub
        .statuses()
        .into_iter()
        .map(|status| Msg::State {
            source: status.source.to_string(),
            state: WireState::from(&status.state),
            reconnects: status.reconnects,
        })
        .collect();
    out.extend(hub.quotes().into_iter().map(|(quote, age)| Msg::Quote {
        quote,
        age_us: age.as_micros() as u64,
    }));
    out
}

/// A hub change as a message to a mirror.
fn to_wire(event: HubEvent, hub: &LiveHub) -> Msg {
    match event {
        HubEvent::Quote { quote, at } => Msg::Quote {
            quote,
            age_us: at.elapsed().as_micros() as u64,
        },
        HubEvent::Minute { product } => Msg::Minute { product },
        HubEvent::State { source, state } => Msg::State {
            source: source.to_string(),
            state: WireState::from(&state),
            reconnects: hub
                .statuses()
                .iter()
                .find(|s| s.source == source)
                .map_or(0, |s| s.reconnects),
        },
    }
}

/// One mirror: the cache as it is, then every change, and answers to its requests.
async fn serve(stream: UnixStream, hub: Arc<LiveHub>, take_over: mpsc::Sender<()>, role: Role) {
    let (read, write) = stream.into_split();
    let mut writer = BufWriter::new(write);
    let Ok((peer, mut incoming)) = hello(read, &mut writer, role).await else {
        return;
    };
    // Subscribed before the snapshot is read, so no change falls between the two.
    let mut events = hub.events();
    let mut pending = snapshot(&hub);
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        // Everything waiting goes out in one write: at 100,000 quotes a second a write (and a
        // wake-up of the reader) per quote would be most of the work.
        batch.clear();
        for msg in pending.drain(..) {
            batch.extend_from_slice(line(&msg).as_bytes());
        }
        if !batch.is_empty()
            && (writer.write_all(&batch).await.is_err() || writer.flush().await.is_err())
        {
            return;
        }
        tokio::select! {
            event = events.recv() => {
                let mut next = Some(event);
                // Take what else is already there, up to a bound, into the same write.
                while let Some(event) = next.take() {
                    match event {
                        Ok(e) => pending.push(to_wire(e, &hub)),
                        // Too slow to follow every change: the cache as it is now instead.
                        Err(broadcast::error::RecvError::Lagged(_)) => pending = snapshot(&hub),
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    if pending.len() < 512 {
                        next = match events.try_recv() {
                            Ok(e) => Some(Ok(e)),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                Some(Err(broadcast::error::RecvError::Lagged(n)))
                            }
                            Err(_) => None,
                        };
                    }
                }
            },
            msg = incoming.recv() => match msg {
                None => return,
                Some(Msg::Watch { products }) => hub.watch(products),
                Some(Msg::Unwatch { products }) => hub.unwatch(products),
                Some(Msg::GetBars { id, product }) => pending.push(Msg::Bars {
                    id,
                    bars: hub.minute_bars(&product).iter().map(WireBar::from).collect(),
                }),
                Some(Msg::TakeOver) if peer == Role::App => {
                    let _ = take_over.try_send(());
                }
                Some(other) => tracing::debug!(?other, "ignored from a mirror"),
            },
        }
    }
}
