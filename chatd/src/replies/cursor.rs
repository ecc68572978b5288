//! The reply cursor: where a listener stands in one reply, as the SSE `id:` of every
//! event of a reply stream says it and as `Last-Event-ID` (or `?after=`) brings it back.
//!
//! A reply is named by the id of the user message it answers (the front door's
//! `resp_{id}` is the same number) and, since a regenerate gives one user message
//! several replies, by which of its replies it is: the first is the bare id (every
//! cursor written before branches), the next ones `{id}.{n}` (`n` from 1, in the order
//! they were made). A place in it is named by how many characters of content
//! and of reasoning came before the event's end, not by delta numbers: the stored
//! message and the checkpointed text keep the characters but not where the deltas
//! split them, so only a character count lands on the same place whether the reply is
//! read live, from its checkpoint (by a relay in another process) or once stored. The
//! Responses API's sequence numbers count the same characters.
//!
//! Written `{reply}:{content}`, with `:{reasoning}` when reasoning came, or
//! `{reply}:end` for the event that ends the reply; `{reply}` is `{id}` or `{id}.{n}`.

use std::fmt;

/// Longer than any cursor chatd writes (three `i64`/`u64` numbers, an `i32`, a dot and
/// two colons).
const MAX_CURSOR_BYTES: usize = 64;

/// Characters of a reply before a place in it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub content: u64,
    pub reasoning: u64,
}

/// A place in a reply: within it, or past its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Within(Offsets),
    End,
}

/// One reply: the user message it answers, and which of that message's replies it is
/// (0 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyId {
    pub user_message: i64,
    pub index: i32,
}

impl ReplyId {
    /// The first reply to a user message: the only one before branches.
    pub fn first(user_message: i64) -> ReplyId {
        ReplyId {
            user_message,
            index: 0,
        }
    }

    /// Reads `{id}` or `{id}.{n}` (`n` ≥ 1: the first reply has one spelling).
    fn parse(text: &str) -> Option<ReplyId> {
        let (id, index) = match text.split_once('.') {
            None => (text, None),
            Some((id, index)) => (id, Some(index)),
        };
        let user_message = digits(id)
            .and_then(|n| i64::try_from(n).ok())
            .filter(|&n| n > 0)?;
        let index = match index {
            None => 0,
            Some(index) => digits(index)
                .and_then(|n| i32::try_from(n).ok())
                .filter(|&n| n > 0)?,
        };
        Some(ReplyId {
            user_message,
            index,
        })
    }
}

impl fmt::Display for ReplyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            0 => write!(f, "{}", self.user_message),
            index => write!(f, "{}.{index}", self.user_message),
        }
    }
}

/// A plain decimal number: digits only, no sign, no spaces.
fn digits(part: &str) -> Option<u64> {
    (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        .then(|| part.parse::<u64>().ok())
        .flatten()
}

/// One event's place: the reply and the place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub reply: ReplyId,
    pub place: Place,
}

impl Cursor {
    pub fn within(reply: ReplyId, offsets: Offsets) -> Cursor {
        Cursor {
            reply,
            place: Place::Within(offsets),
        }
    }

    pub fn end(reply: ReplyId) -> Cursor {
        Cursor {
            reply,
            place: Place::End,
        }
    }

    /// Reads a cursor as chatd writes one; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Cursor, &'static str> {
        const SHAPE: &str = "a cursor is REPLY:CONTENT[:REASONING] or REPLY:end (REPLY is ID or \
             ID.N), as the event ids chatd sends";
        if text.len() > MAX_CURSOR_BYTES {
            return Err(SHAPE);
        }
        let number = digits;
        let mut parts = text.split(':');
        let reply = parts.next().and_then(ReplyId::parse).ok_or(SHAPE)?;
        let place = match (parts.next(), parts.next(), parts.next()) {
            (Some("end"), None, None) => Place::End,
            (Some(content), reasoning, None) => Place::Within(Offsets {
                content: number(content).ok_or(SHAPE)?,
                reasoning: match reasoning {
                    Some(reasoning) => number(reasoning).ok_or(SHAPE)?,
                    None => 0,
                },
            }),
            _ => return Err(SHAPE),
        };
        Ok(Cursor { reply, place })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::End => write!(f, "{}:end", self.reply),
            Place::Within(Offsets {
                content,
                reasoning: 0,
            }) => write!(f, "{}:{content}", self.reply),
            Place::Within(Offsets { content, reasoning }) => {
                write!(f, "{}:{content}:{reasoning}", self.reply)
            }
        }
    }
}

/// What of `delta`, whose first character is character `begins` of its text, comes
/// after character `resume_at`: all of it, its tail when the cursor falls inside it, or
/// `None` when the cursor is at or past its end.
pub fn rest_after(delta: &str, begins: u64, resume_at: u64) -> Option<&str> {
    let skip = resume_at.saturating_sub(begins);
    if skip == 0 {
        return (!delta.is_empty()).then_some(delta);
    }
    let skip = usize::try_from(skip).ok()?;
    let (at, _) = delta.char_indices().nth(skip)?;
    Some(&delta[at..])
}

/// The length of `text` as a cursor counts it, in characters.
pub fn chars(text: &str) -> u64 {
    text.chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written() {
        let seven = ReplyId::first(7);
        let again = ReplyId {
            user_message: 7,
            index: 2,
        };
        for cursor in [
            Cursor::within(seven, Offsets::default()),
            Cursor::within(again, Offsets::default()),
            Cursor::end(again),
            Cursor::within(
                seven,
                Offsets {
                    content: 12,
                    reasoning: 0,
                },
            ),
            Cursor::within(
                ReplyId::first(9_000_000_000),
                Offsets {
                    content: 3,
                    reasoning: 40,
                },
            ),
            Cursor::end(seven),
        ] {
            assert_eq!(Cursor::parse(&cursor.to_string()), Ok(cursor));
        }
        assert_eq!(Cursor::end(seven).to_string(), "7:end");
        assert_eq!(Cursor::within(seven, Offsets::default()).to_string(), "7:0");
        assert_eq!(Cursor::end(again).to_string(), "7.2:end");
        assert_eq!(Cursor::parse("7.2:5:1").map(|c| c.reply), Ok(again));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for text in [
            "",
            "7",
            "7:",
            ":3",
            "0:3",
            "-1:3",
            "7:-3",
            "7:3:",
            "7:3:4:5",
            "7:end:2",
            "7:+3",
            "7: 3",
            "x:3",
            "7:3x",
            "7:END",
            "7.0:3",
            "7.:3",
            ".2:3",
            "7.2.1:3",
            "7.-1:3",
            "7.x:end",
            "7.99999999999:1",
        ] {
            assert!(Cursor::parse(text).is_err(), "{text:?} was read");
        }
        assert!(Cursor::parse(&format!("7:{}", "9".repeat(70))).is_err());
        assert!(Cursor::parse("99999999999999999999:1").is_err());
    }

    #[test]
    fn the_rest_of_a_delta_is_cut_at_characters() {
        assert_eq!(rest_after("héllo", 0, 0), Some("héllo"));
        assert_eq!(rest_after("héllo", 10, 4), Some("héllo"));
        assert_eq!(rest_after("héllo", 10, 12), Some("llo"));
        assert_eq!(rest_after("héllo", 10, 15), None);
        assert_eq!(rest_after("héllo", 10, 99), None);
        assert_eq!(rest_after("", 0, 0), None);
    }
}
