//! The paths of messages already walked, by their last message. A path never changes:
//! a message's parent is set when it is stored and never updated, messages are deleted
//! only with everything below them (`ON DELETE CASCADE` on `parent_id`), and an id is
//! never given twice (SQLite's AUTOINCREMENT, PostgreSQL's sequences). So while a
//! message exists, the path that ends at it is the one kept, across processes too.
//!
//! Only committed paths are kept: a read sees committed rows only, while a write's own
//! uncommitted message can be rolled back, and SQLite then gives its id again. A write
//! uses what is kept (its parents are committed messages), and what it walked is kept
//! by its caller once it has committed: a chat's path, and its reply's after it.
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
    /// messages: what is kept, or a walk up to a kept message, or to the root. In a
    /// read, which sees only committed messages, so its walk is kept; a write walks
    /// with [`KnownPaths::path_for_write`].
    pub(crate) fn path_to(&self, conn: &mut Conn, last: i64, limit: i64) -> QueryResult<Vec<i64>> {
        let (cut, walked) = self.path_for_write(conn, last, limit)?;
        if let Some(path) = walked {
            self.keep_committed(last, path);
        }
        Ok(cut)
    }

    /// [`KnownPaths::path_to`] inside a write: also the whole path when it was walked,
    /// for [`KnownPaths::keep_committed`] once the write has committed. So a chat's
    /// next chat finds its path by one step up to the reply, whose path is this one
    /// and the reply (`keep_child`), even where nothing reads the conversation.
    pub(crate) fn path_for_write(
        &self,
        conn: &mut Conn,
        last: i64,
        limit: i64,
    ) -> QueryResult<(Vec<i64>, Option<Vec<i64>>)> {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        if let Some(Path(kept)) = self.0.get(last) {
            return Ok((last_of(&kept, limit), None));
        }
        if !self.0.keeps_anything() {
            let cut = tree::path_to(conn, last, i64::try_from(limit).unwrap_or(i64::MAX))?;
            return Ok((cut, None));
        }
        Ok(match self.walk(conn, last)? {
            Walk::Whole(path) => (last_of(&path, limit), Some(path)),
            Walk::Cut(part) => (last_of(&part, limit), None),
        })
    }

    /// As [`KnownPaths::path_for_write`], for `last`, a message the write has just
    /// stored after `parent`: its path is the parent's and it, so when the parent's is
    /// kept (the reply before, for a chat that continues) nothing is walked.
    pub(crate) fn path_for_new(
        &self,
        conn: &mut Conn,
        last: i64,
        parent: Option<i64>,
        limit: i64,
    ) -> QueryResult<(Vec<i64>, Option<Vec<i64>>)> {
        let whole = match parent {
            None => Some(vec![last]),
            Some(parent) => self.0.get(parent).map(|Path(above)| extended(&above, last)),
        };
        match whole {
            Some(path) => {
                let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
                Ok((last_of(&path, limit), Some(path)))
            }
            None => self.path_for_write(conn, last, limit),
        }
    }

    /// Keeps the path that ends at `last`, whose messages are all committed.
    pub(crate) fn keep_committed(&self, last: i64, path: Vec<i64>) {
        self.0.keep(last, Path(path.into()));
    }

    /// Keeps the path of `child`, a committed message after `parent`, when `parent`'s
    /// is kept.
    pub(crate) fn keep_child(&self, parent: i64, child: i64) {
        if let Some(Path(above)) = self.0.get(parent) {
            self.keep_committed(child, extended(&above, child));
        }
    }

    /// The whole path that ends at `last` (not kept itself): a short walk up to a kept
    /// message or the root, else the rest in one walk.
    fn walk(&self, conn: &mut Conn, last: i64) -> QueryResult<Walk> {
        // Leaf first: each step is the parent of the one before.
        let steps = tree::steps_up(conn, last, SHORT_WALK)?;
        let mut below: Vec<i64> = Vec::with_capacity(steps.len());
        for (id, parent) in &steps {
            below.push(*id);
            match parent {
                None => {
                    below.reverse();
                    return Ok(Walk::Whole(below));
                }
                Some(parent) => {
                    if let Some(Path(kept)) = self.0.get(*parent) {
                        below.reverse();
                        let mut path = Vec::with_capacity(kept.len() + below.len());
                        path.extend_from_slice(&kept);
                        path.append(&mut below);
                        return Ok(Walk::Whole(path));
                    }
                }
            }
        }
        below.reverse();
        let Some((_, Some(parent))) = steps.last() else {
            // No such message.
            return Ok(Walk::Cut(below));
        };
        let mut path = tree::path_to(conn, *parent, i64::MAX)?;
        if path.is_empty() {
            // The parent was deleted since the short walk (PostgreSQL's READ COMMITTED),
            // and `last` with it: nothing to keep.
            return Ok(Walk::Cut(below));
        }
        path.append(&mut below);
        Ok(Walk::Whole(path))
    }
}

/// What a walk found: the whole path, or what was left of it by a concurrent delete.
enum Walk {
    Whole(Vec<i64>),
    Cut(Vec<i64>),
}

/// The last `limit` ids of `path`.
/// The path `above` continued by `last`.
fn extended(above: &[i64], last: i64) -> Vec<i64> {
    let mut path = Vec::with_capacity(above.len() + 1);
    path.extend_from_slice(above);
    path.push(last);
    path
}

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
                let in_a_write = random.below(3) == 0;
                let expected = tree::path_to(conn, last, limit).unwrap();
                let got = if in_a_write {
                    paths.path_for_write(conn, last, limit).unwrap().0
                } else {
                    paths.path_to(conn, last, limit).unwrap()
                };
                assert_eq!(
                    got, expected,
                    "seed {seed}, read {read}: path to {last}, limit {limit}, in a write: {in_a_write}"
                );
            }
            assert!(paths.0.bytes() <= 8_000, "{} bytes kept", paths.0.bytes());
        }
        let paths = KnownPaths::with_budget(1 << 20);
        assert_eq!(
            paths.path_to(conn, 999_999, i64::MAX).unwrap(),
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
        let (walked, whole) = paths.path_for_write(conn, leaf, i64::MAX).unwrap();
        assert!(paths.0.get(leaf).is_none(), "a write's walk is not kept");
        assert_eq!(whole.as_ref(), Some(&walked), "but handed on to keep");
        assert_eq!(paths.path_to(conn, leaf, i64::MAX).unwrap(), walked);
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
            paths.path_to(conn, leaf, 3).unwrap(),
            walked[walked.len() - 3..]
        );
        assert!(tree::path_to(conn, leaf, i64::MAX).unwrap().is_empty());
    }
}
