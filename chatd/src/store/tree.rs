//! Branches: a conversation's messages are a tree (`messages.parent_id`, the message
//! each follows) and the conversation names the last message of its active path
//! (`conversations.active_leaf_id`). Everything that reads "the conversation" as a line
//! (the documented read, the history sent to the provider, titles, path hashes, the
//! last turn) reads the path from the root down to that message, which these functions
//! walk.
//!
//! A parent is always an older message of the same conversation (chatd names only
//! stored ones; the migration's triggers and, on PostgreSQL, `parent_id < id` refuse
//! others), so a path is in ascending id order and no walk can loop. The walks are
//! recursive CTEs, the same SQL on both backends, each step one primary-key or
//! `parent_id` index seek.

use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;

use super::fixed_sql::FixedSql;
use super::known_paths::KnownPaths;
use super::schema::{conversations, messages};
use super::{BranchRefusal, Conn, MessageRow, Store, StoreError, on_conn};
use common::Role;

/// Ids per `IN (...)` list: well under both backends' bounds on parameters.
const IDS_PER_STATEMENT: usize = 500;

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Runs `sql`, whose `?` marks are bound to `binds` in order, on either backend; the
/// ids it selects. Prepared once per connection (`fixed_sql.rs`).
fn select_ids<const N: usize>(
    conn: &mut Conn,
    sql: &'static str,
    binds: [i64; N],
) -> QueryResult<Vec<i64>> {
    let query = FixedSql::new(sql, binds);
    let rows: Vec<IdRow> = on_conn!(conn, c => query.load(c))?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// The conversation's active leaf: the last message of its active path; `None` for a
/// conversation without messages (or that does not exist).
pub(crate) fn active_leaf(conn: &mut Conn, conversation_id: i64) -> QueryResult<Option<i64>> {
    Ok(on_conn!(conn, c => conversations::table
        .find(conversation_id)
        .select(conversations::active_leaf_id)
        .first::<Option<i64>>(c)
        .optional())?
    .flatten())
}

/// Makes `leaf` the conversation's active leaf.
pub(crate) fn set_active_leaf(
    conn: &mut Conn,
    conversation_id: i64,
    leaf: Option<i64>,
) -> QueryResult<()> {
    // Fixed SQL (`fixed_sql.rs`), since diesel prepares every `UPDATE` of its DSL anew:
    // this one runs at least twice per chat.
    match leaf {
        Some(leaf) => {
            let update = FixedSql::new(
                "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                [leaf, conversation_id],
            );
            on_conn!(conn, c => update.execute(c))
        }
        None => {
            let update = FixedSql::new(
                "UPDATE conversations SET active_leaf_id = NULL WHERE id = ?",
                [conversation_id],
            );
            on_conn!(conn, c => update.execute(c))
        }
    }
    .map(|_| ())
}

/// The ids of the path that ends at `last`, root first, cut to its last `limit`
/// messages. Each step is a scalar subquery, which both planners run as one
/// primary-key seek whatever their statistics say; written as a join, PostgreSQL planned
/// a hash join over a sequential scan of every message for each step when its
/// statistics were older than the table (a database just filled, before autovacuum's
/// ANALYZE: 4 ms instead of 0.3 ms per read in the benchmark).
pub(crate) fn path_to(conn: &mut Conn, last: i64, limit: i64) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = steps_up(conn, last, limit)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.reverse();
    Ok(ids)
}

#[derive(QueryableByName)]
struct StepRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    parent_id: Option<i64>,
}

/// The message `last` and at most `steps - 1` of its ancestors, each with its parent,
/// `last` first; empty when there is no such message. The walk of [`path_to`]: see
/// there why each step is a scalar subquery.
pub(crate) fn steps_up(
    conn: &mut Conn,
    last: i64,
    steps: i64,
) -> QueryResult<Vec<(i64, Option<i64>)>> {
    let query = FixedSql::new(
        "WITH RECURSIVE path(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 1 FROM messages WHERE id = ? \
             UNION ALL \
             SELECT path.parent_id, \
                    (SELECT m.parent_id FROM messages m WHERE m.id = path.parent_id), \
                    path.depth + 1 \
             FROM path WHERE path.parent_id IS NOT NULL AND path.depth < ? \
         ) SELECT id, parent_id FROM path",
        [last, steps.max(1)],
    );
    let mut rows: Vec<StepRow> = on_conn!(conn, c => query.load(c))?;
    // Each step is older than the one before it.
    rows.sort_unstable_by_key(|row| std::cmp::Reverse(row.id));
    Ok(rows
        .into_iter()
        .map(|row| (row.id, row.parent_id))
        .collect())
}

/// The ids of the conversation's active path, root first.
pub(crate) fn active_path(conn: &mut Conn, conversation_id: i64) -> QueryResult<Vec<i64>> {
    match active_leaf(conn, conversation_id)? {
        Some(leaf) => path_to(conn, leaf, i64::MAX),
        None => Ok(Vec::new()),
    }
}

