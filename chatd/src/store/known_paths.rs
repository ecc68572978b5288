//! The paths of messages already walked, by their last message. A path never changes:
//! a message's parent is set when it is stored and never updated, messages are deleted
//! only with everything below them (`ON DELETE CASCADE` on `parent_id`), and an id is
//! never given twice (SQLite's AUTOINCREMENT, PostgreSQL's sequences). So while a
//! message exists, the path that ends at it is the one kept, across processes too.
//!
//! Only what a read saw is kept: a read sees committed rows only, while a write's own
//! uncommitted message can be rolled back, and SQLite then gives its id again.
//! Writes use what is kept (their parents are committed messages) but add nothing.
//!
//! Every read of a conversation walked its whole active path with a recursive CTE, one
//! index seek per message; after a chat the new leaf's path is its parent's, kept, plus
//! the messages of the turn, so a short walk up to a kept message does.

use std::sync::Arc;

use super::Conn;
use super::tree;
use crate::kept::{Kept, Weight};
use diesel::QueryResult;

/// Steps of the first walk from a message not kept: enough for a turn or two (user
/// messages and their reply) after a kept leaf.
const SHORT_WALK: i64 = 8;

/// Bytes of paths kept by default: 512 Ki message ids.
pub const DEFAULT_BUDGET: usize = 4 << 20;

#[derive(Debug, Clone)]
struct Path(Arc<[i64]>);

impl Weight for Path {
    fn weight(&self) -> usize {
        // The ids, the map's entry and the allocation's own header, about.
        self.0.len() * 8 + 48
    }
}

/// Whether the messages a walk sees are all committed, so its path may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// In a read: everything it sees is committed.
    Committed,
    /// In a write, which may see its own messages, not yet committed.
    MaybeUncommitted,
}

#[derive(Debug)]
pub(crate) struct KnownPaths(Kept<Path>);

impl KnownPaths {
    pub(crate) fn with_budget(budget: usize) -> KnownPaths {
        KnownPaths(Kept::with_budget(budget))
    }

    /// The path that ends at `last`, root first, when it is kept; no walk.
    pub(crate) fn kept(&self, last: i64) -> Option<Arc<[i64]>> {
        self.0.get(last).map(|Path(ids)| ids)
    }

    /// The ids of the path that ends at `last`, root first, cut to its last `limit`
    /// messages: what is kept, or a walk up to a kept message, or to the root.
    pub(crate) fn path_to(
        &self,
        conn: &mut Conn,
        last: i64,
        limit: i64,
        seen: Seen,
    ) -> QueryResult<Vec<i64>> {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        if let Some(Path(kept)) = self.0.get(last) {
            return Ok(last_of(&kept, limit));
        }
        if !self.0.keeps_anything() {
            return tree::path_to(conn, last, i64::try_from(limit).unwrap_or(i64::MAX));
        }
        // Leaf first: each step is the parent of the one before.
        let steps = tree::steps_up(conn, last, SHORT_WALK)?;
        let mut below: Vec<i64> = Vec::with_capacity(steps.len());
        let mut whole: Option<Vec<i64>> = None;
        for (id, parent) in &steps {
            below.push(*id);
            match parent {
                None => {
                    below.reverse();
                    whole = Some(std::mem::take(&mut below));
                    break;
                }
                Some(parent) => {
                    if let Some(Path(kept)) = self.0.get(*parent) {
                        below.reverse();
                        let mut path = Vec::with_capacity(kept.len() + below.len());
                        path.extend_from_slice(&kept);
                        path.append(&mut below);
                        whole = Some(path);
                        break;
                    }
                }
            }
        }
        let path = match (whole, steps.last()) {
            (Some(path), _) => path,
            // The short walk ended neither at the root nor at a kept message: the rest
            // in one walk, whole when it can be kept, else only what is asked for.
            (None, Some((_, Some(parent)))) => {
                let rest = match seen {
                    Seen::Committed => i64::MAX,
                    Seen::MaybeUncommitted => {
                        i64::try_from(limit.saturating_sub(below.len())).unwrap_or(i64::MAX)
                    }
                };
                if rest == 0 {
                    below.reverse();
                    return Ok(last_of(&below, limit));
                }
                let mut path = tree::path_to(conn, *parent, rest)?;
                if path.is_empty() {
                    // The parent was deleted since the short walk (PostgreSQL's READ
                    // COMMITTED), and `last` with it: nothing to keep.
                    below.reverse();
                    return Ok(last_of(&below, limit));
                }
                below.reverse();
                path.append(&mut below);
                if seen == Seen::MaybeUncommitted {
                    return Ok(last_of(&path, limit));
                }
                path
            }
            // No such message.
            (None, _) => return Ok(Vec::new()),
        };
        let cut = last_of(&path, limit);
        if seen == Seen::Committed {
            self.0.keep(last, Path(path.into()));
        }
        Ok(cut)
    }
}

/// The last `limit` ids of `path`.
fn last_of(path: &[i64], limit: usize) -> Vec<i64> {
    path[path.len().saturating_sub(limit)..].to_vec()
}

#[cfg(test)]
mod tests {
    use common::{MessageStatus, Role};
    use diesel::prelude::*;

