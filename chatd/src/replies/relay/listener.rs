//! The one `tokio-postgres` connection per chatd process that LISTENs (diesel has no
//! async LISTEN) and also sends this process's NOTIFYs, so what one process publishes
//! leaves in order. It reconnects with a bounded backoff for as long as chatd runs, and
//! tells every subscriber of a reconnect: notifications sent while it was away are
//! lost, and only the subscriber knows how to catch up (from a checkpoint, or by
//! telling its own client that it lagged).
//!
//! Channels are listened to while someone subscribes to them. LISTEN and UNLISTEN take
//! turns on one lane, so an UNLISTEN of the last subscriber never lands after the
//! LISTEN of a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};
use tokio_util::sync::CancellationToken;

/// Notifications kept per channel for a subscriber that has not read them yet; past
/// it the subscriber is told it lagged and catches up as after a reconnect.
const CHANNEL_BUFFER: usize = 1024;
/// The first and the longest wait between two connection attempts.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long one connection attempt (or one LISTEN) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most notifications sent in one statement, and about the most bytes of payload
/// (one payload is under 8000 bytes, so a batch ends at most that much past it).
const NOTIFY_BATCH: usize = 64;
const NOTIFY_BATCH_BYTES: usize = 128 * 1024;

/// What a subscriber hears on its channel.
#[derive(Debug, Clone)]
pub enum Heard {
    /// A notification's payload.
    Note(Arc<str>),
    /// The connection was lost and is back, listening again: whatever was sent
    /// meanwhile is lost.
    Reconnected,
}

#[derive(Debug)]
struct Channel {
    tx: broadcast::Sender<Heard>,
    users: usize,
    /// Whether the current connection has LISTENed to it.
    listening: bool,
}

/// The current connection's sending side.
#[derive(Debug)]
struct Connected {
    client: Client,
    /// The notifications of one batch (`send_notifications`) in one statement,
    /// prepared once: sent as text, each NOTIFY cost a `Parse` and a round trip of its
    /// own before it could run.
    notify: Statement,
}

/// A notification waiting for the next batch, and who waits for it to be sent.
#[derive(Debug)]
struct Outgoing {
    channel: String,
    payload: String,
    sent: oneshot::Sender<Result<(), String>>,
}

#[derive(Debug)]
struct Inner {
    config: tokio_postgres::Config,
    client: Mutex<Option<Arc<Connected>>>,
    channels: Mutex<HashMap<String, Channel>>,
    /// LISTEN and UNLISTEN take turns here.
    lane: tokio::sync::Mutex<()>,
    /// Notifications to send, in the order they were asked for (`send_notifications`).
    outbox: mpsc::UnboundedSender<Outgoing>,
}

/// This process's LISTEN/NOTIFY connection.
#[derive(Debug, Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

/// One subscriber of one channel; dropping it stops listening when it was the last.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Heard>,
    channel: String,
    listener: Listener,
}

impl Subscription {
    /// The next thing heard; a subscriber that fell behind hears `Reconnected` (it
    /// missed notifications just as over a reconnect). `None` when the listener is gone.
    pub async fn recv(&mut self) -> Option<Heard> {
        match self.rx.recv().await {
            Ok(heard) => Some(heard),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Heard::Reconnected),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let listener = self.listener.clone();
        let channel = std::mem::take(&mut self.channel);
        {
            let mut channels = listener.channels();
            if let Some(entry) = channels.get_mut(&channel) {
                entry.users = entry.users.saturating_sub(1);
            }
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { listener.unlisten_if_unused(&channel).await });
        }
    }
}

