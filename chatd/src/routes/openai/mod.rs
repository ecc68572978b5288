//! The OpenAI-compatible front door, served at `/v1` beside `/api/v1` (an OpenAI
//! client's `base_url` is `http://HOST:PORT/v1`): `POST /v1/chat/completions`,
//! `GET /v1/models` and the core of the Responses API (`POST /v1/responses`,
//! `GET`/`DELETE /v1/responses/{id}`, `POST /v1/responses/{id}/cancel`). It goes through the same guard and dispatch as the rest of chatd,
//! and every chat lands in chatd's own conversations through `Replies::begin_with`, so
//! it is stored, announced and survives its client exactly like `POST /chat`.
//!
//! `request.rs` reads a request, `conversation.rs` finds the conversation it continues
//! (or makes one), `reply.rs` answers in OpenAI's shapes, `error.rs` has OpenAI's error
//! body, which these routes answer with instead of chatd's `{"detail": ...}`;
//! `responses.rs`, `response_by_id.rs` and `response_object.rs` are the Responses API.

mod conversation;
pub mod error;
mod reply;
mod request;
pub(in crate::routes) mod response_by_id;
mod response_object;
pub(in crate::routes) mod responses;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

use super::error::json_response;
use super::{App, input};
use crate::replies::ChatOverrides;
use crate::routes::openapi::front_door::{
    ChatCompletion, ChatCompletionRequest, ChatErrors, ModelList, ServerSentEvent,
};
use error::OpenAiError;

/// The front door's settings, when it is on.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    /// The user of requests that name none.
    pub default_user: String,
}

/// The paths under `/v1`.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    ChatCompletions,
    Models,
    Responses,
    /// `GET` or `DELETE /v1/responses/{id}`.
    Response(String),
    /// `POST /v1/responses/{id}/cancel`.
    CancelResponse(String),
    /// Any other path under `/v1`: an OpenAI-shaped 404.
    Unknown,
}

impl Route {
    /// `None` for a path outside `/v1`.
    pub fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/v1")?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        let rest = rest.trim_end_matches('/');
        Some(match rest {
            "/chat/completions" => Route::ChatCompletions,
            "/models" => Route::Models,
            "/responses" => Route::Responses,
            _ => match rest.strip_prefix("/responses/").map(|id| id.split('/')) {
                Some(mut parts) => match (parts.next(), parts.next(), parts.next()) {
                    (Some(id), None, _) if !id.is_empty() => Route::Response(id.into()),
                    (Some(id), Some("cancel"), None) if !id.is_empty() => {
                        Route::CancelResponse(id.into())
                    }
                    _ => Route::Unknown,
                },
                None => Route::Unknown,
            },
        })
    }

    pub fn allow(&self) -> &'static str {
        match self {
            Route::ChatCompletions | Route::Responses | Route::CancelResponse(_) => "POST",
            Route::Models => "GET, HEAD",
            Route::Response(_) => "GET, HEAD, DELETE",
            Route::Unknown => "GET, HEAD, POST, DELETE",
        }
    }
}

/// Answers a request to the front door, which the guard has let through.
pub async fn handle<S>(
    app: &App,
    door: &FrontDoor,
    route: Route,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: S,
) -> Response
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let allowed = route
        .allow()
        .split(", ")
        .any(|name| name == method.as_str());
    let result = match route {
        Route::Unknown => Err(OpenAiError::new(
            StatusCode::NOT_FOUND,
            "chatd's OpenAI front door serves POST /v1/chat/completions, GET /v1/models, \
             POST /v1/responses, GET and DELETE /v1/responses/{id} and \
             POST /v1/responses/{id}/cancel",
        )
        .with_code("unknown_url")),
        _ if !allowed => {
            let mut response =
                OpenAiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                    .into_response();
            if let Ok(allow) = HeaderValue::from_str(route.allow()) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            return response;
        }
        Route::Models => Ok(models(app).await),
        Route::ChatCompletions => chat_completions(app, door, headers, body).await,
        Route::Responses => responses::create(app, door, headers, body).await,
        Route::Response(id) if method == Method::DELETE => response_by_id::delete(app, &id).await,
        Route::Response(id) => response_by_id::retrieve(app, &id, query).await,
        Route::CancelResponse(id) => response_by_id::cancel(app, &id).await,
    };
    result.unwrap_or_else(OpenAiError::into_response)
}

