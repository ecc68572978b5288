//! Stopping the replies on conversations that are about to be deleted, and on those
//! just deleted: a delete runs after the replies it stops have ended, and a chat that
//! began in between is cancelled, so nothing of either is stored afterwards (its final
//! write finds the conversation gone).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::{Replies, Reply};

impl Replies {
    /// Stops the replies running on these conversations and waits (up to 10 s) until
    /// each has ended and stored what it generated: a delete runs after them, not
    /// beside them. A reply that has ended and waits to be stored is left to its retries,
    /// which find the conversation gone and store nothing.
    pub async fn stop_all(&self, conversation_ids: &HashSet<i64>) {
        let stopping = self.cancel_all(conversation_ids);
        let all_ended = futures_util::future::join_all(stopping.iter().map(|reply| {
            let mut listener = reply.subscribe();
            async move {
                let _ = listener.wait_for(|state| state.end.is_some()).await;
            }
        }));
        if tokio::time::timeout(Duration::from_secs(10), all_ended)
            .await
            .is_err()
        {
            tracing::warn!("a reply stopped for a delete took over 10 s to end");
        }
    }

    /// Asks every reply running on these conversations to stop; returns them.
    pub fn cancel_all(&self, conversation_ids: &HashSet<i64>) -> Vec<Arc<Reply>> {
        let running: Vec<Arc<Reply>> = self
            .registry()
            .in_flight
            .iter()
            .filter(|(id, _)| conversation_ids.contains(id))
            .filter_map(|(_, reply)| reply.clone())
            .filter(|reply| reply.state.borrow().end.is_none())
            .collect();
        for reply in &running {
            reply.cancel.cancel();
        }
        running
    }
}
