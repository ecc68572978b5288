//! Which conversation a chat completion continues. Named by the client (the
//! `X-Chatd-Conversation` header or `metadata.chatd_conversation_id`), it is that one;
//! otherwise the history the client resends is looked up by its path hash
//! (`store/paths.rs`) among the conversations of the request's user: a conversation
//! whose active path (system prompt included) is exactly the request's messages before
//! its new user messages is continued; one with a message whose path that is, further
//! up or on another branch, forks there (`store/forks.rs`: the client edited a message
//! or asked again); anything else starts a new conversation with the request's system
//! prompt and model.

use warp::http::{HeaderMap, StatusCode};

use super::error::OpenAiError;
use super::request::CompletionRequest;
use crate::routes::App;
use crate::routes::acting_user::{UserChoiceError, acting_user};
use crate::store::{Branch, ConversationSettingsRow, Fork, UserTurn, paths};

pub const CONVERSATION_HEADER: &str = "x-chatd-conversation";

/// The conversation to chat on, the turn to store on it, and whether the conversation
/// then holds the request's whole history (not so for a named one, whose client may
/// send only its new messages).
pub async fn choose(
    app: &App,
    headers: &HeaderMap,
    request: &CompletionRequest,
    model: &str,
    default_user: &str,
) -> Result<(i64, UserTurn, bool), OpenAiError> {
    let turn = |after| UserTurn {
        key: None,
        branch: Branch::Continue,
        contents: request.new_messages.clone(),
        after,
    };
    if let Some(id) = named_conversation(headers)?.or(request.conversation_id) {
        return Ok((id, turn(None), false));
    }
    let user_id = user_id(app, headers, request.user.as_deref(), default_user).await?;
    if !request.history.is_empty() {
        let mut hash = paths::start(request.system_prompt.as_deref());
        for said in &request.history {
            hash = paths::next(&hash, said.role, &said.content);
        }
        if let Some((conversation_id, last)) = app
            .store
            .conversation_by_path(user_id, hash.clone())
            .await?
        {
            return Ok((conversation_id, turn(Some(Some(last))), true));
        }
        // A stored path that went on past where the client's stops: it went back (an
        // edit, or its own regenerate) and forks there.
        let one_message = request.new_messages.len() == 1;
        match app.store.fork_at_path(user_id, hash, one_message).await? {
            Some(Fork::BesideUser {
                conversation_id,
                user_message_id,
            }) => {
                let mut edit = turn(None);
                edit.branch = Branch::EditOf(user_message_id);
                return Ok((conversation_id, edit, true));
            }
            Some(Fork::After {
                conversation_id,
                message_id,
            }) => return Ok((conversation_id, turn(Some(Some(message_id))), true)),
            Some(Fork::Busy) => {
                return Err(OpenAiError::new(
                    StatusCode::CONFLICT,
                    "A reply is already being generated for the conversation this history \
                     continues; wait for it to end",
                ));
            }
            None => {}
        }
    }
    let settings = ConversationSettingsRow {
        model: Some(model.to_string()),
        system_prompt: request.system_prompt.clone(),
        ..ConversationSettingsRow::default()
    };
    let created = create(app, user_id, settings).await?;
    // A history chatd does not know is stored before the new messages, so that the
    // conversation holds what the model is given and the client's next turn finds it.
    if !request.history.is_empty() {
        let earlier = request
            .history
            .iter()
            .map(|said| (said.role, said.content.clone()))
            .collect();
        app.store.seed_messages(created, earlier).await?;
        return Ok((created, turn(None), true));
    }
    Ok((created, turn(Some(None)), true))
}

/// The `X-Chatd-Conversation` header's id, if sent.
fn named_conversation(headers: &HeaderMap) -> Result<Option<i64>, OpenAiError> {
    let Some(value) = headers.get(CONVERSATION_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            OpenAiError::invalid(
                "X-Chatd-Conversation",
                "X-Chatd-Conversation must be a conversation id (an integer)",
            )
        })
}

/// A new conversation of `user_id` with these settings; its id.
pub async fn create(
    app: &App,
    user_id: i64,
    settings: ConversationSettingsRow,
) -> Result<i64, OpenAiError> {
    let created = app
        .store
        .create_conversation_with(user_id, None, settings)
        .await?
        .ok_or_else(|| {
            OpenAiError::new(
                StatusCode::CONFLICT,
                "the user was deleted while the conversation was being made; send it again",
            )
        })?;
    app.events
        .announce(crate::events::Event::ConversationCreated {
            conversation_id: created.id,
            user_id: created.user_id,
        });
    Ok(created.id)
}

/// The id of the request's user (header, then `user`, then chatd's default user),
/// registered on first use.
pub async fn user_id(
    app: &App,
    headers: &HeaderMap,
    user: Option<&str>,
    default_user: &str,
) -> Result<i64, OpenAiError> {
    acting_user(app, headers, user, default_user)
        .await
        .map_err(|error| match error {
            UserChoiceError::Invalid {
                from_header,
                message,
            } => OpenAiError::invalid(if from_header { "X-Chatd-User" } else { "user" }, &message),
            UserChoiceError::Failed(error) => error.into(),
        })
}
