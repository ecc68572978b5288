//! The live feed of `GET /events`: what happens in chatd (users, conversations,
//! messages, replies), numbered in the order this process learnt of it, kept for a
//! bounded window (the last 10,000 events, one hour at most) so that a client can
//! resume with `Last-Event-ID`, and fanned out to every listener through one bounded
//! broadcast buffer, so that a slow client never holds chatd back: past the buffer it
//! is told it `lagged` (`kinds.rs`).
//!
//! An event id is `{epoch}-{number}`: the epoch is random per process start, so an id
//! of another process, or of an earlier run, is told apart and answered with a
//! `lagged`, never with a silent gap. On PostgreSQL every process also announces its
//! events to the others (`relayed.rs`), so each one's feed holds them all.

pub mod kinds;
mod relayed;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

pub use kinds::{Event, Lagged};

/// Events kept for resuming, at most, and for at most this long.
pub const WINDOW_EVENTS: usize = 10_000;
pub const WINDOW_AGE: Duration = Duration::from_secs(3600);

/// One event of the feed, numbered.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub number: u64,
    pub at: Instant,
    pub item: Item,
}

/// What the feed carries: an event, or the news that events may have been lost.
#[derive(Debug, Clone)]
pub enum Item {
    Event(Event),
    /// The relay's connection was lost: other processes' events of that time may be
    /// missing.
    RelayGap,
}

#[derive(Debug)]
struct Window {
    events: VecDeque<Arc<Stamped>>,
    next: u64,
}

#[derive(Debug)]
struct Inner {
    epoch: String,
    window: Mutex<Window>,
    live: broadcast::Sender<Arc<Stamped>>,
    /// Local events for the other processes, when there are any (PostgreSQL).
    outbox: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Event>>>,
}

/// The feed, shared by every route and the replies.
#[derive(Debug, Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

/// Where a new listener starts.
#[derive(Debug)]
pub struct Joined {
    /// The events after its `Last-Event-ID`, oldest first.
    pub backlog: Vec<Arc<Stamped>>,
    /// Set when its `Last-Event-ID` could not be honoured.
    pub lagged: Option<Lagged>,
    pub live: broadcast::Receiver<Arc<Stamped>>,
}

