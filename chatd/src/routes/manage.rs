//! Extension routes that manage conversations and users: a conversation's settings
//! (`GET /conversations/{id}/settings`, `PATCH /conversations/{id}`) and deleting
//! (`DELETE /conversations/{id}`, `DELETE /users/{id}/conversations?before=`,
//! `DELETE /users/{id}`). A delete stops the replies running on what it deletes before
//! and after its transaction, so that nothing of them is stored afterwards.

use std::collections::HashSet;

use bytes::Bytes;
use chrono::DateTime;
use common::{ConversationSettings, DeletedConversations, UpdateConversationRequest};
use futures_util::Stream;
use serde_json::json;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::error::{Invalid, json_response};
use super::input::{self, Fields};
use super::openapi::schemas::{Detail, ValidationError};
use super::settings::{self, given};
use super::{ApiError, App, CONVERSATION_NAME_MAX_CHARS, path_id, path_id_or_problems};
use crate::events::Event;
use crate::store::{SettingsChange, Switch, TITLE_BY_USER};

/// The fields `PATCH /conversations/{id}` takes.
const UPDATABLE: [&str; 5] = ["name", "model", "system_prompt", "params", "active_leaf_id"];

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}/settings", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 200, description = "The settings a chat started now would use", body = ConversationSettings),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: GET /conversations/{conversation_id}/settings
pub async fn get_settings(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    let (conversation, own) = app
        .store
        .conversation_settings(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    Ok(json_response(
        StatusCode::OK,
        &settings::view(app, conversation, own),
    ))
}

#[utoipa::path(
    patch, path = "/api/v1/conversations/{conversation_id}", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    request_body = UpdateConversationRequest,
    responses(
        (status = 200, description = "The settings after the change, with the active leaf", body = ConversationSettings),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 409, description = "`active_leaf_id` while a reply is being generated for the conversation", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "A bad id or body, an unknown field or model, an `active_leaf_id` that is not a message of this conversation", body = ValidationError),
    )
)]
/// Extension: PATCH /conversations/{conversation_id}. A chat already running keeps the
/// settings it started with.
pub async fn update_conversation<S>(
    app: &App,
    raw_id: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let mut problems = Vec::new();
    let id = path_id_or_problems("conversation_id", raw_id, &mut problems)?;
    let object = input::json_object(headers, body).await?;
    let mut fields = Fields::new(&object);
    let name = given(&mut fields, "name", |fields| {
        fields
            .optional_string("name", CONVERSATION_NAME_MAX_CHARS)
            .flatten()
    });
    let own = settings::read(app, &mut fields).await;
    // Extension (§3.19): switch branch. `null` names no message.
    let leaf = match fields.get("active_leaf_id") {
        Some(serde_json::Value::Null) => {
            fields.reject(
                "active_leaf_id",
                "null",
                "name a message of the conversation",
            );
            None
        }
        Some(_) => fields.optional_id("active_leaf_id"),
        None => None,
    };
    fields.forbid_others(&UPDATABLE);
    problems.append(&mut fields.errors);
    let Some(id) = id.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Invalid(problems));
    };
    let title_source = name
        .as_ref()
        .map(|name| name.as_ref().map(|_| TITLE_BY_USER.to_string()));
    let change = SettingsChange {
        name,
        model: own.model,
        system_prompt: own.system_prompt,
        params: own.params,
        title_source,
    };
    if let Some(leaf) = leaf {
        switch_branch(app, id, leaf).await?;
    }
    let (conversation, own) = app
        .store
        .update_conversation(id, change)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    app.events.announce(Event::ConversationUpdated {
        conversation_id: id,
        user_id: conversation.user_id,
    });
    Ok(json_response(
        StatusCode::OK,
        &settings::view(app, conversation, own),
    ))
}

/// Makes the path through `message_id` the conversation's active one (§3.19): first,
/// so that a refused switch changes none of the settings sent with it.
async fn switch_branch(app: &App, id: i64, message_id: i64) -> Result<(), ApiError> {
    let busy = || {
        ApiError::detail(
            StatusCode::CONFLICT,
            "A reply is being generated for this conversation; switch branch once it has \
             ended, or cancel it",
        )
    };
    if app.replies.attach(id).is_some() {
        return Err(busy());
    }
    match app.store.switch_branch(id, message_id).await? {
        Switch::Switched(_) => Ok(()),
        Switch::NoConversation => Err(ApiError::not_found("Conversation not found")),
        Switch::NotHere(refusal) => Err(super::branches::refused(
            "active_leaf_id",
            Some(message_id),
            id,
            refusal,
        )),
        Switch::Busy => Err(busy()),
    }
}

