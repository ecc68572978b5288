//! chatd's HTTP API: one warp filter hands every request to `dispatch`, which matches
//! the path first (unknown path → 404 `Not Found`), then the method (→ 405 with
//! `Allow`), then reads the input, so every outcome gets the exact body of
//! `docs/API.md` and nothing falls through to warp's plain-text rejections (why warp is
//! kept for so little: `docs/ARCHITECTURE.md`, "Why warp is here").

mod acting_user;
mod archive;
mod attach;
mod branches;
mod chat_answers;
pub(crate) mod error;
mod events;
pub mod guard;
pub mod idempotency;
pub(crate) mod input;
mod manage;
pub mod openai;
pub mod openapi;
mod rendered;
mod search;
mod settings;
mod stream;
mod summaries;
mod ui_chat;
mod views;
pub mod web;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::{CancelResponse, ConversationWithMessages, ServerStatus};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use warp::Filter;
use warp::http::uri::Authority;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

pub use error::ApiError;
use error::{Invalid, json_bytes_response, json_response};
use input::Fields;
pub use openai::FrontDoor;
pub use rendered::RenderedMessages;

use common::{ChatRequest, Conversation, CreateUserRequest, Message, ModelsResponse, User};
use openapi::schemas::{Detail, NewConversation, ReplyEvent, ValidationError};

use crate::events::Event;
use crate::providers::Providers;
use crate::replies::{BeginError, ChatOverrides, Replies};
use crate::store::idempotency::{KeptAnswer, KeyLookup, Keyed};
use crate::store::{
    Branch, ConversationRow, CreateUserOutcome, KnownOrRow, Store, UserRow, UserTurn,
};
use chat_answers::ChatAnswer;

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Store,
    pub replies: Replies,
    pub providers: Arc<Providers>,
    pub guard: guard::Guard,
    /// Messages as already rendered, for conversation reads.
    pub rendered: Arc<rendered::RenderedMessages>,
    /// The OpenAI-compatible front door at `/v1`; `None` when switched off.
    pub front_door: Option<FrontDoor>,
    /// Requests with the same `Idempotency-Key` take turns.
    pub keys: Arc<idempotency::KeyGate>,
    /// The user of the AI SDK routes' requests that name none (`--default-user`).
    pub default_user: String,
    /// The live feed of `GET /events`.
    pub events: crate::events::Feed,
}

const USERNAME_MAX_BYTES_LOOKED_UP: usize = 64 * 4;
const EMAIL_MAX_CHARS: usize = 254;
pub(crate) const CONVERSATION_NAME_MAX_CHARS: usize = 200;
pub(crate) const MESSAGE_MAX_CHARS: usize = 100_000;
const LIMIT_MAX: i64 = 1000;
const LIMIT_DEFAULT: i64 = 10;

/// The whole API as one warp filter.
pub fn api(app: App) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let app = Arc::new(app);
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::ext::optional::<guard::TargetAuthority>())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  target: Option<guard::TargetAuthority>,
                  headers,
                  body| {
                let app = app.clone();
                async move {
                    let body = byte_chunks(body);
                    let request = Head {
                        method: &method,
                        path: path.as_str(),
                        query: &query,
                        target: target.as_ref().map(|t| &t.0),
                        headers: &headers,
                    };
                    dispatch(&app, request, body).await
                }
            },
        )
        .recover(|rejection: warp::Rejection| async move {
            // Every request is answered in `dispatch`; this is only reached if warp
            // itself refuses one, e.g. when the body was already taken.
            tracing::error!("unexpected rejection: {rejection:?}");
            Ok::<_, Infallible>(ApiError::Internal(format!("{rejection:?}")).into_response())
        })
        .unify()
}

/// warp's body stream with its chunks as `Bytes`, boxed so handlers can name its type.
fn byte_chunks<S, B>(body: S) -> Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    Box::pin(body.map(|chunk| chunk.map(|mut buf| buf.copy_to_bytes(buf.remaining()))))
}

