//! Path hashes: how the OpenAI front door finds the conversation a client continues
//! from the history it resends, with one indexed look-up instead of a scan.
//!
//! A message's `path_hash` is a chain: the SHA-256 of its parent's hash (or, for a root,
//! of the conversation's system prompt) with this message's role and content. So it
//! names the whole path of the tree up to and including the message, system prompt
//! first, and the hash of a new message costs one read of its parent. Text is normalised first (CRLF and CR to LF, NUL dropped), as chatd
//! normalises what it stores, so a client resending what it was given finds it.
//!
//! A conversation's hashes are made again when its system prompt changes, and rows
//! written before the column existed are filled in batches after start-up
//! ([`Store::fill_path_hashes`]); until then such a conversation is not found, and a
//! client continuing it starts a new one.

use std::collections::HashMap;

use common::Role;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::{conversations, messages};
use super::{Conn, Store, StoreError, on_conn, tree};

/// How many candidates of one hash are looked at: the same history can be stored more
/// than once (two clients that said the same, or two branches), and only one that is
/// its conversation's active leaf continues it.
const CANDIDATES: i64 = 16;

/// Conversations whose missing hashes are filled per transaction.
const FILL_BATCH: i64 = 200;

/// The hash a path starts from: the conversation's system prompt (none is "").
pub fn start(system_prompt: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"chatd-path-1\0system\0");
    update_normalised(&mut hasher, system_prompt.unwrap_or(""));
    crate::hex(&hasher.finalize())
}

/// The hash of a path that continues the path hashed as `previous` with one message.
pub fn next(previous: &str, role: Role, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(b"\0");
    hasher.update(role.as_str().as_bytes());
    hasher.update(b"\0");
    update_normalised(&mut hasher, content);
    crate::hex(&hasher.finalize())
}

/// Feeds `text` with its line breaks as LF and without NUL, without copying it.
fn update_normalised(hasher: &mut Sha256, text: &str) {
    let mut rest = text.as_bytes();
    while let Some(at) = rest.iter().position(|b| matches!(b, b'\r' | b'\0')) {
        hasher.update(&rest[..at]);
        if rest[at] == b'\r' {
            hasher.update(b"\n");
            if rest.get(at + 1) == Some(&b'\n') {
                rest = &rest[at + 2..];
                continue;
            }
        }
        rest = &rest[at + 1..];
    }
    hasher.update(rest);
}

/// The hash of a new message of `conversation_id` after `parent`, from the parent's hash
/// (or the system prompt for a root); `None` while the parent has no hash yet (a row
/// from before path hashes, filled later together with this one).
pub(crate) fn of_new(
    conn: &mut Conn,
    conversation_id: i64,
    parent: Option<i64>,
    role: Role,
    content: &str,
) -> QueryResult<Option<String>> {
    let previous: Option<Option<String>> = match parent {
        Some(parent) => on_conn!(conn, c => messages::table
            .find(parent)
            .select(messages::path_hash)
            .first(c)
            .optional())?,
        None => None,
    };
    Ok(match previous {
        Some(Some(previous)) => Some(next(&previous, role, content)),
        Some(None) => None,
        None => {
            let prompt = system_prompt(conn, conversation_id)?;
            Some(next(&start(prompt.as_deref()), role, content))
        }
    })
}

fn system_prompt(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<String>> {
    Ok(on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(conversations::system_prompt)
        .first::<Option<String>>(c)
        .optional())?
    .flatten())
}