    use super::*;
    use crate::store::messages::{NewMessage, insert};
    use crate::store::{Location, Store, sqlite};

    /// A reproducible stream of numbers, so a failure names its seed.
    struct Xorshift(u64);

    impl Xorshift {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % bound as u64).unwrap()
        }
    }

    /// Messages of one conversation, each after a random earlier one (mostly the
    /// newest, so that paths are long), on a real SQLite file; their ids.
    fn random_tree(
        conn: &mut Conn,
        conversation_id: i64,
        count: usize,
        random: &mut Xorshift,
    ) -> Vec<i64> {
        let mut ids: Vec<i64> = Vec::with_capacity(count);
        for n in 0..count {
            let parent = match n {
                0 => None,
                _ if random.below(4) > 0 => ids.last().copied(),
                _ => Some(ids[random.below(ids.len())]),
            };
            let role = if n % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let message =
                NewMessage::now(conversation_id, parent, role, "m", MessageStatus::Complete);
            ids.push(insert(conn, &message).unwrap().id);
        }
        ids
    }

    /// A new database in `dir` (chatd's migrations) with user 1 and its conversation 1.
    fn with_conversation_1(dir: &tempfile::TempDir) -> diesel::SqliteConnection {
        let path = dir.path().join("chat.db");
        drop(Store::open(&Location::Sqlite(path.clone()), 1).unwrap());
        let mut sqlite = sqlite::open_connection(&path.to_string_lossy()).unwrap();
        diesel::sql_query(
            "INSERT INTO users (id, username, created_at) VALUES (1, 'u', '2026-12-03 00:00:00')",
        )
        .execute(&mut sqlite)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO conversations (id, user_id, created_at) \
             VALUES (1, 1, '2026-12-03 00:00:00')",
        )
        .execute(&mut sqlite)
        .unwrap();
        sqlite
    }

    #[test]
    fn a_kept_or_extended_path_is_always_the_walked_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut sqlite = with_conversation_1(&dir);
        let conn = &mut Conn::Sqlite(&mut sqlite);
        for seed in [1_u64, 7, 2026] {
            let mut random = Xorshift(seed);
            // Small enough that generations turn over during the reads.
            let paths = KnownPaths::with_budget(8_000);
            let mut ids = random_tree(conn, 1, 150, &mut random);
            for read in 0..1_500 {
                if read % 300 == 299 {
                    // Grow the tree between reads, as chats do.
                    ids.extend(random_tree(conn, 1, 20, &mut random));
                }
                let last = ids[random.below(ids.len())];
                let limit = match random.below(3) {
                    0 => i64::MAX,
                    _ => i64::try_from(random.below(12) + 1).unwrap(),
                };
                let seen = match random.below(3) {
                    0 => Seen::MaybeUncommitted,
                    _ => Seen::Committed,
                };
                let expected = tree::path_to(conn, last, limit).unwrap();
                let got = paths.path_to(conn, last, limit, seen).unwrap();
                assert_eq!(
                    got, expected,
                    "seed {seed}, read {read}: path to {last}, limit {limit}, {seen:?}"
                );
            }
            assert!(paths.0.bytes() <= 8_000, "{} bytes kept", paths.0.bytes());
        }
        let paths = KnownPaths::with_budget(1 << 20);
        assert_eq!(
            paths
                .path_to(conn, 999_999, i64::MAX, Seen::Committed)
                .unwrap(),
            Vec::<i64>::new()
        );
        assert!(
            paths.0.get(999_999).is_none(),
            "no path is kept for a message that is not there"
        );
    }

    #[test]
    fn only_what_a_read_saw_is_kept_and_a_kept_path_needs_no_walk() {
        let dir = tempfile::tempdir().unwrap();
        let mut sqlite = with_conversation_1(&dir);
        let conn = &mut Conn::Sqlite(&mut sqlite);
        let line = random_tree(conn, 1, 30, &mut Xorshift(3));
        let paths = KnownPaths::with_budget(1 << 20);
        let leaf = *line.last().unwrap();
        let walked = paths
            .path_to(conn, leaf, i64::MAX, Seen::MaybeUncommitted)
            .unwrap();
        assert!(paths.0.get(leaf).is_none(), "a write's walk is not kept");
        assert_eq!(
            paths
                .path_to(conn, leaf, i64::MAX, Seen::Committed)
                .unwrap(),
            walked
        );
        assert!(paths.0.get(leaf).is_some(), "a read's walk is kept");
        // Kept, the path is answered without reading the messages at all: here, with
        // them gone from the table (as no read ever sees, since the leaf goes with them).
        diesel::sql_query("PRAGMA foreign_keys = OFF; ")
            .execute(&mut sqlite)
            .unwrap();
        diesel::sql_query("DELETE FROM messages")
            .execute(&mut sqlite)
            .unwrap();
        let conn = &mut Conn::Sqlite(&mut sqlite);
        assert_eq!(
            paths.path_to(conn, leaf, 3, Seen::Committed).unwrap(),
            walked[walked.len() - 3..]
        );
        assert!(tree::path_to(conn, leaf, i64::MAX).unwrap().is_empty());
    }
}
