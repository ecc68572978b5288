//! Extension bodies of search, export and import (`docs/API.md` §3.10–3.12).

use serde::{Deserialize, Serialize};

/// One hit of `GET /users/{id}/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Characters `start..end` of a snippet (`end` excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlight {
    pub start: usize,
    pub end: usize,
}

/// The answer of `POST /users/{id}/import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Conversations stored.
    pub imported: u64,
    /// Conversations of the document that were not stored, and why.
    pub skipped: Vec<SkippedConversation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedConversation {
    /// Its position in the document, from 0.
    pub index: u64,
    pub reason: String,
}