/// The paths of the API, with their segments still percent-encoded; `allow` says
/// which methods each answers.
#[derive(Debug, PartialEq, Eq)]
enum Route<'p> {
    CreateUser,
    /// `GET` by username; extension: `DELETE` by id.
    User(&'p str),
    /// `GET` lists; extension: `DELETE` prunes.
    UserConversations(&'p str),
    /// Extension: full-text search of a user's messages.
    Search(&'p str),
    /// Extension: all of a user's conversations as JSON Lines.
    ExportUser(&'p str),
    /// Extension: `POST` conversations from chatd's or ChatGPT's export.
    Import(&'p str),
    ConversationSummaries(&'p str),
    CreateConversation,
    /// `GET`; extensions: `PATCH`, `DELETE`.
    Conversation(&'p str),
    ConversationSettings(&'p str),
    /// Extension: a conversation as chatd JSON or Markdown.
    ExportConversation(&'p str),
    ListMessages(&'p str),
    CancelReply(&'p str),
    AttachReply(&'p str),
    /// Extension: a new reply beside an old one (`branches.rs`).
    Regenerate(&'p str),
    /// Extension: every message of a conversation with its parent and siblings.
    Tree(&'p str),
    Chat,
    Status,
    Models,
    /// Extension: the AI SDK's UI message stream (`ui_chat/`).
    UiChat,
    UiChatStream(&'p str),
    UiChatStop(&'p str),
    UiChatMessages(&'p str),
    /// Extension: the OpenAPI document of all of these.
    OpenApi,
    /// Extension: the live feed.
    Events,
}

impl<'p> Route<'p> {
    fn parse(path: &'p str) -> Option<Route<'p>> {
        let rest = path.strip_prefix(common::API_BASE)?.strip_prefix('/')?;
        // `POST /users` and `POST /users/` are the same route (addendum 3).
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let segments: Vec<&str> = rest.split('/').collect();
        Some(match segments.as_slice() {
            ["users"] => Route::CreateUser,
            ["users", name] if !name.is_empty() => Route::User(name),
            ["users", id, "conversations"] if !id.is_empty() => Route::UserConversations(id),
            ["users", id, "search"] if !id.is_empty() => Route::Search(id),
            ["users", id, "export"] if !id.is_empty() => Route::ExportUser(id),
            ["users", id, "import"] if !id.is_empty() => Route::Import(id),
            ["users", id, "conversations", "summaries"] if !id.is_empty() => {
                Route::ConversationSummaries(id)
            }
            ["conversations"] => Route::CreateConversation,
            ["conversations", id] if !id.is_empty() => Route::Conversation(id),
            ["conversations", id, "settings"] if !id.is_empty() => Route::ConversationSettings(id),
            ["conversations", id, "export"] if !id.is_empty() => Route::ExportConversation(id),
            ["conversations", id, "messages"] if !id.is_empty() => Route::ListMessages(id),
            ["conversations", id, "cancel"] if !id.is_empty() => Route::CancelReply(id),
            ["conversations", id, "reply"] if !id.is_empty() => Route::AttachReply(id),
            ["conversations", id, "regenerate"] if !id.is_empty() => Route::Regenerate(id),
            ["conversations", id, "tree"] if !id.is_empty() => Route::Tree(id),
            ["chat"] => Route::Chat,
            ["status"] => Route::Status,
            ["models"] => Route::Models,
            ["ui", "chat"] => Route::UiChat,
            ["ui", "chat", id, "stream"] if !id.is_empty() => Route::UiChatStream(id),
            ["ui", "chat", id, "stop"] if !id.is_empty() => Route::UiChatStop(id),
            ["ui", "chat", id, "messages"] if !id.is_empty() => Route::UiChatMessages(id),
            ["openapi.json"] => Route::OpenApi,
            ["events"] => Route::Events,
            _ => return None,
        })
    }

    /// The methods a route answers, as the `Allow` header lists them.
    fn allow(&self) -> &'static str {
        match self {
            Route::CreateUser
            | Route::CreateConversation
            | Route::Chat
            | Route::CancelReply(_)
            | Route::Regenerate(_)
            | Route::Import(_)
            | Route::UiChat
            | Route::UiChatStop(_) => "POST",
            Route::User(_) | Route::UserConversations(_) => "GET, HEAD, DELETE",
            Route::Conversation(_) => "GET, HEAD, PATCH, DELETE",
            _ => "GET, HEAD",
        }
    }

    fn allows(&self, method: &Method) -> bool {
        self.allow().split(", ").any(|name| name == method.as_str())
    }
}

/// What `dispatch` reads of a request besides its body.
struct Head<'r> {
    method: &'r Method,
    path: &'r str,
    query: &'r str,
    /// The authority of an absolute-form request target, if the client sent one.
    target: Option<&'r Authority>,
    headers: &'r HeaderMap,
}

async fn dispatch<S>(app: &App, request: Head<'_>, body: S) -> Response
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let Head {
        method,
        path,
        query,
        target,
        headers,
    } = request;
    if let Some(door) = &app.front_door
        && let Some(route) = openai::Route::parse(path)
    {
        let allowed_origin = match app
            .guard
            .check(method, target, headers, Some(route.allow()))
        {
            guard::Verdict::Pass { allowed_origin } => allowed_origin,
            guard::Verdict::Answer(response) => return response,
        };
        let mut response = openai::handle(app, door, route, method, query, headers, body).await;
        if let Some(origin) = &allowed_origin {
            guard::add_cors_headers(&mut response, origin);
        }
        return response;
    }
    let route = Route::parse(path);
    // The web page's files, outside the API's prefix, pass the same guard.
    let page = match route {
        None => web::find(path),
        Some(_) => None,
    };
    let route_allow = route
        .as_ref()
        .map(Route::allow)
        .or(page.map(|_| web::ALLOW));
    let allowed_origin = match app.guard.check(method, target, headers, route_allow) {
        guard::Verdict::Pass { allowed_origin } => allowed_origin,
        guard::Verdict::Answer(response) => return response,
    };
    let mut response = match route {
        None => match page {
            Some(asset) if method == Method::GET || method == Method::HEAD => {
                asset.respond(method, headers)
            }
            Some(_) => ApiError::MethodNotAllowed(web::ALLOW).into_response(),
            None => ApiError::not_found("Not Found").into_response(),
        },
        Some(route) if !route.allows(method) => {
            ApiError::MethodNotAllowed(route.allow()).into_response()
        }
        Some(route) => handle(app, route, method, query, headers, body).await,
    };
    if let Some(origin) = &allowed_origin {
        guard::add_cors_headers(&mut response, origin);
    }
    response
}

/// Runs the handler of a route and a method it allows.
async fn handle<S>(
    app: &App,
    route: Route<'_>,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: S,
) -> Response
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let deleting = method == Method::DELETE;
    let result = match route {
        Route::CreateUser => create_user(app, headers, body).await,
        Route::User(id) if deleting => manage::delete_user(app, id).await,
        Route::User(name) => get_user(app, name).await,
        Route::UserConversations(id) if deleting => {
            manage::prune_conversations(app, id, query).await
        }
        Route::UserConversations(id) => list_conversations(app, id, query).await,
        Route::Search(id) => search::search(app, id, query).await,
        Route::ExportUser(id) => archive::export_user(app, id).await,
        Route::Import(id) => archive::import(app, id, query, headers, body).await,
        Route::ConversationSummaries(id) => summaries::list_summaries(app, id, query).await,
        Route::CreateConversation => create_conversation(app, headers, body).await,
        Route::Conversation(id) if deleting => manage::delete_conversation(app, id).await,
        Route::Conversation(id) if method == Method::PATCH => {
            manage::update_conversation(app, id, headers, body).await
        }
        Route::Conversation(id) => get_conversation(app, id).await,
        Route::ConversationSettings(id) => manage::get_settings(app, id).await,
        Route::ExportConversation(id) => archive::export_conversation(app, id, query).await,
        Route::ListMessages(id) => list_messages(app, id).await,
        Route::CancelReply(id) => cancel_reply(app, id).await,
        Route::AttachReply(id) => attach::attach_reply(app, id, query, headers).await,
        Route::Regenerate(id) => branches::regenerate(app, id, query, headers, body).await,
        Route::Tree(id) => branches::tree(app, id).await,
        Route::Chat => chat(app, query, headers, body).await,
        Route::Status => Ok(status(app)),
        Route::Models => Ok(models(app).await),
        Route::OpenApi => Ok(openapi::openapi_json()),
        Route::Events => events::events(app, query, headers).await,
        Route::UiChat => ui_chat::chat(app, headers, body).await,
        Route::UiChatStream(id) => ui_chat::resume(app, headers, id).await,
        Route::UiChatStop(id) => ui_chat::stop(app, headers, id).await,
        Route::UiChatMessages(id) => ui_chat::messages(app, headers, id).await,
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// A path segment, percent-decoded (addendum 4: `%E5%BC%A0%E4%B8%89` is `张三`).
fn decode_segment(name: &str, raw: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| {
            ApiError::invalid(Invalid::new(
                "string_unicode",
                vec![json!("path"), json!(name)],
                "Input should be a valid string, unable to parse raw data as a unicode string",
                json!(raw),
            ))
        })
}

fn path_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    input::path_id(name, &decode_segment(name, raw)?)
}

/// A path id whose 422 items are kept with the query's or the body's, since FastAPI
/// reports them together; `None` once they are recorded.
fn path_id_or_problems(
    name: &str,
    raw: &str,
    problems: &mut Vec<error::Invalid>,
) -> Result<Option<i64>, ApiError> {
    match path_id(name, raw) {
        Ok(id) => Ok(Some(id)),
        Err(ApiError::Invalid(mut items)) => {
            problems.append(&mut items);
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

#[utoipa::path(
    post, path = "/api/v1/users/", tag = "users",
    request_body = CreateUserRequest,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, description = "Extension: a repeat with the same key and body within 24 hours answers as the first did; the same key with another body is a 422 (docs/API.md §3.15)")),
    responses(
        (status = 200, description = "The new user", body = User, links(
            ("list_conversations" = (operation_id = "list_conversations", parameters(("user_id" = "$response.body#/id")))),
            ("list_summaries" = (operation_id = "list_summaries", parameters(("user_id" = "$response.body#/id")))),
            ("search" = (operation_id = "search", parameters(("user_id" = "$response.body#/id")))),
            ("export_user" = (operation_id = "export_user", parameters(("user_id" = "$response.body#/id")))),
            ("import" = (operation_id = "import", parameters(("user_id" = "$response.body#/id")))),
            ("prune_conversations" = (operation_id = "prune_conversations", parameters(("user_id" = "$response.body#/id")))),
            ("delete_user" = (operation_id = "delete_user", parameters(("username" = "$response.body#/id")))),
            ("create_conversation" = (operation_id = "create_conversation", request_body = json!({"user_id": "$response.body#/id"}))),
        )),
        (status = 400, description = "`Username already registered`", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "Invalid body or username (docs/API.md §6)", body = ValidationError),
    )
)]
/// POST /users/
async fn create_user<S>(app: &App, headers: &HeaderMap, body: S) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let object = input::json_object(headers, body).await?;
    let mut fields = Fields::new(&object);
    let username = fields.string("username", usize::MAX).and_then(|raw| {
        let name = input::normalize_username(&raw);
        match input::username_problem(&name) {
            Some(problem) => {
                fields.errors.push(problem);
                None
            }
            None => Some(name),
        }
    });
    let email = fields.optional_string("email", EMAIL_MAX_CHARS);
    let (username, email) = fields.finish(username, email)?;
    let outcome = match idempotency::read_key(headers, "users", &object)? {
        None => app.store.create_user(username, email).await?,
        Some(key) => {
            let _turn = app.keys.turn(&key).await;
            let render = |row: &UserRow| views::to_json(&views::user(row.clone()));
            match app
                .store
                .create_user_once(username, email, key, render)
                .await?
            {
                Keyed::Fresh(outcome) => outcome,
                Keyed::Seen(seen) => return kept_answer(seen),
            }
        }
    };
    match outcome {
        CreateUserOutcome::Created(row) => {
            app.events.announce(Event::UserCreated {
                user_id: row.id,
                username: row.username.clone(),
            });
            Ok(json_response(StatusCode::OK, &views::user(row)))
        }
        CreateUserOutcome::UsernameTaken => Err(ApiError::detail(
            StatusCode::BAD_REQUEST,
            "Username already registered",
        )),
    }
}

/// The answer kept for a request's key, as the first request with it was answered.
fn kept_answer(seen: KeyLookup) -> Result<Response, ApiError> {
    match seen {
        KeyLookup::Repeat(KeptAnswer {
            status,
            body: Some(body),
            ..
        }) => {
            let mut response = json_bytes_response(Bytes::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(response)
        }
        _ => Err(idempotency::key_reused()),
    }
}

#[utoipa::path(
    get, path = "/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path, description = "Percent-encoded; matched after NFC normalisation and case folding")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 422, description = "The path segment is not UTF-8", body = ValidationError),
    )
)]
/// GET /users/{username}
async fn get_user(app: &App, raw_name: &str) -> Result<Response, ApiError> {
    let name = input::normalize_username(&decode_segment("username", raw_name)?);
    // A name that could never have been registered needs no query.
    if name.len() > USERNAME_MAX_BYTES_LOOKED_UP || input::username_problem(&name).is_some() {
        return Err(ApiError::not_found("User not found"));
    }
    match app.store.user_by_name(name).await? {
        Some(row) => Ok(json_response(StatusCode::OK, &views::user(row))),
        None => Err(ApiError::not_found("User not found")),
    }
}

#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/conversations", tag = "conversations",
    params(
        ("user_id" = i64, Path),
        ("skip" = Option<i64>, Query, minimum = 0, description = "Conversations to skip (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000, description = "At most this many (default 10)"),
    ),
    responses(
        (status = 200, description = "The user's conversations, oldest first; an unknown user has none", body = Vec<Conversation>),
        (status = 422, description = "A bad id, `skip` or `limit`", body = ValidationError),
    )
)]
/// GET /users/{user_id}/conversations?skip=0&limit=10
async fn list_conversations(app: &App, raw_id: &str, query: &str) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let page = summaries::user_page(raw_id, &input::query_pairs(query), &mut problems)?;
    let Some((user_id, skip, limit)) = page else {
        return Err(ApiError::Invalid(problems));
    };
    let rows = app
        .store
        .conversations_of_user(user_id, skip, limit)
        .await?;
    let list = views::listed_conversations_json(user_id, &rows)
        .map_err(|e| ApiError::Internal(format!("could not write a list of conversations: {e}")))?;
    Ok(json_bytes_response(list.into()))
}

#[utoipa::path(
    post, path = "/api/v1/conversations/", tag = "conversations",
    request_body = NewConversation,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, description = "Extension: a repeat with the same key and body within 24 hours answers as the first did; the same key with another body is a 422 (docs/API.md §3.15)")),
    responses(
        (status = 200, description = "The new conversation", body = Conversation, links(
            ("get_conversation" = (operation_id = "get_conversation", parameters(("conversation_id" = "$response.body#/id")))),
            ("list_messages" = (operation_id = "list_messages", parameters(("conversation_id" = "$response.body#/id")))),
            ("get_settings" = (operation_id = "get_settings", parameters(("conversation_id" = "$response.body#/id")))),
            ("update_conversation" = (operation_id = "update_conversation", parameters(("conversation_id" = "$response.body#/id")))),
            ("export_conversation" = (operation_id = "export_conversation", parameters(("conversation_id" = "$response.body#/id")))),
            ("delete_conversation" = (operation_id = "delete_conversation", parameters(("conversation_id" = "$response.body#/id")))),
            ("chat" = (operation_id = "chat", request_body = json!({"conversation_id": "$response.body#/id", "message": "Why is the sky blue?"}))),
        )),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "Invalid body, an unknown model, bad params", body = ValidationError),
    )
)]
/// POST /conversations/; extension: the optional `model`, `system_prompt` and `params`.
async fn create_conversation<S>(
    app: &App,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let object = input::json_object(headers, body).await?;
    let mut fields = Fields::new(&object);
    let user_id = fields.id("user_id");
    let name = fields.optional_string("name", CONVERSATION_NAME_MAX_CHARS);
    let own = settings::read(app, &mut fields).await;
    let (user_id, name) = fields.finish(user_id, name)?;
    let created = match idempotency::read_key(headers, "conversations", &object)? {
        None => {
            app.store
                .create_conversation_with(user_id, name, own.into_row())
                .await?
        }
        Some(key) => {
            let _turn = app.keys.turn(&key).await;
            let render = |row: &ConversationRow| views::to_json(&views::conversation(row.clone()));
            match app
                .store
                .create_conversation_once(user_id, name, own.into_row(), key, render)
                .await?
            {
                Keyed::Fresh(created) => created,
                Keyed::Seen(seen) => return kept_answer(seen),
            }
        }
    };
    match created {
        Some(row) => {
            app.events.announce(Event::ConversationCreated {
                conversation_id: row.id,
                user_id: row.user_id,
            });
            Ok(json_response(StatusCode::OK, &views::conversation(row)))
        }
        None => Err(ApiError::not_found("User not found")),
    }
}

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 200, description = "The conversation with all its messages, oldest first (the documented objects, without extension fields)", body = common::ConversationWithMessages),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// GET /conversations/{conversation_id}
async fn get_conversation(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    if let Some((conversation, path)) = conversation_of_kept_path(app, id, false).await? {
        let (mut body, _) = conversation_opening(conversation, path.bytes().len())?;
        body.put_slice(path.bytes());
        body.put_slice(b"]}");
        return Ok(json_bytes_response(body.freeze()));
    }
    let (conversation, parts) = conversation_parts(app, id).await?;
    let (mut body, leaf) = conversation_opening(conversation, parts_size(&parts))?;
    let start = body.len();
    app.rendered.write_all(parts, false, &mut body);
    let end = body.len();
    body.put_slice(b"]}");
    let body = body.freeze();
    if let Some(leaf) = leaf {
        app.rendered.keep_path(leaf, false, body.slice(start..end));
    }
    Ok(json_bytes_response(body))
}

/// The documented object up to its messages, in a buffer with room for `messages`
/// bytes of them: the messages go where serde puts the empty array, so the fields
/// around them keep serde's rendering and order. With the conversation's active leaf.
fn conversation_opening(
    conversation: crate::store::ConversationRow,
    messages: usize,
) -> Result<(BytesMut, Option<i64>), ApiError> {
    let leaf = conversation.active_leaf_id;
    let header = ConversationWithMessages {
        user_id: conversation.user_id,
        name: conversation.name,
        id: conversation.id,
        created_at: views::timestamp(&conversation.created_at),
        messages: Vec::new(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(open) = header.strip_suffix(b"]}") else {
        return Err(ApiError::Internal(
            "a conversation did not render with its messages last".into(),
        ));
    };
    let mut body = BytesMut::with_capacity(open.len() + messages + 2);
    body.put_slice(open);
    Ok((body, leaf))
}

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}/messages", tag = "conversations",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 200, description = "Its messages, oldest first, each with `status` and, for replies, how they were made", body = Vec<Message>),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: GET /conversations/{conversation_id}/messages, each with its `status`.
async fn list_messages(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    if let Some((_, path)) = conversation_of_kept_path(app, id, true).await? {
        let mut body = BytesMut::with_capacity(path.bytes().len() + 2);
        body.put_u8(b'[');
        body.put_slice(path.bytes());
        body.put_u8(b']');
        return Ok(json_bytes_response(body.freeze()));
    }
    let (conversation, parts) = conversation_parts(app, id).await?;
    let mut body = BytesMut::with_capacity(parts_size(&parts) + 2);
    body.put_u8(b'[');
    app.rendered.write_all(parts, true, &mut body);
    let end = body.len();
    body.put_u8(b']');
    let body = body.freeze();
    if let Some(leaf) = conversation.active_leaf_id {
        app.rendered.keep_path(leaf, true, body.slice(1..end));
    }
    Ok(json_bytes_response(body))
}

/// A conversation, read in one statement, whose active path's messages are kept whole;
/// `None` when they are not (or nothing is kept), and the caller reads the rest.
async fn conversation_of_kept_path(
    app: &App,
    id: i64,
    with_status: bool,
) -> Result<Option<(crate::store::ConversationRow, rendered::RenderedPath)>, ApiError> {
    if !app.rendered.keeps_paths() {
        return Ok(None);
    }
    let conversation = app
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    let Some(leaf) = conversation.active_leaf_id else {
        return Ok(None);
    };
    Ok(app
        .rendered
        .path(leaf, with_status)
        .map(|path| (conversation, path)))
}

type Parts = Vec<KnownOrRow<rendered::RenderedMessage>>;

/// A conversation and its messages, those rendered before taken from `app.rendered`.
async fn conversation_parts(
    app: &App,
    id: i64,
) -> Result<(crate::store::ConversationRow, Parts), ApiError> {
    let rendered = app.rendered.clone();
    app.store
        .conversation_with_known_messages(id, move |ids| rendered.lookup(ids))
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))
}

/// About how long the JSON of these messages is, to size the body once.
fn parts_size(parts: &Parts) -> usize {
    const FIXED: usize = 160;
    parts
        .iter()
        .map(|part| match part {
            KnownOrRow::Known(_) => 2 * FIXED,
            KnownOrRow::Row(row) => row.content.len() + row.content.len() / 16 + FIXED,
        })
        .sum()
}

#[utoipa::path(
    post, path = "/api/v1/chat", tag = "chat",
    request_body = ChatRequest,
    params(
        ("events" = Option<bool>, Query, description = "Extension: open the stream with a `start` event and close it with an `end` event, every event with its cursor as `id:` (docs/API.md §3.1)"),
        ("detach" = Option<bool>, Query, description = "Extension: answer 202 as soon as the user message is stored; the reply runs on (docs/API.md §3.16)"),
        ("Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, description = "Extension: a repeat with the same key and body within 24 hours answers as the first did; the same key with another body is a 422 (docs/API.md §3.15)"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = ReplyEvent, description = "The reply as Server-Sent Events. Every token is an unnamed event, `data: <token>` (a token with line breaks is one `data:` line per line). With `?events=true` the stream also has named events: `start` (data: a StreamStart, the stored user message), `reasoning` (data: a JSON string, a piece of the model's reasoning, only for models that reason) and, last, `end` (data: a StreamEnd: how the reply ended, the stored assistant message, the error, whether it is stored). The user message is stored at once, the reply when it ends (docs/API.md §1.6, §5)."),
        (status = 202, description = "With `?detach=true`: the stored user message and the reply's cursor", body = common::DetachedChat),
        (status = 404, description = "`Conversation not found`; nothing is stored", body = Detail),
        (status = 409, description = "A reply is already being generated for this conversation, or it was continued by another request, or a request with this `Idempotency-Key` is answered by another chatd process", body = Detail),
        (status = 413, description = "The body is over 1 MiB", body = Detail),
        (status = 422, description = "Invalid body, a blank or too long message, a bad `events` or `detach`, a bad `Idempotency-Key` or one used before with another body", body = ValidationError),
        (status = 502, description = "The provider failed before the first token; the user message stays stored", body = Detail),
    )
)]
/// POST /chat
async fn chat<S>(app: &App, query: &str, headers: &HeaderMap, body: S) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let pairs = input::query_pairs(query);
    let answer = ChatAnswer::asked(&pairs)?;
    let object = input::json_object(headers, body).await?;
    let key = idempotency::read_key(headers, "chat", &object)?;
    let mut fields = Fields::new(&object);
    let conversation_id = fields.id("conversation_id");
    let message = fields.string("message", MESSAGE_MAX_CHARS);
    if let Some(text) = &message
        && text.trim().is_empty()
    {
        fields.reject("message", text, "message must not be blank");
    }
    // Extension (§3.19): the user message this one replaces, on a branch of its own.
    let edit_of = fields.optional_id("edit_of");
    let (conversation_id, message) = fields.finish(conversation_id, message)?;

    // A repeat waits for its first request to have stored its message, and finds it.
    let _turn = match &key {
        Some(key) => Some(app.keys.turn(key).await),
        None => None,
    };
    let turn = UserTurn {
        contents: vec![message],
        after: None,
        key,
        branch: edit_of.map_or(Branch::Continue, Branch::EditOf),
    };
    let overrides = ChatOverrides::default();
    let begun = match answer {
        // Answered once the message is stored: a provider that fails at once is told
        // by the reply's end, not by a 502.
        ChatAnswer::Detached => {
            app.replies
                .begin_at_once(conversation_id, turn, overrides)
                .await
        }
        ChatAnswer::Stream(_) => {
            app.replies
                .begin_with(conversation_id, turn, overrides)
                .await
        }
    };
    match begun {
        Ok(reply) => Ok(chat_answers::live(reply, answer)),
        Err(BeginError::Repeat(user_message_id)) => {
            chat_answers::again(app, conversation_id, user_message_id, answer).await
        }
        Err(BeginError::NoBranch(refusal)) => Err(branches::refused(
            "edit_of",
            edit_of,
            conversation_id,
            refusal,
        )),
        Err(error) => Err(begin_error(error)),
    }
}

