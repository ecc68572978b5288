//! Lists of conversations people can read, shared by `conv list`, `/list` and the
//! picker: id, title, number of messages, last activity (relative on a terminal), a
//! marker on the current one, newest activity first, and "N more" when cut.
//!
//! The counts and activity come from chatd's summaries extension; against a server
//! without it the documented list is used and the list says less (no counts, ordered by
//! creation).

use chrono::{DateTime, Utc};
use common::Conversation;
use common::summaries::{ConversationSummary, SummaryOrder};
use serde::Serialize;

use crate::client::Client;
use crate::error::ApiError;
use crate::output::Out;

/// The largest page the API serves.
const PAGE: u64 = 1000;
/// A server that ignored `skip` would page forever; 10,000 pages is ten million
/// conversations, far past any real history.
const MAX_PAGES: u64 = 10_000;
/// Titles longer than this are cut with an ellipsis so the columns stay readable.
const TITLE_WIDTH: usize = 40;

/// One conversation as listed (and as printed by `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub created_at: String,
    /// Absent when the server has no summaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<String>,
}

impl Entry {
    /// The conversation's title: its name, or `(untitled)`.
    pub fn title(&self) -> String {
        let name = self.name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() {
            return "(untitled)".to_string();
        }
        // One line: a name may hold line breaks.
        let name: String = name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if name.chars().count() > TITLE_WIDTH {
            let cut: String = name.chars().take(TITLE_WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            name
        }
    }
}

impl From<ConversationSummary> for Entry {
    fn from(s: ConversationSummary) -> Entry {
        Entry {
            id: s.id,
            user_id: s.user_id,
            name: s.name,
            created_at: s.created_at,
            message_count: Some(s.message_count),
            last_activity_at: Some(s.last_activity_at),
        }
    }
}

impl From<Conversation> for Entry {
    fn from(c: Conversation) -> Entry {
        Entry {
            id: c.id,
            user_id: c.user_id,
            name: c.name,
            created_at: c.created_at,
            message_count: None,
            last_activity_at: None,
        }
    }
}

/// Which part of the list to fetch.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    Page { skip: u64, limit: u64 },
    All,
}

/// A fetched part of a user's list.
#[derive(Debug)]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// How many conversations come after this part.
    pub more: u64,
    /// Whether the entries carry counts and activity (the server has summaries).
    pub detailed: bool,
}

/// Fetches `window` of `user_id`'s conversations in `order`.
pub async fn fetch(
    client: &Client,
    user_id: i64,
    window: Window,
    order: SummaryOrder,
) -> Result<Listing, ApiError> {
    let (skip, limit) = match window {
        Window::Page { skip, limit } => (skip, limit),
        Window::All => (0, u64::MAX),
    };
    let mut entries = Vec::new();
    let mut total = 0;
    for page in 0..MAX_PAGES {
        let want = (limit - entries.len() as u64).min(PAGE);
        let offset = skip + page * PAGE;
        let Some(answer) = client.summaries(user_id, offset, want, order).await? else {
            return fallback(client, user_id, skip, limit, order).await;
        };
        total = answer.total;
        let got = answer.conversations.len() as u64;
        entries.extend(answer.conversations.into_iter().map(Entry::from));
        if got < want || entries.len() as u64 >= limit || want == 0 {
            break;
        }
    }
    let more = total.saturating_sub(skip + entries.len() as u64);
    Ok(Listing {
        entries,
        more,
        detailed: true,
    })
}

/// The documented list, which is ordered by creation and knows no counts.
async fn fallback(
    client: &Client,
    user_id: i64,
    skip: u64,
    limit: u64,
    order: SummaryOrder,
) -> Result<Listing, ApiError> {
    let mut all = client.all_conversations(user_id).await?;
    if order == SummaryOrder::Newest {
        all.reverse();
    }
    let total = all.len() as u64;
    let entries: Vec<Entry> = all
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(Entry::from)
        .collect();
    Ok(Listing {
        more: total.saturating_sub(skip + entries.len() as u64),
        entries,
        detailed: false,
    })
}

/// How to tell people to see the rest of a cut list.
#[derive(Debug, Clone, Copy)]
pub enum MoreHint {
    /// `conv list`: the flags.
    Flags { limit: u64 },
    /// `/list` in a session.
    Slash,
}

