//! The one owner of the rule "one reply at a time per conversation" across processes:
//! the reply lease row every chatd sharing a database takes before it generates a
//! reply. It mints this process's name in the leases, refreshes them (the
//! checkpointer's heartbeat) and judges whether another holder is still alive; the
//! store only runs the SQL. Within this process the registry's slot (`mod.rs`) keeps
//! the same rule without a query; the lease is what other processes see.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::NaiveDateTime;

use super::{Replies, Reply};
use crate::store::lease::Generated;
use crate::store::{BeginChat, LeaseJudge, LeaseRow, Store, StoreError, UserTurn, now};

/// A reply whose owner has not refreshed its lease for this long is taken to be dead.
pub const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How often leases are refreshed at the least; well under `STALE_AFTER`.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Replies checkpointed per transaction (see `checkpoint_once`).
const CHECKPOINT_CHUNK: usize = 256;

/// This process's name in leases, `host/pid/random`: another process on the same host
/// can tell from the pid whether it has died, and the random part tells this run from
/// an earlier process that had the same pid.
#[derive(Debug)]
struct Owner {
    name: String,
    host: String,
    pid: u32,
}

impl Owner {
    fn mint() -> Owner {
        let host = host_name();
        let pid = std::process::id();
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        Owner {
            name: format!("{host}/{pid}/{}", crate::hex(&nonce)),
            host,
            pid,
        }
    }

    /// Whether the lease of `holder`, last refreshed at `refreshed`, is dead. Asked by
    /// a caller that holds this process's own reservation of the conversation, so a
    /// lease in this process's name has no reply in memory behind it (its final write
    /// failed and nothing retried it, or it was left by a bug): it is stale at once,
    /// with no restart.
    fn judges_dead(&self, holder: &str, refreshed: NaiveDateTime, at: NaiveDateTime) -> bool {
        if holder == self.name {
            return true;
        }
        if at - refreshed > STALE_AFTER {
            return true;
        }
        let mut parts = holder.split('/');
        let (Some(their_host), Some(their_pid)) = (parts.next(), parts.next()) else {
            return false;
        };
        if their_host != self.host {
            // Another machine: only the age can tell.
            return false;
        }
        let Ok(their_pid) = their_pid.parse::<u32>() else {
            return false;
        };
        // Same machine: a process that is gone, or whose pid is now ours (an earlier
        // run, as in a container where chatd is always pid 1), is dead.
        their_pid == self.pid || !pid_is_alive(their_pid)
    }
}

impl LeaseJudge for Owner {
    fn owner(&self) -> &str {
        &self.name
    }

    fn is_dead(&self, lease: &LeaseRow) -> bool {
        self.judges_dead(&lease.owner, lease.updated_at, now())
    }
}

/// The host's name, as every process on it reads it; `unknown-host` if it has none.
fn host_name() -> String {
    #[cfg(unix)]
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .trim()
        .to_string();
    #[cfg(not(unix))]
    let name = std::env::var("COMPUTERNAME").unwrap_or_default();
    if name.is_empty() {
        "unknown-host".into()
    } else {
        name
    }
}

/// Whether a process with this pid exists on this host. `kill(pid, 0)` sends nothing
/// and asks the kernel only whether the pid exists: ESRCH is the one answer that means
/// it does not; EPERM means it exists under another user. Anything unclear counts as
/// alive, so a live peer is never judged dead (its lease then goes stale by age).
pub fn pid_is_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return true;
        };
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// This process's reply leases.
#[derive(Debug, Clone)]
pub struct Lease {
    store: Store,
    owner: Arc<Owner>,
}

impl Lease {
    /// Mints this process's name in the leases of `store`.
    pub fn new(store: Store) -> Lease {
        Lease {
            store,
            owner: Arc::new(Owner::mint()),
        }
    }

    fn judge(&self) -> Arc<dyn LeaseJudge> {
        self.owner.clone()
    }

    /// Takes the conversation's lease (unless a live holder has it) and stores the
    /// user's message: see `Store::begin_chat`.
    pub async fn begin_chat(
        &self,
        conversation_id: i64,
        turn: UserTurn,
        history_limit: i64,
    ) -> Result<BeginChat, StoreError> {
        self.store
            .begin_chat(conversation_id, turn, history_limit, self.judge())
            .await
    }

    /// Takes the conversation's lease for a new reply to a message that has one (or
    /// none): see `Store::begin_regenerate`.
    pub async fn begin_regenerate(
        &self,
        conversation_id: i64,
        message_id: Option<i64>,
        history_limit: i64,
    ) -> Result<BeginChat, StoreError> {
        self.store
            .begin_regenerate(conversation_id, message_id, history_limit, self.judge())
            .await
    }

    /// Gives the lease of a conversation up without storing a message.
    pub async fn release(&self, conversation_id: i64) -> Result<(), StoreError> {
        self.store
            .release_reply(conversation_id, self.judge())
            .await
    }

    /// Refreshes this process's leases: (conversation id, text so far if it changed).
    pub async fn refresh(
        &self,
        checkpoints: Vec<(i64, Option<Generated>)>,
    ) -> Result<(), StoreError> {
        self.store
            .checkpoint_replies(self.judge(), checkpoints)
            .await
    }

    /// At start-up: takes over every lease whose holder is dead, storing what it had
    /// generated as `interrupted`; returns how many replies were stored.
    pub async fn recover_abandoned(&self) -> Result<usize, StoreError> {
        self.store.recover_interrupted_replies(self.judge()).await
    }
}

