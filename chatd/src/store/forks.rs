//! Where a front-door request forks (docs/API.md §11.1): a history resent whole whose
//! path hash (`paths.rs`) is a stored message that is not its conversation's active
//! leaf is a client that went back (edited a message, or asked again) and goes on from
//! there, on a new branch beside what followed.

use diesel::prelude::*;

use super::schema::{conversations, messages};
use super::{Conn, Store, StoreError, on_conn, tree};
use common::Role;

/// How many messages of one hash are looked at, newest first.
const CANDIDATES: i64 = 16;

/// Where a chat whose history ends at a stored message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// Beside this user message (it follows the matched message): an edit.
    BesideUser {
        conversation_id: i64,
        user_message_id: i64,
    },
    /// After the matched message, now the conversation's active leaf.
    After {
        conversation_id: i64,
        message_id: i64,
    },
    /// Its conversation is answering a reply now; the fork would change the path under
    /// it.
    Busy,
}

fn find(conn: &mut Conn, user_id: i64, hash: &str, one_message: bool) -> QueryResult<Option<Fork>> {
    let candidates: Vec<(i64, i64)> = on_conn!(&mut *conn, c => messages::table
        .inner_join(conversations::table)
        .filter(messages::path_hash.eq(hash))
        .filter(conversations::user_id.eq(user_id))
        .order(messages::id.desc())
        .limit(CANDIDATES)
        .select((messages::conversation_id, messages::id))
        .load(c))?;
    let Some((conversation_id, message_id)) = candidates.into_iter().next() else {
        return Ok(None);
    };
    if super::lease::of(conn, conversation_id)?.is_some() {
        return Ok(Some(Fork::Busy));
    }
    if one_message {
        // An edit, stored in the same transaction as its reply begins.
        let user_child: Option<i64> = on_conn!(&mut *conn, c => messages::table
            .filter(messages::parent_id.eq(message_id))
            .filter(messages::role.eq(Role::User.as_str()))
            .order(messages::id.desc())
            .select(messages::id)
            .first(c)
            .optional())?;
        if let Some(user_message_id) = user_child {
            return Ok(Some(Fork::BesideUser {
                conversation_id,
                user_message_id,
            }));
        }
    }
    tree::set_active_leaf(conn, conversation_id, Some(message_id))?;
    Ok(Some(Fork::After {
        conversation_id,
        message_id,
    }))
}

impl Store {
    /// The newest message of `user_id`'s conversations whose path hash is `hash`, as
    /// the place a chat forks: beside the user message that follows it when the chat
    /// adds `one_message` and there is one (an edit), else after it, made the active
    /// leaf. `None` when no message has this path.
    pub async fn fork_at_path(
        &self,
        user_id: i64,
        hash: String,
        one_message: bool,
    ) -> Result<Option<Fork>, StoreError> {
        self.write_transaction(move |conn| find(conn, user_id, &hash, one_message))
            .await
    }
}