impl Listener {
    /// Starts connecting to the database of `url` as `application_name` (which lets an
    /// operator, or a test, find this connection in `pg_stat_activity`); runs until
    /// `stop` is cancelled.
    pub fn start(
        url: &str,
        application_name: &str,
        stop: CancellationToken,
    ) -> Result<Listener, String> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("the database URL cannot be used for LISTEN: {e}"))?;
        config.application_name(application_name);
        config.connect_timeout(CONNECT_TIMEOUT);
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let listener = Listener {
            inner: Arc::new(Inner {
                config,
                client: Mutex::new(None),
                channels: Mutex::new(HashMap::new()),
                lane: tokio::sync::Mutex::new(()),
                outbox,
            }),
        };
        let this = listener.clone();
        let sender_stop = stop.clone();
        tokio::spawn(async move { this.run(stop).await });
        let this = listener.clone();
        tokio::spawn(async move { this.send_notifications(outgoing, sender_stop).await });
        Ok(listener)
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        // Every update is a single insert, remove or field change.
        self.inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn client(&self) -> Option<Arc<Connected>> {
        self.inner
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_client(&self, client: Option<Arc<Connected>>) {
        *self
            .inner
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = client;
    }

    /// Subscribes to `channel` (a lowercase SQL identifier chatd makes), listening to
    /// it once the connection is up. Answers after the LISTEN when connected, so a
    /// notification sent after this returns is heard.
    pub async fn subscribe(&self, channel: &str) -> Subscription {
        let rx = {
            let mut channels = self.channels();
            let entry = channels
                .entry(channel.to_string())
                .or_insert_with(|| Channel {
                    tx: broadcast::channel(CHANNEL_BUFFER).0,
                    users: 0,
                    listening: false,
                });
            entry.users += 1;
            entry.tx.subscribe()
        };
        let subscription = Subscription {
            rx,
            channel: channel.to_string(),
            listener: self.clone(),
        };
        let _lane = self.inner.lane.lock().await;
        let needs_listen = self
            .channels()
            .get(channel)
            .is_some_and(|entry| !entry.listening);
        if needs_listen && let Some(connected) = self.client() {
            let sql = format!("LISTEN {channel}");
            if let Ok(Ok(())) =
                tokio::time::timeout(CONNECT_TIMEOUT, connected.client.batch_execute(&sql)).await
                && let Some(entry) = self.channels().get_mut(channel)
            {
                entry.listening = true;
            }
            // Otherwise the connection is going: the reconnect listens to it.
        }
        subscription
    }

    async fn unlisten_if_unused(&self, channel: &str) {
        let _lane = self.inner.lane.lock().await;
        let listening = {
            let mut channels = self.channels();
            match channels.get(channel) {
                Some(entry) if entry.users == 0 => channels.remove(channel).map(|e| e.listening),
                _ => None,
            }
        };
        if listening == Some(true)
            && let Some(connected) = self.client()
        {
            let sql = format!("UNLISTEN {channel}");
            let _ =
                tokio::time::timeout(CONNECT_TIMEOUT, connected.client.batch_execute(&sql)).await;
        }
    }

    /// Sends `payload` on `channel`; an error when the connection is down (the
    /// receivers then catch up as after a lost notification).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), String> {
        let (sent, answer) = oneshot::channel();
        let outgoing = Outgoing {
            channel: channel.to_string(),
            payload: payload.to_string(),
            sent,
        };
        if self.inner.outbox.send(outgoing).is_err() {
            return Err("chatd is stopping".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("chatd is stopping".into()))
    }

    /// Sends the notifications asked for, in order, as many in one statement (and so
    /// one transaction) as have queued while the last statement ran. Each NOTIFY on its
    /// own was a transaction of the server's: seven per chat, half of all a chat's
    /// statements, at hundreds of chats a second. A lone notification still leaves at
    /// once. Notifications of one transaction reach each listener in the order sent,
    /// as those of one connection did.
    async fn send_notifications(
        self,
        mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
        stop: CancellationToken,
    ) {
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                first = outgoing.recv() => match first {
                    Some(first) => first,
                    None => return,
                },
            };
            let mut bytes = first.channel.len() + first.payload.len();
            let mut batch = vec![first];
            while batch.len() < NOTIFY_BATCH && bytes < NOTIFY_BATCH_BYTES {
                match outgoing.try_recv() {
                    Ok(next) => {
                        bytes += next.channel.len() + next.payload.len();
                        batch.push(next);
                    }
                    Err(_) => break,
                }
            }
            let result = self.send_batch(&batch).await;
            for sent in batch {
                let _ = sent.sent.send(result.clone());
            }
        }
    }

    async fn send_batch(&self, batch: &[Outgoing]) -> Result<(), String> {
        let connected = self.client().ok_or("the LISTEN connection is down")?;
        let channels: Vec<&str> = batch.iter().map(|o| o.channel.as_str()).collect();
        let payloads: Vec<&str> = batch.iter().map(|o| o.payload.as_str()).collect();
        match tokio::time::timeout(
            CONNECT_TIMEOUT,
            connected
                .client
                .execute(&connected.notify, &[&channels, &payloads]),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("NOTIFY took over 5 s".into()),
        }
    }

    /// Connects, listens, relays notifications until the connection closes, and again;
    /// the backoff doubles from 50 ms to 2 s and starts over after each good connection.
    async fn run(self, stop: CancellationToken) {
        let mut backoff = BACKOFF_FIRST;
        let mut connected_before = false;
        while !stop.is_cancelled() {
            let connected = tokio::select! {
                _ = stop.cancelled() => return,
                connected = self.inner.config.connect(NoTls) => connected,
            };
            let (client, mut connection) = match connected {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(
                        "relay: cannot connect to PostgreSQL for LISTEN (again in {} ms): {e}",
                        backoff.as_millis()
                    );
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            let closed = CancellationToken::new();
            let this = self.clone();
            let on_close = closed.clone();
            // The connection object does the socket's work; the client only sends.
            let driver = tokio::spawn(async move {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(message) = messages.next().await {
                    match message {
                        Ok(AsyncMessage::Notification(note)) => {
                            this.dispatch(note.channel(), Heard::Note(note.payload().into()))
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("relay: the LISTEN connection failed: {e}");
                            break;
                        }
                    }
                }
                on_close.cancel();
            });
            let connected = match tokio::time::timeout(CONNECT_TIMEOUT, prepare(client)).await {
                Ok(Ok(connected)) => Arc::new(connected),
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "it took over 5 s".into(),
                    };
                    tracing::warn!(
                        "relay: cannot set up the NOTIFY connection (again in {} ms): {why}",
                        backoff.as_millis()
                    );
                    driver.abort();
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            self.listen_all(&connected.client).await;
            self.set_client(Some(connected));
            if connected_before {
                tracing::info!("relay: the LISTEN connection is back");
                self.tell_all(Heard::Reconnected);
            }
            connected_before = true;
            backoff = BACKOFF_FIRST;
            tokio::select! {
                _ = stop.cancelled() => {
                    driver.abort();
                    return;
                }
                _ = closed.cancelled() => {}
            }
            self.set_client(None);
            for entry in self.channels().values_mut() {
                entry.listening = false;
            }
            // Subscribers learn of the loss at once, not only once it is back: one that
            // asks for a catch-up meanwhile gets its answer by other means.
            self.tell_all(Heard::Reconnected);
        }
    }

    async fn listen_all(&self, client: &Client) {
        let _lane = self.inner.lane.lock().await;
        let names: Vec<String> = self.channels().keys().cloned().collect();
        for name in names {
            let sql = format!("LISTEN {name}");
            if let Ok(Ok(())) =
                tokio::time::timeout(CONNECT_TIMEOUT, client.batch_execute(&sql)).await
                && let Some(entry) = self.channels().get_mut(&name)
            {
                entry.listening = true;
            }
        }
    }

    fn dispatch(&self, channel: &str, heard: Heard) {
        if let Some(entry) = self.channels().get(channel) {
            // No receiver left is not an error: the subscriber just went.
            let _ = entry.tx.send(heard);
        }
    }

    fn tell_all(&self, heard: Heard) {
        for entry in self.channels().values() {
            let _ = entry.tx.send(heard.clone());
        }
    }
}