impl Replies {
    /// Writes, every `every`, what each reply in flight has generated since its last
    /// checkpoint, so a chatd that is killed loses at most about that much of a reply,
    /// and refreshes the replies' leases so other processes know their owner lives.
    /// With `every` zero, only the leases are refreshed (every 5 s).
    pub fn spawn_checkpointer(&self, every: Duration) {
        let with_content = !every.is_zero();
        let every = if with_content {
            every.min(HEARTBEAT)
        } else {
            HEARTBEAT
        };
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticker.tick().await;
                this.checkpoint_once(with_content).await;
            }
        });
    }

    pub(super) async fn checkpoint_once(&self, with_content: bool) {
        let replies: Vec<Arc<Reply>> = self
            .registry()
            .in_flight
            .values()
            .flatten()
            .cloned()
            .collect();
        // (reply, deltas now, whether its text changed since the last checkpoint)
        let mut due = Vec::new();
        // Replies that ended but wait to be stored are checkpointed too: their lease
        // stays fresh, so no peer takes it over meanwhile, and their text reaches the
        // checkpoint row as soon as the database takes any write.
        for reply in replies {
            let state = reply.state.borrow();
            let count = state.deltas.len() + state.reasoning.len();
            let changed = with_content && count > reply.checkpointed.load(Ordering::Relaxed);
            drop(state);
            due.push((reply, count, changed));
        }
        // One chunk per transaction, each awaited before the next: the writer runs jobs
        // in order, so chats that start meanwhile wait for one chunk, not for thousands
        // of UPDATEs.
        for chunk in due.chunks(CHECKPOINT_CHUNK) {
            let batch = chunk
                .iter()
                .map(|(reply, _, changed)| {
                    let text = changed.then(|| generated(&reply.state.borrow()));
                    (reply.conversation_id, text)
                })
                .collect();
            match self.lease.refresh(batch).await {
                Ok(()) => {
                    for (reply, count, changed) in chunk {
                        if *changed {
                            reply.checkpointed.store(*count, Ordering::Relaxed);
                        }
                    }
                }
                Err(e) => tracing::warn!("could not checkpoint replies in flight: {e}"),
            }
        }
    }
}

impl Lease {
    /// This process's name in its leases (`host/pid/random`).
    pub fn owner_name(&self) -> &str {
        &self.owner.name
    }
}

impl Replies {
    /// Checkpoints the reply on one conversation now, whatever the interval: a relay in
    /// another process asked for it to catch up (`relay/`). `false` when no reply of
    /// this process runs there or the write failed.
    pub(crate) async fn checkpoint_now(&self, conversation_id: i64) -> bool {
        let Some(reply) = self.attach(conversation_id) else {
            return false;
        };
        let (count, text) = {
            let state = reply.state.borrow();
            (
                state.deltas.len() + state.reasoning.len(),
                generated(&state),
            )
        };
        match self
            .lease
            .refresh(vec![(conversation_id, Some(text))])
            .await
        {
            Ok(()) => {
                reply.checkpointed.fetch_max(count, Ordering::Relaxed);
                true
            }
            Err(e) => {
                tracing::warn!(
                    conversation_id,
                    "could not checkpoint a reply for a relay: {e}"
                );
                false
            }
        }
    }
}

/// The text so far of a reply, as its checkpoint keeps it.
fn generated(state: &super::ReplyState) -> Generated {
    Generated {
        content: state.deltas.concat(),
        reasoning: state.reasoning.iter().map(|(_, r)| r.as_str()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert!(pid_is_alive(std::process::id()));
    }

    #[test]
    fn a_reaped_child_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_is_alive(pid), "pid {pid} was reaped");
    }

    #[test]
    fn init_is_alive_even_when_it_may_not_be_signalled() {
        // As an unprivileged user kill(1, 0) is EPERM; as root it succeeds.
        assert!(pid_is_alive(1));
    }

    #[test]
    fn a_pid_beyond_any_process_is_not_judged_by_guesswork() {
        // Not a valid pid_t: nothing can be asked, so it counts as alive.
        assert!(pid_is_alive(u32::MAX));
    }

    fn owner() -> Owner {
        Owner {
            name: "box/100/aaaa".into(),
            host: "box".into(),
            pid: 100,
        }
    }

    #[test]
    fn liveness_is_judged_by_name_age_and_pid() {
        let me = owner();
        let at = now();
        let fresh = at - chrono::TimeDelta::seconds(1);
        let old = at - STALE_AFTER - chrono::TimeDelta::seconds(1);
        assert!(
            me.judges_dead("box/100/aaaa", fresh, at),
            "my own lease, no reply"
        );
        assert!(
            me.judges_dead("box/100/bbbb", fresh, at),
            "an earlier run with my pid"
        );
        assert!(me.judges_dead("elsewhere/7/cccc", old, at), "stale by age");
        assert!(
            !me.judges_dead("elsewhere/7/cccc", fresh, at),
            "another host, fresh"
        );
        assert!(!me.judges_dead("garbage", fresh, at), "unreadable, fresh");
        assert!(
            !me.judges_dead("box/notapid/x", fresh, at),
            "unreadable pid, fresh"
        );
        let alive = format!("box/{}/dddd", std::process::id());
        assert!(
            !me.judges_dead(&alive, fresh, at),
            "a live peer on this host"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = format!("box/{}/eeee", child.id());
        child.wait().unwrap();
        assert!(me.judges_dead(&gone, fresh, at), "a dead peer on this host");
    }

    #[test]
    fn a_minted_owner_names_this_host_and_process() {
        let minted = Owner::mint();
        let parts: Vec<&str> = minted.name.split('/').collect();
        assert_eq!(parts.len(), 3, "{}", minted.name);
        assert_eq!(parts[0], host_name());
        assert_eq!(parts[1], std::process::id().to_string());
        assert_eq!(parts[2].len(), 16);
        assert_ne!(
            Owner::mint().name,
            minted.name,
            "each run names itself anew"
        );
    }
}