/// The answer to a chat that could not begin.
pub(crate) fn begin_error(error: BeginError) -> ApiError {
    match error {
        BeginError::ShuttingDown => ApiError::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "chatd is shutting down; send the message again once it is back",
        ),
        BeginError::Busy => ApiError::detail(
            StatusCode::CONFLICT,
            "A reply is already being generated for this conversation; wait for it to end or \
             cancel it",
        ),
        BeginError::Unstored => ApiError::RetryLater {
            detail: "The last reply of this conversation is not stored yet (the database \
                     refused it); chatd keeps it and retries: send the message again once the \
                     database is back"
                .into(),
            seconds: 5,
        },
        BeginError::Full(cap) => ApiError::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Too many replies in flight (the limit is {cap}); try again shortly"),
        ),
        BeginError::NoConversation => ApiError::not_found("Conversation not found"),
        BeginError::Moved => ApiError::detail(
            StatusCode::CONFLICT,
            "The conversation was continued by another request; send the message again",
        ),
        BeginError::ProviderFailed(cause) => ApiError::detail(StatusCode::BAD_GATEWAY, cause),
        // Only `POST /chat` sends keys, and it answers a repeat itself.
        BeginError::Repeat(_) => ApiError::detail(
            StatusCode::CONFLICT,
            "This request was sent before with the same Idempotency-Key",
        ),
        BeginError::KeyReused => idempotency::key_reused(),
        // The routes that branch answer it with the field they read.
        BeginError::NoBranch(refusal) => branches::refused("message_id", None, 0, refusal),
        BeginError::Store(error) => error.into(),
    }
}

