//! The feed across chatd processes on one PostgreSQL: each process NOTIFYs its own
//! events on `chatd_events`, in order, through the relay's connection
//! (`replies/relay/listener.rs`), and adds the others' to its feed. A reconnect of
//! that connection is put in the feed as a gap (listeners get a `lagged`): what the
//! others announced meanwhile is lost, and is never left out silently.

use serde::{Deserialize, Serialize};

use super::{Event, Feed, Item};
use crate::replies::relay::listener::{Heard, Listener};

const CHANNEL: &str = "chatd_events";

/// An event as it travels between processes: `o` is the process that announced it.
#[derive(Debug, Serialize, Deserialize)]
struct Carried {
    o: String,
    e: Event,
}

impl Feed {
    /// Sends this process's events to the others and adds theirs, through `listener`;
    /// `me` tells this process's own notifications apart (LISTEN hears them too).
    pub fn relay_through(&self, listener: Listener, me: String) {
        let (outbox, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<Event>();
        *self
            .inner
            .outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outbox);
        let sender = listener.clone();
        let origin = me.clone();
        // One task sends them all, so they leave in the order they happened.
        tokio::spawn(async move {
            while let Some(event) = outgoing.recv().await {
                let carried = Carried {
                    o: origin.clone(),
                    e: event,
                };
                let Ok(payload) = serde_json::to_string(&carried) else {
                    continue;
                };
                if let Err(e) = sender.notify(CHANNEL, &payload).await {
                    // The others' listeners are told of a gap when theirs reconnects;
                    // a send refused here is a connection that is going.
                    tracing::debug!("events: not sent to the other processes: {e}");
                }
            }
        });
        let feed = self.clone();
        tokio::spawn(async move {
            let mut heard = listener.subscribe(CHANNEL).await;
            while let Some(item) = heard.recv().await {
                match item {
                    Heard::Note(payload) => match serde_json::from_str::<Carried>(&payload) {
                        Ok(carried) if carried.o != me => feed.push(Item::Event(carried.e)),
                        Ok(_) => {}
                        Err(e) => tracing::debug!("events: an unreadable notification: {e}"),
                    },
                    Heard::Reconnected => feed.push(Item::RelayGap),
                }
            }
        });
    }
}
