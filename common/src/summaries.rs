//! Extension `GET /users/{user_id}/conversations/summaries`: a user's conversations with
//! what a list for people needs (how many messages, when last active), in one request.

use serde::{Deserialize, Serialize};

/// One page of a user's conversation summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSummaries {
    /// How many conversations the user has in all (not only on this page).
    pub total: u64,
    pub conversations: Vec<ConversationSummary>,
}

/// A conversation as listed for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSummary {
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    pub created_at: String,
    pub message_count: u64,
    /// The newest message's `created_at`, else the conversation's.
    pub last_activity_at: String,
}

/// The order of a summaries page, by last activity (ties: the newer conversation first
/// for `newest`, the older for `oldest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryOrder {
    Newest,
    Oldest,
}

impl SummaryOrder {
    /// The `order` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            SummaryOrder::Newest => "newest",
            SummaryOrder::Oldest => "oldest",
        }
    }

    pub fn parse(text: &str) -> Option<SummaryOrder> {
        match text {
            "newest" => Some(SummaryOrder::Newest),
            "oldest" => Some(SummaryOrder::Oldest),
            _ => None,
        }
    }
}