/// The messages of these ids, in id order; an id with no row is left out.
pub(crate) fn rows(conn: &mut Conn, ids: &[i64]) -> QueryResult<Vec<MessageRow>> {
    if let Conn::Sqlite(c) = conn {
        return messages::table
            .filter(IdInJson(json_array(ids)))
            .order(messages::id.asc())
            .select(MessageRow::as_select())
            .load(&mut **c);
    }
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let part: Vec<MessageRow> = on_conn!(&mut *conn, c => messages::table
            .filter(messages::id.eq_any(chunk))
            .order(messages::id.asc())
            .select(MessageRow::as_select())
            .load(c))?;
        found.extend(part);
    }
    found.sort_unstable_by_key(|row| row.id);
    Ok(found)
}

/// The ids as a JSON array, `[1,2,3]`.
fn json_array(ids: &[i64]) -> String {
    let mut json = String::with_capacity(ids.len() * 8 + 2);
    json.push('[');
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        json.push_str(&id.to_string());
    }
    json.push(']');
    json
}

/// `messages.id IN` the ids of a JSON array bound as one text, for SQLite: an `IN`
/// list of binds has as many placeholders as ids, and diesel never keeps such a
/// statement prepared, while this one is the same statement whatever the number of ids
/// (PostgreSQL binds one array, `= ANY($1)`, which diesel keeps already). The history
/// of every chat and the first message of every title are read through it.
#[derive(Debug)]
struct IdInJson(String);

impl Expression for IdInJson {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for IdInJson {}

impl<GB> diesel::expression::ValidGrouping<GB> for IdInJson {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for IdInJson {
    type QueryId = IdInJson;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Sqlite> for IdInJson {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("`messages`.`id` IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql("))");
        Ok(())
    }
}

/// The last `limit` messages of the path that ends at `last`, oldest first; in a read.
pub(crate) fn path_rows(
    conn: &mut Conn,
    paths: &KnownPaths,
    last: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let ids = paths.path_to(conn, last, limit)?;
    rows(conn, &ids)
}

/// The ids of the message `id` and of every message below it.
pub(crate) fn subtree(conn: &mut Conn, id: i64) -> QueryResult<Vec<i64>> {
    select_ids(
        conn,
        "WITH RECURSIVE below(id) AS ( \
             SELECT id FROM messages WHERE id = ? \
             UNION ALL \
             SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id \
         ) SELECT id FROM below",
        [id],
    )
}

/// The newest leaf below the message `id` (itself when nothing follows it): the newest
/// message of its subtree, which nothing can follow, as a child is always newer than
/// its parent.
pub(crate) fn newest_leaf_below(conn: &mut Conn, id: i64) -> QueryResult<i64> {
    Ok(subtree(conn, id)?.into_iter().max().unwrap_or(id))
}

/// How many replies (assistant messages) follow the user message `user_message_id`.
pub(crate) fn reply_count(conn: &mut Conn, user_message_id: i64) -> QueryResult<i64> {
    on_conn!(conn, c => messages::table
        .filter(messages::parent_id.eq(user_message_id))
        .filter(messages::role.eq(Role::Assistant.as_str()))
        .count()
        .get_result(c))
}

/// A user message as a reply to it is stored: how many replies it has, and its path
/// hash (`None` for a row from before path hashes).
#[derive(QueryableByName)]
pub(crate) struct Answering {
    #[diesel(sql_type = BigInt)]
    pub replies: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub path_hash: Option<String>,
}

/// What storing a reply to the user message `user_message_id` reads of it, in one
/// statement with whether it exists at all: `None` when it is gone (deleted with its
/// turn, or with its conversation, whose messages go with it).
pub(crate) fn answering(conn: &mut Conn, user_message_id: i64) -> QueryResult<Option<Answering>> {
    let query = FixedSql::new(
        "SELECT (SELECT COUNT(*) FROM messages r \
         WHERE r.parent_id = m.id AND r.role = 'assistant') AS replies, m.path_hash \
         FROM messages m WHERE m.id = ?",
        [user_message_id],
    );
    on_conn!(conn, c => query.get_result(c).optional())
}

/// Makes `leaf` the active leaf if the path still ends at `after` (nothing moved it
/// meanwhile): one statement, where reading the leaf and then setting it were two.
pub(crate) fn advance_active_leaf(
    conn: &mut Conn,
    conversation_id: i64,
    after: i64,
    leaf: i64,
) -> QueryResult<()> {
    let update = FixedSql::new(
        "UPDATE conversations SET active_leaf_id = ? WHERE id = ? AND active_leaf_id = ?",
        [leaf, conversation_id, after],
    );
    on_conn!(conn, c => update.execute(c))?;
    Ok(())
}

/// The `index`-th reply (0: the first) of the user message `user_message_id`.
pub(crate) fn reply(
    conn: &mut Conn,
    user_message_id: i64,
    index: i32,
) -> QueryResult<Option<MessageRow>> {
    on_conn!(conn, c => messages::table
        .filter(messages::parent_id.eq(user_message_id))
        .filter(messages::role.eq(Role::Assistant.as_str()))
        .order(messages::id.asc())
        .offset(i64::from(index.max(0)))
        .select(MessageRow::as_select())
        .first(c)
        .optional())
}

/// Which of its user message's replies the assistant message `reply` is (0: the
/// first).
pub(crate) fn index_of_reply(
    conn: &mut Conn,
    user_message_id: i64,
    reply: i64,
) -> QueryResult<i32> {
    let earlier: i64 = on_conn!(conn, c => messages::table
        .filter(messages::parent_id.eq(user_message_id))
        .filter(messages::role.eq(Role::Assistant.as_str()))
        .filter(messages::id.lt(reply))
        .count()
        .get_result(c))?;
    Ok(i32::try_from(earlier).unwrap_or(i32::MAX))
}

/// The conversation and parent of a message, with its role.
pub(crate) fn placement(
    conn: &mut Conn,
    id: i64,
) -> QueryResult<Option<(i64, Option<i64>, String)>> {
    on_conn!(conn, c => messages::table
        .find(id)
        .select((messages::conversation_id, messages::parent_id, messages::role))
        .first(c)
        .optional())
}

/// Every message of a conversation, in id order, at most `limit`.
pub(crate) fn nodes(
    conn: &mut Conn,
    conversation_id: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    on_conn!(conn, c => messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::id.asc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(c))
}

/// Messages one tree read returns at most.
pub const TREE_MAX_MESSAGES: i64 = 10_000;

/// A conversation's whole tree, as `GET /conversations/{id}/tree` shows it.
#[derive(Debug)]
pub struct TreeRead {
    pub active_leaf_id: Option<i64>,
    /// Oldest first, at most [`TREE_MAX_MESSAGES`].
    pub messages: Vec<MessageRow>,
    /// The ids of the active path.
    pub active_path: Vec<i64>,
    /// Whether `messages` holds every message.
    pub complete: bool,
}

/// What switching branch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// The active leaf is now this message.
    Switched(i64),
    NoConversation,
    /// No message of this conversation has the id (another conversation's, or none).
    NotHere(BranchRefusal),
    /// A reply is running on the conversation (its lease is held).
    Busy,
}