/// Prints the list as columns on stdout; "N more" goes to stderr.
pub fn print(
    out: &Out,
    listing: &Listing,
    current: Option<i64>,
    hint: MoreHint,
) -> std::io::Result<()> {
    let now = Utc::now();
    let rows: Vec<Row> = listing
        .entries
        .iter()
        .map(|entry| row(entry, current, out.is_terminal(), now))
        .collect();
    let id_width = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let title_width = rows
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let when = if listing.detailed {
        "LAST ACTIVE"
    } else {
        "CREATED"
    };
    let header = if listing.detailed {
        format!(
            "  {:>id_width$}  {:<title_width$}  {:>4}  {when}",
            "ID", "TITLE", "MSGS"
        )
    } else {
        format!("  {:>id_width$}  {:<title_width$}  {when}", "ID", "TITLE")
    };
    out.line(&out.dim(&header))?;
    for r in &rows {
        let title = pad(&r.title, title_width);
        let line = match &r.count {
            Some(count) => format!(
                "{} {:>id_width$}  {title}  {count:>4}  {}",
                r.marker, r.id, r.when
            ),
            None => format!("{} {:>id_width$}  {title}  {}", r.marker, r.id, r.when),
        };
        out.line(&line)?;
    }
    if listing.more > 0 {
        let more = listing.more;
        crate::output::note(&match hint {
            MoreHint::Flags { limit } => {
                format!(
                    "{more} more; --all or --limit {}",
                    limit.saturating_add(more)
                )
            }
            MoreHint::Slash => format!("{more} more; /list all or /list N"),
        });
    }
    Ok(())
}

/// The picker's line for each entry (the same columns, no header).
pub fn picker_items(entries: &[Entry], current: Option<i64>) -> Vec<String> {
    let now = Utc::now();
    let rows: Vec<Row> = entries
        .iter()
        .map(|entry| row(entry, current, true, now))
        .collect();
    let id_width = rows.iter().map(|r| r.id.len()).max().unwrap_or(1);
    let title_width = rows
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(1);
    rows.iter()
        .map(|r| {
            let count = r
                .count
                .as_ref()
                .map(|c| format!("  {c:>3} msgs"))
                .unwrap_or_default();
            format!(
                "{} {:>id_width$}  {}{count}  {}",
                r.marker,
                r.id,
                pad(&r.title, title_width),
                r.when
            )
        })
        .collect()
}

struct Row {
    marker: &'static str,
    id: String,
    title: String,
    count: Option<String>,
    when: String,
}

fn row(entry: &Entry, current: Option<i64>, relative_times: bool, now: DateTime<Utc>) -> Row {
    let stamp = entry
        .last_activity_at
        .as_deref()
        .unwrap_or(&entry.created_at);
    let when = if relative_times {
        DateTime::parse_from_rfc3339(stamp)
            .map(|then| relative(then.with_timezone(&Utc), now))
            .unwrap_or_else(|_| stamp.to_string())
    } else {
        stamp.to_string()
    };
    Row {
        marker: if current == Some(entry.id) { "*" } else { " " },
        id: entry.id.to_string(),
        title: entry.title(),
        count: entry.message_count.map(|n| n.to_string()),
        when,
    }
}

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

/// `then` as people say it, seen from `now`.
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    match seconds {
        // A clock a little ahead of ours is "now", not "in the future".
        ..45 => "just now".to_string(),
        45..90 => "1 min ago".to_string(),
        90..3600 => format!("{} min ago", (seconds + 30) / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        86_400..172_800 => "yesterday".to_string(),
        172_800..604_800 => format!("{} days ago", seconds / 86_400),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn times_read_as_people_say_them() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ago = |seconds: i64| relative(now - TimeDelta::seconds(seconds), now);
        assert_eq!(ago(-30), "just now");
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(60), "1 min ago");
        assert_eq!(ago(3 * 60), "3 min ago");
        assert_eq!(ago(59 * 60), "59 min ago");
        assert_eq!(ago(2 * 3600 + 5), "2 h ago");
        assert_eq!(ago(30 * 3600), "yesterday");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(30 * 86_400), "2026-11-02");
    }

    #[test]
    fn titles_are_one_line_and_bounded() {
        let mut entry = Entry {
            id: 1,
            user_id: 1,
            name: None,
            created_at: String::new(),
            message_count: None,
            last_activity_at: None,
        };
        assert_eq!(entry.title(), "(untitled)");
        entry.name = Some("  ".into());
        assert_eq!(entry.title(), "(untitled)");
        entry.name = Some("two\nlines".into());
        assert_eq!(entry.title(), "two lines");
        entry.name = Some("x".repeat(100));
        assert_eq!(entry.title().chars().count(), TITLE_WIDTH);
        assert!(entry.title().ends_with('…'));
    }
}