/// Readies a new connection for sending. A notification does not outlive a server
/// crash whatever the commit waits for, so its commit does not wait for the WAL flush:
/// NOTIFY takes a transaction id, and with the server's default each one had waited
/// for an fsync of its own, several per chat.
async fn prepare(client: Client) -> Result<Connected, tokio_postgres::Error> {
    client.batch_execute("SET synchronous_commit = off").await?;
    // `unnest` yields the pairs in array order, and the notifications are queued, so
    // delivered, in that order.
    let notify = client
        .prepare("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)")
        .await?;
    Ok(Connected { client, notify })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notifications asked for together leave in batches, and each channel still hears
    /// its own in the order they were asked for.
    #[tokio::test]
    async fn notifications_sent_together_arrive_in_order_on_each_channel() {
        let Ok(url) = std::env::var("CHATD_TEST_POSTGRES_URL") else {
            eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
            return;
        };
        let stop = CancellationToken::new();
        let listener = Listener::start(&url, "chatd-listener-test", stop.clone()).unwrap();
        let names: Vec<String> = (0..2)
            .map(|i| format!("chatd_order_{}_{i}", std::process::id()))
            .collect();
        // Subscribing answers once the channel is listened to, after connecting.
        let mut heard = Vec::new();
        for name in &names {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while listener.client().is_none() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            heard.push(listener.subscribe(name).await);
        }
        let each = 150;
        let sends = (0..each * names.len()).map(|i| {
            let listener = listener.clone();
            let channel = names[i % names.len()].clone();
            let payload = format!("{} {}", i / names.len(), "x".repeat(i % 7 * 900));
            async move { listener.notify(&channel, &payload).await }
        });
        for sent in futures_util::future::join_all(sends).await {
            sent.unwrap();
        }
        for subscription in &mut heard {
            for expected in 0..each {
                let note = tokio::time::timeout(Duration::from_secs(10), subscription.recv())
                    .await
                    .expect("the notification arrived in time");
                match note {
                    Some(Heard::Note(text)) => {
                        let number = text.split(' ').next().unwrap();
                        assert_eq!(number, expected.to_string());
                    }
                    other => panic!("heard {other:?}"),
                }
            }
        }
        stop.cancel();
    }
}
