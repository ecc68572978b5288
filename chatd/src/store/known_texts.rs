//! The texts of stored messages by id, for the history every chat sends its provider.
//! A chat on a conversation sends the same messages as the chat before it plus a turn;
//! walking their path and reading them again in the writer's transaction was about a
//! quarter of a chat's writer time with 50-message histories (BENCHMARKS.md, issue 19
//! part six). A stored message never changes and its id is never given again
//! (`kept.rs`), so its text can be kept; only the messages of the new turn are read, or
//! none.
//!
//! What is kept has been committed: a write's own messages, which a rollback can take
//! back (and SQLite then gives their ids again), go into an [`Unkept`] that the store
//! keeps once the write's transaction has committed, never inside the write.

use std::sync::Arc;

use common::Role;
use diesel::QueryResult;

use super::known_paths::KnownPaths;
use super::{Conn, MessageRow, tree};
use crate::kept::{Kept, Weight};

/// Bytes of texts kept by default.
pub const DEFAULT_BUDGET: usize = 4 << 20;

/// One message of a chat's history, as its provider is sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub id: i64,
    pub role: Role,
    pub content: Arc<str>,
}

impl Said {
    pub(crate) fn of(row: &MessageRow) -> Said {
        Said {
            id: row.id,
            role: row.role,
            content: row.content.as_str().into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Text {
    role: Role,
    content: Arc<str>,
}

impl Weight for Text {
    fn weight(&self) -> usize {
        // The text, the map's entry and the allocation's header, about.
        self.content.len() + 64
    }
}

#[derive(Debug)]
pub(crate) struct KnownTexts(Kept<Text>);

/// What a write read that was not kept, its texts and the path it walked: kept once
/// the write has committed, never before.
#[derive(Debug, Default)]
pub(crate) struct Unkept {
    texts: Vec<Said>,
    path: Option<(i64, Vec<i64>)>,
}

impl Unkept {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.path.is_none()
    }

    /// Keeps it all: the write that read it has committed.
    pub(crate) fn keep(self, texts: &KnownTexts, paths: &KnownPaths) {
        texts.keep(self.texts);
        if let Some((last, path)) = self.path {
            paths.keep_committed(last, path);
        }
    }
}

impl KnownTexts {
    pub(crate) fn with_budget(budget: usize) -> KnownTexts {
        KnownTexts(Kept::with_budget(budget))
    }

    /// The last `limit` messages of the path that ends at `last`, oldest first, read
    /// inside a write: what is kept, and the rest from the database, except `own`, the
    /// message the write has just stored and so has already (`last`). With them, what was not
    /// kept, for [`Unkept::keep`] once the write has committed.
    pub(crate) fn history(
        &self,
        conn: &mut Conn,
        paths: &KnownPaths,
        last: i64,
        limit: i64,
        own: &MessageRow,
    ) -> QueryResult<(Vec<Said>, Unkept)> {
        let (ids, walked) = if own.id == last {
            paths.path_for_new(conn, last, own.parent_id, limit)?
        } else {
            paths.path_for_write(conn, last, limit)?
        };
        let found = self.0.get_each(&ids);
        let own = Said::of(own);
        let unknown: Vec<i64> = ids
            .iter()
            .zip(&found)
            .filter(|(id, kept)| kept.is_none() && **id != own.id)
            .map(|(id, _)| *id)
            .collect();
        let mut read = if unknown.is_empty() {
            Vec::new()
        } else {
            tree::rows(conn, &unknown)?
        }
        .into_iter()
        .peekable();
        let mut said = Vec::with_capacity(ids.len());
        let mut fresh = Vec::new();
        for (id, kept) in ids.into_iter().zip(found) {
            if let Some(Text { role, content }) = kept {
                said.push(Said { id, role, content });
                continue;
            }
            while read.next_if(|row| row.id < id).is_some() {}
            let new = match read.next_if(|row| row.id == id) {
                _ if id == own.id => own.clone(),
                Some(row) => Said::of(&row),
                // Gone since the path was walked (another process deleted it under
                // PostgreSQL's READ COMMITTED): what is gone is not sent.
                None => continue,
            };
            fresh.push(new.clone());
            said.push(new);
        }
        let unkept = Unkept {
            texts: fresh,
            path: walked.map(|path| (last, path)),
        };
        Ok((said, unkept))
    }

    /// Keeps the texts of messages whose write has committed.
    pub(crate) fn keep(&self, committed: impl IntoIterator<Item = Said>) {
        self.0.keep_all(committed.into_iter().map(|said| {
            (
                said.id,
                Text {
                    role: said.role,
                    content: said.content,
                },
            )
        }));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use common::{MessageStatus, Role};
    use diesel::result::Error as DieselError;

    use super::super::messages::begin_chat;
    use super::super::{
        BeginChat, CreateUserOutcome, FinishedReply, LeaseJudge, LeaseRow, Location,
        MessageDetails, Store, StoredReply, UserTurn,
    };

    struct Alone;

    impl LeaseJudge for Alone {
        fn owner(&self) -> &str {
            "test/1/alone"
        }

        fn is_dead(&self, _: &LeaseRow) -> bool {
            false
        }
    }

    async fn sqlite_store(dir: &tempfile::TempDir) -> (Store, i64) {
        let store = Store::open(&Location::Sqlite(dir.path().join("chat.db")), 2).unwrap();
        let CreateUserOutcome::Created(ada) = store.create_user("ada".into(), None).await.unwrap()
        else {
            panic!("ada was not created");
        };
        let conversation = store.create_conversation(ada.id, None).await.unwrap();
        (store, conversation.unwrap().id)
    }

    /// Begins a chat and stores `answer` as its reply: the history it was given, and
    /// the ids of the conversation's path after it.
    async fn turn(
        store: &Store,
        id: i64,
        question: &str,
        answer: &str,
    ) -> (Vec<(Role, String)>, Vec<i64>) {
        let BeginChat::Started(start) = store
            .begin_chat(id, UserTurn::one(question.into()), 50, Arc::new(Alone))
            .await
            .unwrap()
        else {
            panic!("the chat did not start");
        };
        assert!(
            start.unkept.is_empty(),
            "the store keeps them, then hands none on"
        );
        let reply = FinishedReply {
            conversation_id: id,
            user_message_id: start.user_message.id,
            reply_index: 0,
            content: answer.into(),
            status: MessageStatus::Complete,
            details: MessageDetails::default(),
        };
        let StoredReply::Inserted(row) = store.insert_assistant_message(reply).await.unwrap()
        else {
            panic!("the reply was not stored");
        };
        let mut path: Vec<i64> = start.history.iter().map(|said| said.id).collect();
        path.push(row.id);
        let history = start
            .history
            .iter()
            .map(|said| (said.role, said.content.to_string()))
            .collect();
        (history, path)
    }

    #[tokio::test]
    async fn a_chat_sends_what_is_stored_and_keeps_it_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = sqlite_store(&dir).await;
        let said = |texts: &[&str]| -> Vec<(Role, String)> {
            texts
                .iter()
                .enumerate()
                .map(|(n, text)| {
                    let role = if n % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    };
                    (role, text.to_string())
                })
                .collect()
        };
        assert_eq!(turn(&store, id, "one", "un").await.0, said(&["one"]));
        let (history, path) = turn(&store, id, "two", "deux").await;
        assert_eq!(history, said(&["one", "un", "two"]));
        // Every message of the path is kept now, the reply too, and the path that ends
        // at the reply, though nothing read the conversation: the next chat walks one
        // step and reads no message.
        assert_eq!(path.len(), 4);
        assert!(
            store.texts.0.get_each(&path).iter().all(Option::is_some),
            "kept: {path:?}"
        );
        assert_eq!(store.paths.kept(path[3]).as_deref(), Some(&path[..]));
        assert_eq!(
            turn(&store, id, "three", "trois").await.0,
            said(&["one", "un", "two", "deux", "three"])
        );
    }

    #[tokio::test]
    async fn a_rolled_back_chat_keeps_nothing_whose_id_comes_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = sqlite_store(&dir).await;
        let taken = Arc::new(Mutex::new(None));
        let seen = taken.clone();
        let (paths, texts) = (store.paths.clone(), store.texts.clone());
        let rolled_back = store
            .write_transaction(move |conn| {
                let begun = begin_chat(
                    conn,
                    &paths,
                    &texts,
                    id,
                    &UserTurn::one("never said".into()),
                    50,
                    &Alone,
                )?;
                if let BeginChat::Started(start) = begun {
                    *seen.lock().unwrap() = Some(start.user_message.id);
                }
                Err::<(), _>(DieselError::RollbackTransaction)
            })
            .await;
        assert!(rolled_back.is_err());
        let rolled_back_id = taken.lock().unwrap().expect("the chat began");
        let BeginChat::Started(start) = store
            .begin_chat(id, UserTurn::one("said".into()), 50, Arc::new(Alone))
            .await
            .unwrap()
        else {
            panic!("the chat did not start");
        };
        // SQLite gives the rolled-back id again: what was kept for it would be wrong.
        assert_eq!(start.user_message.id, rolled_back_id);
        let history: Vec<&str> = start.history.iter().map(|s| &*s.content).collect();
        assert_eq!(history, ["said"]);
    }
}
