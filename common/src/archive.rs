//! Extension bodies of search, export and import (`docs/API.md` §3.11–3.13).

use serde::{Deserialize, Serialize};

/// One hit of `GET /users/{id}/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub conversation_id: i64,
    pub conversation_name: Option<String>,
    pub message_id: i64,
    pub role: crate::Role,
    pub created_at: String,
    /// An excerpt of the message around its first match, on one line, with `…` where
    /// it was cut.
    pub snippet: String,
    /// Where the query's terms are in `snippet`, in characters (Unicode scalar values).
    pub highlights: Vec<Highlight>,
    /// Whether the message lies on its conversation's active path (what
    /// `GET /conversations/{id}` shows); `false` for a message of another branch
    /// (docs/API.md §3.19). Older servers, which had no branches, omit it.
    #[serde(default = "on_the_only_path")]
    pub on_active_path: bool,
}

/// Before branches every message was on its conversation's one path.
fn on_the_only_path() -> bool {
    true
}

/// Characters `start..end` of a snippet (`end` excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Highlight {
    pub start: usize,
    pub end: usize,
}

/// The answer of `POST /users/{id}/import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    /// Conversations stored.
    pub imported: u64,
    /// Conversations of the document that were not stored, and why.
    pub skipped: Vec<SkippedConversation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedConversation {
    /// Its position in the document, from 0.
    pub index: u64,
    pub reason: String,
}

/// The `format` of chatd's own export of one conversation.
pub const CONVERSATION_FORMAT: &str = "chatd.conversation";
/// Its `version`: a change that an older reader would misread gets a new one. Version 2
/// is a tree (`parent_id` on each message, `conversation.active_leaf_id`), which a
/// reader of version 1 would read as one line of every branch.
pub const CONVERSATION_VERSION: u32 = 2;

/// A conversation as `GET /conversations/{id}/export?format=json` gives it, and as
/// `POST /users/{id}/import` takes it back (one document, or one per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationExport {
    /// Always [`CONVERSATION_FORMAT`].
    pub format: String,
    /// [`CONVERSATION_VERSION`] when written by this chatd.
    pub version: u32,
    pub conversation: ExportedConversation,
    /// Every message of every branch, oldest first (a parent before its children), with
    /// its status, its `parent_id` (the `id` of another message of this document) and,
    /// for replies, how it was made.
    pub messages: Vec<crate::Message>,
}

impl ConversationExport {
    /// The messages of the active path, root first: the path up from
    /// `conversation.active_leaf_id` by `parent_id`. A document without an active leaf
    /// (written before branches, or naming no message of the document) is one line:
    /// every message.
    pub fn active_path(&self) -> Vec<&crate::Message> {
        let by_id: std::collections::HashMap<i64, &crate::Message> =
            self.messages.iter().map(|m| (m.id, m)).collect();
        let Some(mut at) = self
            .conversation
            .active_leaf_id
            .and_then(|leaf| by_id.get(&leaf).copied())
        else {
            return self.messages.iter().collect();
        };
        let mut path = vec![at];
        // A parent is always older, but a hand-made document may say otherwise: the
        // walk takes at most one step per message.
        while let Some(parent) = at.parent_id.and_then(|id| by_id.get(&id).copied()) {
            if path.len() >= self.messages.len() {
                break;
            }
            path.push(parent);
            at = parent;
        }
        path.reverse();
        path
    }
}

/// The conversation of an export, with its own settings (each `null` where it uses
/// chatd's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedConversation {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub created_at: String,
    /// Where the name came from: `user`, `first_line` or `model`.
    #[serde(default)]
    pub title_source: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: Option<crate::ChatParams>,
    /// The `id` of the message that ends the active path (version 2); `null` without
    /// messages, absent from version 1.
    #[serde(default)]
    pub active_leaf_id: Option<i64>,
}