fn read_tree(
    conn: &mut Conn,
    paths: &KnownPaths,
    conversation_id: i64,
) -> QueryResult<Option<TreeRead>> {
    if !super::conversations::exists(conn, conversation_id)? {
        return Ok(None);
    }
    let active_leaf_id = active_leaf(conn, conversation_id)?;
    let messages = nodes(conn, conversation_id, TREE_MAX_MESSAGES + 1)?;
    let complete = i64::try_from(messages.len()).unwrap_or(i64::MAX) <= TREE_MAX_MESSAGES;
    let mut messages = messages;
    messages.truncate(usize::try_from(TREE_MAX_MESSAGES).unwrap_or(usize::MAX));
    let active_path = match active_leaf_id {
        Some(leaf) => paths.path_to(conn, leaf, i64::MAX)?,
        None => Vec::new(),
    };
    Ok(Some(TreeRead {
        active_leaf_id,
        messages,
        active_path,
        complete,
    }))
}

fn switch(conn: &mut Conn, conversation_id: i64, message_id: i64) -> QueryResult<Switch> {
    if !super::conversations::exists(conn, conversation_id)? {
        return Ok(Switch::NoConversation);
    }
    match placement(conn, message_id)? {
        None => return Ok(Switch::NotHere(BranchRefusal::Unknown)),
        Some((of, _, _)) if of != conversation_id => {
            return Ok(Switch::NotHere(BranchRefusal::OtherConversation));
        }
        Some(_) => {}
    }
    if super::lease::of(conn, conversation_id)?.is_some() {
        return Ok(Switch::Busy);
    }
    let leaf = newest_leaf_below(conn, message_id)?;
    set_active_leaf(conn, conversation_id, Some(leaf))?;
    Ok(Switch::Switched(leaf))
}

impl Store {
    /// Every message of a conversation with its active path (at most
    /// [`TREE_MAX_MESSAGES`] messages); `None` when it does not exist. One transaction.
    pub async fn conversation_tree(
        &self,
        conversation_id: i64,
    ) -> Result<Option<TreeRead>, StoreError> {
        let paths = self.paths.clone();
        self.read(
            move |conn| Ok(conn.transaction(|conn| read_tree(conn, &paths, conversation_id))?),
        )
        .await
    }

    /// Makes the path through `message_id` active: its newest leaf becomes the active
    /// leaf (the message itself when nothing follows it). Refused while the
    /// conversation's reply lease is held.
    pub async fn switch_branch(
        &self,
        conversation_id: i64,
        message_id: i64,
    ) -> Result<Switch, StoreError> {
        self.write_transaction(move |conn| switch(conn, conversation_id, message_id))
            .await
    }
}