#[utoipa::path(
    delete, path = "/api/v1/conversations/{conversation_id}", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted, with its messages; a reply in flight is stopped"),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: DELETE /conversations/{conversation_id}
pub async fn delete_conversation(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    let ids = HashSet::from([id]);
    // Whose it was, for the announcement; a conversation already gone is the 404 below.
    let user_id = app
        .store
        .conversation_settings(id)
        .await?
        .map(|(row, _)| row.user_id);
    app.replies.stop_all(&ids).await;
    let existed = app.store.delete_conversation(id).await?;
    // A chat that began between the stop and the delete has nothing left to store in.
    app.replies.cancel_all(&ids);
    if !existed {
        return Err(ApiError::not_found("Conversation not found"));
    }
    app.events.announce(Event::ConversationDeleted {
        conversation_id: id,
        user_id,
    });
    Ok(no_content())
}

#[utoipa::path(
    delete, path = "/api/v1/users/{user_id}/conversations", tag = "conversations",
    params(
        ("user_id" = i64, Path),
        ("before" = String, Query, format = DateTime, description = "RFC 3339 with an offset: conversations last active before it are deleted"),
    ),
    responses(
        (status = 200, description = "How many were deleted", body = DeletedConversations),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 422, description = "A bad id, `before` missing or not a date", body = ValidationError),
    )
)]
/// Extension: DELETE /users/{user_id}/conversations?before=RFC3339. Conversations with
/// a reply in flight are kept.
pub async fn prune_conversations(
    app: &App,
    raw_id: &str,
    query: &str,
) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let user_id = path_id_or_problems("user_id", raw_id, &mut problems)?;
    let pairs = input::query_pairs(query);
    let loc = vec![json!("query"), json!("before")];
    let before = match input::query_value(&pairs, "before") {
        None => {
            problems.push(Invalid::new(
                "missing",
                loc,
                "Field required",
                serde_json::Value::Null,
            ));
            None
        }
        Some(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(at.naive_utc()),
            Err(e) => {
                let reason = format!("not an RFC 3339 date and time with an offset ({e})");
                problems.push(
                    Invalid::new(
                        "datetime_parsing",
                        loc,
                        format!("Input should be a valid datetime, {reason}"),
                        json!(text),
                    )
                    .with_ctx(json!({ "error": reason })),
                );
                None
            }
        },
    };
    let (Some(user_id), Some(before)) = (user_id, before) else {
        return Err(ApiError::Invalid(problems));
    };
    let deleted = app
        .store
        .prune_conversations(user_id, before)
        .await?
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    app.replies.cancel_all(&deleted.iter().copied().collect());
    announce_deleted(app, &deleted, user_id);
    Ok(json_response(
        StatusCode::OK,
        &DeletedConversations {
            deleted: deleted.len() as u64,
        },
    ))
}

#[utoipa::path(
    delete, path = "/api/v1/users/{username}", tag = "users",
    params(("username" = i64, Path, description = "The user's id: `GET` reads this segment as a username, `DELETE` as an id")),
    responses(
        (status = 204, description = "The user and all their data deleted"),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 422, description = "Not an integer id", body = ValidationError),
    )
)]
/// Extension: DELETE /users/{user_id}, with every conversation and message of theirs.
pub async fn delete_user(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("user_id", raw_id)?;
    let not_found = || ApiError::not_found("User not found");
    let conversations = app
        .store
        .conversation_ids_of_user(id)
        .await?
        .ok_or_else(not_found)?;
    app.replies
        .stop_all(&conversations.into_iter().collect())
        .await;
    let deleted = app.store.delete_user(id).await?.ok_or_else(not_found)?;
    app.replies.cancel_all(&deleted.iter().copied().collect());
    announce_deleted(app, &deleted, id);
    Ok(no_content())
}

/// `conversation.deleted` for each of a user's conversations deleted at once.
fn announce_deleted<'a>(app: &App, deleted: impl IntoIterator<Item = &'a i64>, user_id: i64) {
    for conversation_id in deleted {
        app.events.announce(Event::ConversationDeleted {
            conversation_id: *conversation_id,
            user_id: Some(user_id),
        });
    }
}

pub(crate) fn no_content() -> Response {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