#[utoipa::path(
    post, path = "/api/v1/conversations/{conversation_id}/cancel", tag = "chat",
    params(("conversation_id" = i64, Path)),
    responses(
        (status = 200, description = "The reply stopped; what it generated is stored as `cancelled`", body = common::CancelResponse),
        (status = 404, description = "`No reply in progress`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: POST /conversations/{conversation_id}/cancel. Answers once the reply has
/// stopped and what it generated is stored.
async fn cancel_reply(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    if !stop_reply(app, id).await {
        return Err(ApiError::not_found("No reply in progress"));
    }
    Ok(json_response(
        StatusCode::OK,
        &CancelResponse {
            conversation_id: id,
            cancelled: true,
        },
    ))
}

/// Cancels the reply in flight on a conversation and waits (10 s at most) until it has
/// stopped and what it generated is stored; `false` when nothing was streaming.
pub(crate) async fn stop_reply(app: &App, id: i64) -> bool {
    let Some(reply) = app.replies.cancel_anywhere(id).await else {
        return false;
    };
    let mut listener = reply.subscribe();
    let ended = tokio::time::timeout(
        Duration::from_secs(10),
        listener.wait_for(|state| state.end.is_some()),
    )
    .await;
    if ended.is_err() {
        tracing::warn!(
            conversation_id = id,
            "a cancelled reply took over 10 s to stop"
        );
    }
    true
}

/// Extension: GET /models
#[utoipa::path(
    get, path = "/api/v1/models", tag = "daemon",
    responses((status = 200, description = "Every configured provider's models", body = ModelsResponse))
)]
async fn models(app: &App) -> Response {
    json_response(StatusCode::OK, &app.providers.models().await)
}

