//! The export routes, and the document of one conversation in chatd's own format.

use bytes::Bytes;
use common::archive::{
    CONVERSATION_FORMAT, CONVERSATION_VERSION, ConversationExport, ExportedConversation,
};
use serde_json::json;
use warp::Reply as _;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::markdown;
use crate::routes::error::{Invalid, json_response};
use crate::routes::openapi::schemas::{Detail, ExportFormat, ValidationError};
use crate::routes::{ApiError, App, input, path_id, views};
use crate::store::ConversationArchive;

/// Conversations read per step of a user's export: the most held in memory at once.
const EXPORT_PAGE: i64 = 16;
/// Lines rendered ahead of a slow client.
const LINES_AHEAD: usize = 4;

/// The export document of a conversation as stored.
pub fn document(archive: ConversationArchive) -> ConversationExport {
    let ConversationArchive {
        conversation,
        settings,
        messages,
    } = archive;
    // A stored `params` that no longer reads (a hand-edited row) is left out rather
    // than failing the whole export.
    let params = settings
        .params
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    ConversationExport {
        format: CONVERSATION_FORMAT.into(),
        version: CONVERSATION_VERSION,
        conversation: ExportedConversation {
            id: conversation.id,
            user_id: conversation.user_id,
            name: conversation.name,
            created_at: views::timestamp(&conversation.created_at),
            title_source: settings.title_source,
            model: settings.model,
            system_prompt: settings.system_prompt,
            params,
            active_leaf_id: conversation.active_leaf_id,
        },
        // Version 2: every branch, each message with its `parent_id`.
        messages: messages
            .into_iter()
            .map(|row| views::message(row, true))
            .collect(),
    }
}

#[utoipa::path(
    get, path = "/api/v1/conversations/{conversation_id}/export", tag = "archive",
    params(
        ("conversation_id" = i64, Path),
        ("format" = Option<ExportFormat>, Query, description = "`json` (the default), `markdown` or `md`"),
    ),
    responses(
        (status = 200, description = "The conversation as chatd's JSON document, or as Markdown", content(
            (ConversationExport = "application/json"),
            (String = "text/markdown"),
        )),
        (status = 404, description = "`Conversation not found`", body = Detail),
        (status = 422, description = "A bad id or format", body = ValidationError),
    )
)]
/// Extension: GET /conversations/{conversation_id}/export?format=json|markdown
pub async fn export_conversation(
    app: &App,
    raw_id: &str,
    query: &str,
) -> Result<Response, ApiError> {
    let id = path_id("conversation_id", raw_id)?;
    let pairs = input::query_pairs(query);
    let markdown = match input::query_value(&pairs, "format").unwrap_or("json") {
        "json" => false,
        "markdown" | "md" => true,
        other => {
            return Err(ApiError::invalid(
                Invalid::new(
                    "enum",
                    vec![json!("query"), json!("format")],
                    "Input should be 'json' or 'markdown'",
                    json!(other),
                )
                .with_ctx(json!({"expected": "'json' or 'markdown'"})),
            ));
        }
    };
    let archive = app
        .store
        .export_conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    let document = document(archive);
    if !markdown {
        return Ok(json_response(StatusCode::OK, &document));
    }
    let mut response = Response::new(markdown::render(&document).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    Ok(response)
}

#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/export", tag = "archive",
    params(("user_id" = i64, Path)),
    responses(
        (status = 200, description = "JSON Lines: one ConversationExport document per line, oldest first, streamed", content_type = "application/jsonl", body = String),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 422, description = "A bad id", body = ValidationError),
    )
)]
/// Extension: GET /users/{user_id}/export: every conversation of the user as JSON
/// Lines, oldest first, read from the store a page at a time as the client reads.
pub async fn export_user(app: &App, raw_id: &str) -> Result<Response, ApiError> {
    let user_id = path_id("user_id", raw_id)?;
    if !app.store.user_exists(user_id).await? {
        return Err(ApiError::not_found("User not found"));
    }
    // A task of its own renders the lines into a small bounded channel: the body waits
    // for it, and it waits for the client, so memory holds a page and a few lines.
    let (lines, mut received) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(LINES_AHEAD);
    let store = app.store.clone();
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let page = match store.export_page(user_id, after, EXPORT_PAGE).await {
                Ok(Some(page)) => page,
                Ok(None) => return,
                Err(error) => {
                    // The status line is long sent: cutting the body short is how the
                    // client learns the export is incomplete.
                    tracing::warn!("a user's export stopped: {error}");
                    let _ = lines
                        .send(Err(std::io::Error::other(error.to_string())))
                        .await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = last.conversation.id;
            for archive in page {
                let mut line = views::to_json(&document(archive)).into_bytes();
                line.push(b'\n');
                if lines.send(Ok(Bytes::from(line))).await.is_err() {
                    return;
                }
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| received.poll_recv(cx));
    let mut response = warp::reply::stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    Ok(response)
}
