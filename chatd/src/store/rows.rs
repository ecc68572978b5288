//! The rows the store reads and writes, and the outcomes its calls report.

use chrono::NaiveDateTime;
use common::{MessageStatus, Role};
use diesel::prelude::*;

use super::columns;
use super::known_texts::{Said, Unkept};
use super::schema::{conversations, messages, reply_checkpoints, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
    /// The last message of its active path (`tree.rs`); `None` while it has none.
    pub active_leaf_id: Option<i64>,
}

/// A conversation as its user's list shows it. The list is one user's, so the row holds
/// only what differs between its conversations: a list read is many rows, and each
/// column read costs its share (`GET /users/{id}/conversations` in BENCHMARKS.md).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ListedConversationRow {
    pub id: i64,
    pub name: Option<String>,
    pub created_at: columns::ApiTime,
}

/// A conversation's own settings, as stored: each `None` means chatd's default. `params`
/// is the JSON text of a [`common::ChatParams`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ConversationSettingsRow {
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub params: Option<String>,
    pub title_source: Option<String>,
}

/// A change of a conversation's name and settings: each `None` leaves the column as it
/// is, `Some(None)` sets it to NULL (back to chatd's default), `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = conversations)]
pub struct SettingsChange {
    pub name: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub system_prompt: Option<Option<String>>,
    pub params: Option<Option<String>>,
    pub title_source: Option<Option<String>>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        *self == SettingsChange::default()
    }
}

/// What a conversation's title is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleInputs {
    /// Whose the conversation is, for the feed's `conversation.updated`.
    pub user_id: i64,
    /// A conversation that has a name gets no title.
    pub name: Option<String>,
    pub first_user_message: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    #[diesel(deserialize_as = columns::StoredRole)]
    pub role: Role,
    pub content: String,
    #[diesel(deserialize_as = columns::StoredStatus)]
    pub status: MessageStatus,
    #[diesel(deserialize_as = columns::StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    pub details: MessageDetails,
    /// The message it follows in its conversation's tree; `None` for a root (a first
    /// message, or an edit of one).
    pub parent_id: Option<i64>,
}

/// What chatd knows of how an assistant message was made; all `None` for user messages
/// and for replies stored before chatd kept them. Also written to the recovery file,
/// where a file of an older chatd has none of them.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Queryable,
    Selectable,
    Insertable,
    serde::Serialize,
    serde::Deserialize,
)]
#[diesel(table_name = messages)]
// `None` is bound as NULL (each column's default), not written as `DEFAULT`: an insert
// whose SQL depends on which details are known is one diesel never caches, so every
// message insert was prepared anew (profiles: the largest single cost of a chat).
#[diesel(treat_none_as_default_value = false)]
#[serde(default)]
pub struct MessageDetails {
    /// `PROVIDER/MODEL`, the model as the provider reported it, else as it was asked for.
    pub model: Option<String>,
    /// The provider's `finish_reason`, as it wrote it.
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    /// From the request to the provider to its first content or reasoning delta.
    pub ttft_ms: Option<i64>,
    /// From the request to the provider to the reply's end.
    pub duration_ms: Option<i64>,
    pub reasoning: Option<String>,
}

impl MessageDetails {
    /// No details: a user message, or a reply chatd knows nothing more of.
    pub const NONE: MessageDetails = MessageDetails {
        model: None,
        finish_reason: None,
        prompt_tokens: None,
        completion_tokens: None,
        ttft_ms: None,
        duration_ms: None,
        reasoning: None,
    };
}

/// A conversation's reply lease, as stored: who generates its reply, for which user
/// message, what it has generated so far and when it last said it was alive.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = reply_checkpoints)]
pub struct LeaseRow {
    pub conversation_id: i64,
    pub user_message_id: i64,
    pub owner: String,
    pub content: String,
    pub updated_at: NaiveDateTime,
    /// Which of the user message's replies it is: 0 for its first, 1 for the first
    /// regenerated one, ...
    pub reply_index: i32,
    /// The reasoning so far, beside `content` (both as of the last checkpoint).
    pub reasoning: String,
}