impl Feed {
    /// A feed whose listeners may fall `buffer` events behind before they are told
    /// they lagged.
    pub fn new(buffer: usize) -> Feed {
        let mut nonce = [0u8; 4];
        let _ = getrandom::fill(&mut nonce);
        Feed {
            inner: Arc::new(Inner {
                epoch: crate::hex(&nonce),
                window: Mutex::new(Window {
                    events: VecDeque::new(),
                    next: 1,
                }),
                live: broadcast::channel(buffer.max(1)).0,
                outbox: Mutex::new(None),
            }),
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        // Each update is a push and trims, done whole.
        self.inner
            .window
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of an event of this feed.
    pub fn id_of(&self, number: u64) -> String {
        format!("{}-{number}", self.inner.epoch)
    }

    /// Announces something that happened in this process (to the other processes too).
    pub fn announce(&self, event: Event) {
        if let Some(outbox) = self
            .inner
            .outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = outbox.send(event.clone());
        }
        self.push(Item::Event(event));
    }

    /// Adds an item to the window and sends it to every listener.
    fn push(&self, item: Item) {
        let mut window = self.window();
        let now = Instant::now();
        let stamped = Arc::new(Stamped {
            number: window.next,
            at: now,
            item,
        });
        window.next += 1;
        window.events.push_back(stamped.clone());
        while window.events.len() > WINDOW_EVENTS
            || window
                .events
                .front()
                .is_some_and(|e| now.duration_since(e.at) > WINDOW_AGE)
        {
            window.events.pop_front();
        }
        // Under the lock, so a listener joining meanwhile sees it either in its
        // backlog or live, never in both or neither. No listener is not an error.
        let _ = self.inner.live.send(stamped);
    }

    /// A new listener, after the event `after` (an id this feed gave) or from now.
    pub fn join(&self, after: Option<&str>) -> Joined {
        let window = self.window();
        let live = self.inner.live.subscribe();
        let oldest = window
            .events
            .iter()
            .find(|e| e.at.elapsed() <= WINDOW_AGE)
            .map(|e| self.id_of(e.number));
        let Some(after) = after else {
            return Joined {
                backlog: Vec::new(),
                lagged: None,
                live,
            };
        };
        let resumable = self.number_of(after).filter(|&number| {
            // Within the window: the event after it is still held (or none came since).
            let first = window.events.front().map_or(window.next, |e| e.number);
            number + 1 >= first && number < window.next
        });
        match resumable {
            Some(number) => Joined {
                backlog: window
                    .events
                    .iter()
                    .filter(|e| e.number > number && e.at.elapsed() <= WINDOW_AGE)
                    .cloned()
                    .collect(),
                lagged: None,
                live,
            },
            None => Joined {
                backlog: Vec::new(),
                lagged: Some(Lagged {
                    reason: "outside_window".into(),
                    missed: None,
                    oldest,
                }),
                live,
            },
        }
    }

    /// The oldest id still held, for a `lagged` event.
    pub fn oldest_id(&self) -> Option<String> {
        let window = self.window();
        window.events.front().map(|e| self.id_of(e.number))
    }

    /// The number of an id of this feed; `None` for another epoch's.
    fn number_of(&self, id: &str) -> Option<u64> {
        let (epoch, number) = id.split_once('-')?;
        (epoch == self.inner.epoch)
            .then(|| number.parse().ok())
            .flatten()
    }
}

/// Whether `text` has the shape of an event id (`{hex}-{number}`); any epoch.
pub fn is_event_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(epoch, number)| {
        !epoch.is_empty()
            && epoch.len() <= 16
            && epoch.bytes().all(|b| b.is_ascii_hexdigit())
            && !number.is_empty()
            && number.len() <= 19
            && number.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: i64) -> Event {
        Event::UserCreated {
            user_id: n,
            username: format!("u{n}"),
        }
    }

    #[test]
    fn a_listener_resumes_after_an_id_within_the_window_and_lags_outside_it() {
        let feed = Feed::new(8);
        for n in 1..=3 {
            feed.announce(user(n));
        }
        let joined = feed.join(Some(&feed.id_of(1)));
        assert!(joined.lagged.is_none());
        assert_eq!(
            joined.backlog.iter().map(|e| e.number).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(feed.join(Some(&feed.id_of(3))).backlog.is_empty());
        assert!(feed.join(Some(&feed.id_of(3))).lagged.is_none());
        // From the future, another epoch, a malformed one.
        for id in [feed.id_of(9), "00000000-1".to_string(), "x".to_string()] {
            let joined = feed.join(Some(&id));
            assert!(joined.backlog.is_empty(), "{id}");
            assert_eq!(joined.lagged.expect("lagged").reason, "outside_window");
        }
        for n in 4..=(WINDOW_EVENTS as i64 + 10) {
            feed.announce(user(n));
        }
        let joined = feed.join(Some(&feed.id_of(2)));
        let lagged = joined.lagged.expect("trimmed away");
        assert_eq!(lagged.oldest, Some(feed.id_of(11)));
        let joined = feed.join(Some(&feed.id_of(10)));
        assert!(joined.lagged.is_none(), "the event after it is still held");
        assert_eq!(joined.backlog.len(), WINDOW_EVENTS);
    }

    #[test]
    fn ids_have_a_shape() {
        assert!(is_event_id("0a1b2c3d-12"));
        for bad in ["", "-1", "ab-", "zz-1", "ab-1x", "ab-+1"] {
            assert!(!is_event_id(bad), "{bad}");
        }
    }
}