/// Makes every hash of a conversation again, from its system prompt on: after the
/// prompt changed, or for rows stored before path hashes.
pub(crate) fn rehash(conn: &mut Conn, conversation_id: i64) -> QueryResult<()> {
    let prompt = system_prompt(conn, conversation_id)?;
    let rows: Vec<(i64, Option<i64>, String, String)> = on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::id.asc())
        .select((messages::id, messages::parent_id, messages::role, messages::content))
        .load(c))?;
    let root = start(prompt.as_deref());
    // In id order every parent comes before its children.
    let mut hashes: HashMap<i64, String> = HashMap::with_capacity(rows.len());
    for (id, parent, role, content) in rows {
        let role = if role == Role::Assistant.as_str() {
            Role::Assistant
        } else {
            Role::User
        };
        let previous = parent.and_then(|p| hashes.get(&p)).unwrap_or(&root);
        let hash = next(previous, role, &content);
        on_conn!(&mut *conn, c => diesel::update(messages::table.find(id))
            .set(messages::path_hash.eq(&hash))
            .execute(c))?;
        hashes.insert(id, hash);
    }
    Ok(())
}

/// The conversation of `user_id` whose active leaf's path hash is `hash`, with that
/// message's id: the conversation a request resending this path continues.
fn continued(conn: &mut Conn, user_id: i64, hash: &str) -> QueryResult<Option<(i64, i64)>> {
    let candidates: Vec<(i64, i64)> = on_conn!(conn, c => messages::table
        .inner_join(conversations::table)
        .filter(messages::path_hash.eq(hash))
        .filter(conversations::user_id.eq(user_id))
        .order(messages::id.desc())
        .limit(CANDIDATES)
        .select((messages::conversation_id, messages::id))
        .load(c))?;
    for (conversation_id, message_id) in candidates {
        if tree::active_leaf(conn, conversation_id)? == Some(message_id) {
            return Ok(Some((conversation_id, message_id)));
        }
    }
    Ok(None)
}

/// Fills the hashes of up to `FILL_BATCH` conversations that have messages without
/// one; how many conversations it filled.
fn fill_batch(conn: &mut Conn) -> QueryResult<usize> {
    let missing: Vec<i64> = on_conn!(conn, c => messages::table
        .filter(messages::path_hash.is_null())
        .select(messages::conversation_id)
        .distinct()
        .limit(FILL_BATCH)
        .load(c))?;
    for conversation_id in &missing {
        rehash(conn, *conversation_id)?;
    }
    Ok(missing.len())
}

impl Store {
    /// The conversation of `user_id` that a request resending the path hashed as
    /// `hash` continues, with the id of its active leaf; `None` when no conversation
    /// of that user's active path is exactly this path.
    pub async fn conversation_by_path(
        &self,
        user_id: i64,
        hash: String,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        self.read(move |conn| Ok(continued(conn, user_id, &hash)?))
            .await
    }

    /// Fills the path hashes of messages stored before chatd kept them, a batch of
    /// conversations per transaction; how many conversations were filled. Bounded: a
    /// row written without a hash meanwhile (its previous one had none yet) is filled by
    /// a later batch, and at most `rounds` batches run.
    pub async fn fill_path_hashes(&self, rounds: usize) -> Result<usize, StoreError> {
        let mut filled = 0;
        for _ in 0..rounds {
            let batch = self.write_transaction(fill_batch).await?;
            if batch == 0 {
                break;
            }
            filled += batch;
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_nul_do_not_change_the_hash() {
        let plain = next(&start(Some("be brief")), Role::User, "one\ntwo\nthree");
        assert_eq!(
            next(&start(Some("be brief")), Role::User, "one\r\ntwo\rthree\0"),
            plain
        );
        assert_ne!(next(&start(None), Role::User, "one\ntwo\nthree"), plain);
        assert_ne!(
            next(&start(Some("be brief")), Role::Assistant, "one\ntwo\nthree"),
            plain
        );
    }

    #[test]
    fn a_path_is_hashed_in_order() {
        let ab = next(&next(&start(None), Role::User, "a"), Role::Assistant, "b");
        let ba = next(&next(&start(None), Role::User, "b"), Role::Assistant, "a");
        assert_ne!(ab, ba);
        assert_eq!(start(None), start(Some("")));
        assert_eq!(ab.len(), 64);
    }
}