/// What `POST /users/` can run into besides a broken database.
#[derive(Debug)]
pub enum CreateUserOutcome {
    Created(UserRow),
    UsernameTaken,
}

/// One message of a conversation read: what the caller already had, or the row.
// A read holds a list of these, most of them rows: boxing each row would add an
// allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum KnownOrRow<T> {
    Known(T),
    Row(MessageRow),
}

/// A reply that has ended and is to be stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinishedReply {
    pub conversation_id: i64,
    /// The user message it answers.
    pub user_message_id: i64,
    /// Which of that message's replies it is (0: the first); lines of the recovery file
    /// from before branches have none, and were first replies.
    #[serde(default)]
    pub reply_index: i32,
    pub content: String,
    pub status: MessageStatus,
    /// Added after the recovery file's first format: older lines have none.
    #[serde(default)]
    pub details: MessageDetails,
}

/// What starting a chat ran into.
// Made once per chat and moved once; boxing the big variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum BeginChat {
    /// The user message is stored and the lease taken.
    Started(ChatStart),
    NoConversation,
    /// A live reply (of this or another chatd) holds the conversation.
    Busy,
    /// The conversation's last message is not the one the turn expected: another
    /// request continued it in between.
    Moved,
    /// The turn's idempotency key was used before: with the same body (the chat of the
    /// user message given), or with another.
    Seen(super::idempotency::KeyLookup),
    /// The message the turn was to branch at (an `edit_of`, a regenerate's
    /// `message_id`) cannot be: the reason says why.
    NoBranch(BranchRefusal),
}

/// Why a turn cannot branch at the message it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchRefusal {
    /// No message has this id.
    Unknown,
    /// The message belongs to another conversation.
    OtherConversation,
    /// An edit names an assistant message, or a regenerate a user message that has
    /// replies (its replies are what is regenerated).
    WrongRole,
    /// A regenerate with no message named, on a conversation with no message.
    Empty,
}

/// Where a chat's user message goes in its conversation's tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Branch {
    /// After the active leaf: every chat of the original API.
    #[default]
    Continue,
    /// Beside this earlier user message of the conversation (the same parent): an edit,
    /// a new branch.
    EditOf(i64),
}

/// What a chat adds to its conversation before the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTurn {
    /// The user's messages, oldest first; never empty (a chat adds at least one).
    pub contents: Vec<String>,
    /// `Some(last)`: store them only if the conversation's last message is still `last`
    /// (`None` inside: it has none).
    pub after: Option<Option<i64>>,
    /// The request's `Idempotency-Key`: the turn is stored only if the key is new.
    pub key: Option<super::idempotency::RequestKey>,
    /// Where the turn goes; only `Continue` with more than one message.
    pub branch: Branch,
}

impl UserTurn {
    /// One message, whatever came before: the turn of `POST /chat`.
    pub fn one(content: String) -> UserTurn {
        UserTurn {
            contents: vec![content],
            after: None,
            key: None,
            branch: Branch::Continue,
        }
    }
}

/// What a started chat read in the transaction that stored its user message.
#[derive(Debug)]
pub struct ChatStart {
    pub user_message: MessageRow,
    /// Which of the user message's replies this chat makes (0: its first; a regenerate
    /// makes the next).
    pub reply_index: i32,
    /// The last `history_limit` messages of the path to the user message, oldest first,
    /// the user message included.
    pub history: Vec<Said>,
    /// What reading `history` found that was not kept: the store keeps it once the
    /// chat's transaction has committed, and hands this on empty.
    pub(crate) unkept: Unkept,
    /// The conversation's settings as they were when the chat started.
    pub settings: ConversationSettingsRow,
    /// The user the conversation belongs to.
    pub user_id: i64,
}

/// What storing a finished reply found.
// Made once per reply and matched at once; boxing the row would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum StoredReply {
    /// The reply is stored now.
    Inserted(MessageRow),
    /// This reply of the user message is stored already (an earlier attempt whose
    /// answer was lost, or a peer that took the lease over): nothing stored twice.
    AlreadyAnswered,
    /// The conversation is gone.
    NoConversation,
}