#[utoipa::path(
    get, path = "/api/v1/status", tag = "daemon",
    responses((status = 200, description = "The daemon", body = common::ServerStatus))
)]
/// Extension: GET /status. `provider` and `model` are the default provider's kind and
/// the default model's name on it, as before chatd had several providers.
fn status(app: &App) -> Response {
    let default = app.providers.resolve(None);
    json_response(
        StatusCode::OK,
        &ServerStatus {
            name: "chatd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            provider: default.provider.provider.kind().into(),
            model: default.model.clone(),
            database_backend: app.store.location().backend().into(),
            database: app.store.location().to_string(),
            replies_in_flight: app.replies.in_flight(),
            replies_unstored: app.replies.unstored(),
            pid: Some(std::process::id()),
            default_model: Some(default.qualified()),
            providers: app.providers.names(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_and_without_trailing_slash() {
        assert_eq!(Route::parse("/api/v1/users"), Some(Route::CreateUser));
        assert_eq!(Route::parse("/api/v1/users/"), Some(Route::CreateUser));
        assert_eq!(
            Route::parse("/api/v1/users/%E5%BC%A0"),
            Some(Route::User("%E5%BC%A0"))
        );
        assert_eq!(
            Route::parse("/api/v1/users/7/conversations"),
            Some(Route::UserConversations("7"))
        );
        assert_eq!(
            Route::parse("/api/v1/users/7/conversations/summaries"),
            Some(Route::ConversationSummaries("7"))
        );
        assert_eq!(Route::parse("/api/v1/chat"), Some(Route::Chat));
        assert_eq!(Route::parse("/api/v1/models/"), Some(Route::Models));
        assert_eq!(Route::parse("/api/v1"), None);
        assert_eq!(Route::parse("/api/v1x/users"), None);
        assert_eq!(Route::parse("/api/v1/users//conversations"), None);
        assert_eq!(Route::parse("/users/"), None);
    }

    #[test]
    fn methods_are_checked_per_route() {
        let route = Route::CreateUser;
        assert!(route.allows(&Method::POST));
        assert!(!route.allows(&Method::GET));
        let route = Route::ListMessages("1");
        assert!(route.allows(&Method::GET));
        assert!(route.allows(&Method::HEAD));
        assert!(!route.allows(&Method::DELETE));
        assert_eq!(route.allow(), "GET, HEAD");
        let route = Route::Conversation("1");
        assert!(route.allows(&Method::PATCH));
        assert!(route.allows(&Method::DELETE));
        assert!(!route.allows(&Method::PUT));
        assert!(!route.allows(&Method::POST));
    }
}
