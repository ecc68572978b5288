//! Extension routes of branches (docs/API.md §3.19): `POST /conversations/{id}/regenerate`
//! (a new reply beside an old one, streamed as `POST /chat` streams) and
//! `GET /conversations/{id}/tree` (every message with its parent and siblings). An edit
//! is `POST /chat` with `edit_of`, a switch `PATCH /conversations/{id}` with
//! `active_leaf_id`; the tree itself is `store/tree.rs`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use common::{ConversationTree, RegenerateRequest, TreeMessage};
use futures_util::Stream;
use serde_json::json;
use warp::http::{HeaderMap, StatusCode, header};
use warp::reply::Response;

use super::chat_answers::{self, ChatAnswer};
use super::error::{Invalid, json_response};
use super::input::{self, Fields};
use super::openapi::schemas::{Detail, ReplyEvent, ValidationError};
use super::{ApiError, App, begin_error, path_id, path_id_or_problems, views};
use crate::replies::BeginError;
use crate::store::BranchRefusal;

/// The 422 of a message named by `field` (`edit_of`, `message_id`, `active_leaf_id`)
/// that the conversation cannot branch at.
pub(crate) fn refused(
    field: &str,
    input: Option<i64>,
    conversation_id: i64,
    refusal: BranchRefusal,
) -> ApiError {
    let reason = match refusal {
        BranchRefusal::Unknown => "no message has this id".to_string(),
        BranchRefusal::OtherConversation => {
            format!("the message is not one of conversation {conversation_id}")
        }
        BranchRefusal::WrongRole if field == "edit_of" => {
            "only a user message can be edited".to_string()
        }
        BranchRefusal::WrongRole => {
            "name an assistant message to regenerate (a user message is answered again \
             through one of its replies)"
                .to_string()
        }
        BranchRefusal::Empty => "the conversation has no message to regenerate".to_string(),
    };
    ApiError::Invalid(vec![
        Invalid::new(
            "value_error",
            Fields::loc(field),
            format!("Value error, {reason}"),
            json!(input),
        )
        .with_ctx(json!({ "error": reason })),
    ])
}

/// Whether a request came without a body: a POST whose fields are all optional may.
fn has_no_body(headers: &HeaderMap) -> bool {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    matches!(declared, Some("0")) || (declared.is_none() && !chunked)
}

#[utoipa::path(
    post, path = "/api/v1/conversations/{conversation_id}/regenerate", tag = "chat",
    params(
        ("conversation_id" = i64, Path),
        ("events" = Option<bool>, Query, description = "As for `POST /chat`"),
        ("detach" = Option<bool>, Query, description = "As for `POST /chat`: 202 once the reply has begun"),
    ),
    request_body(content = Option<RegenerateRequest>, description = "Optional: which assistant message to answer again"),
    responses(
        (status = 200, content_type = "text/event-stream", body = ReplyEvent, description = "The new reply as Server-Sent Events, framed exactly as `POST /chat` frames its reply; its cursors name it as `ID.N` when it is not the user message's first (docs/API.md §3.19)"),
        (status = 202, description = "With `?detach=true`: the user message answered again and the new reply's cursor", body = common::DetachedChat),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 409, description = "A reply is already being generated for this conversation", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "A bad id, body, `events` or `detach`; a `message_id` that is not an assistant message of this conversation; an empty conversation", body = ValidationError),
        (status = 502, description = "The provider failed before the first token; nothing is stored", body = Detail),
    )
)]
/// Extension: POST /conversations/{conversation_id}/regenerate
pub async fn regenerate<S>(
    app: &App,
    raw_id: &str,
    query: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let mut problems = Vec::new();
    let id = path_id_or_problems("conversation_id", raw_id, &mut problems)?;
    let pairs = input::query_pairs(query);
    let answer = ChatAnswer::asked(&pairs)?;
    let object = if has_no_body(headers) {
        serde_json::Map::new()
    } else {
        input::json_object(headers, body).await?
    };
    let mut fields = Fields::new(&object);
    let message_id = fields.optional_id("message_id");
    fields.forbid_others(&["message_id"]);
    problems.append(&mut fields.errors);
    let Some(id) = id.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Invalid(problems));
    };
    let begun = match answer {
        ChatAnswer::Detached => app.replies.regenerate_at_once(id, message_id).await,
        ChatAnswer::Stream(_) => app.replies.regenerate(id, message_id).await,
    };
    match begun {
        Ok(reply) => Ok(chat_answers::live(reply, answer)),
        Err(BeginError::NoBranch(refusal)) => Err(refused("message_id", message_id, id, refusal)),
        Err(error) => Err(begin_error(error)),
    }
}

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}/tree", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 200, description = "Every message with its parent, status and siblings, and the active leaf", body = ConversationTree),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: GET /conversations/{conversation_id}/tree
pub async fn tree(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    let read = app
        .store
        .conversation_tree(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    // Messages come oldest first, so each list of siblings is too.
    let mut siblings: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
    for message in &read.messages {
        siblings
            .entry(message.parent_id)
            .or_default()
            .push(message.id);
    }
    let active: HashSet<i64> = read.active_path.iter().copied().collect();
    let messages = read
        .messages
        .into_iter()
        .map(|row| TreeMessage {
            id: row.id,
            parent_id: row.parent_id,
            role: row.role,
            status: row.status,
            created_at: views::timestamp(&row.created_at),
            siblings: siblings.get(&row.parent_id).cloned().unwrap_or_default(),
            active: active.contains(&row.id),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ConversationTree {
            conversation_id: id,
            active_leaf_id: read.active_leaf_id,
            messages,
            complete: read.complete,
        },
    ))
}