#[utoipa::path(
    get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "Every provider's models, as OpenAI lists them", body = ModelList))
)]
/// GET /v1/models: the models of `GET /api/v1/models`, each as `PROVIDER/MODEL`.
pub(in crate::routes) async fn models(app: &App) -> Response {
    let listed = app.providers.models().await;
    let data: Vec<_> = listed
        .providers
        .iter()
        .flat_map(|provider| {
            provider.models.iter().map(move |model| {
                json!({
                    "id": model,
                    "object": "model",
                    "created": 0,
                    "owned_by": provider.name,
                })
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

/// A 404 naming `model` unless chatd can reach the model.
async fn check_model(app: &App, model: &str) -> Result<(), OpenAiError> {
    app.providers.check_model(model).await.map_err(|unknown| {
        OpenAiError {
            param: Some("model".into()),
            ..OpenAiError::new(StatusCode::NOT_FOUND, unknown.0)
        }
        .with_code("model_not_found")
    })
}

#[utoipa::path(
    post, path = "/v1/chat/completions", tag = "openai",
    request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "A `chat.completion`; with `stream: true`, Server-Sent Events: unnamed events whose data is a `chat.completion.chunk` (the first with the role, then content deltas, the last with `finish_reason`; with `stream_options.include_usage` one more with `usage` and no choices), an `error` object if the provider fails mid-reply, then `data: [DONE]`. The `x-chatd-conversation-id` header names the chatd conversation (docs/API.md §11)", content(
            (ChatCompletion = "application/json"),
            (ServerSentEvent = "text/event-stream"),
        )),
        ChatErrors,
    )
)]
/// POST /v1/chat/completions
pub(in crate::routes) async fn chat_completions<S>(
    app: &App,
    door: &FrontDoor,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, OpenAiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let object = input::json_object(headers, body).await?;
    let request = request::read(&object)?;
    check_model(app, &request.model).await?;
    let (conversation_id, turn, whole) =
        conversation::choose(app, headers, &request, &request.model, &door.default_user).await?;
    let overrides = ChatOverrides {
        model: Some(request.model.clone()),
        params: Some(request.params.clone()),
        relayed: Some(request.relayed(whole)),
    };
    let reply = app
        .replies
        .begin_with(conversation_id, turn, overrides)
        .await?;
    let completion = reply::Completion {
        reply,
        model: request.model.clone(),
        created: chrono::Utc::now().timestamp(),
        include_usage: request.include_usage,
    };
    Ok(if request.stream {
        completion.stream()
    } else {
        completion.whole().await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_v1_are_the_front_door() {
        assert_eq!(
            Route::parse("/v1/chat/completions"),
            Some(Route::ChatCompletions)
        );
        assert_eq!(Route::parse("/v1/models/"), Some(Route::Models));
        assert_eq!(Route::parse("/v1/responses"), Some(Route::Responses));
        assert_eq!(
            Route::parse("/v1/responses/resp_7"),
            Some(Route::Response("resp_7".into()))
        );
        assert_eq!(
            Route::parse("/v1/responses/resp_7/cancel"),
            Some(Route::CancelResponse("resp_7".into()))
        );
        assert_eq!(Route::parse("/v1/responses/resp_7/x"), Some(Route::Unknown));
        assert_eq!(
            Route::parse("/v1/responses/resp_7/cancel/x"),
            Some(Route::Unknown)
        );
        assert_eq!(Route::parse("/v1x/models"), None);
        assert_eq!(Route::parse("/api/v1/models"), None);
    }
}
