//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of chatd's API, made by utoipa
//! from the `#[utoipa::path]` annotations on the handlers and the schemas of `common`'s
//! wire types (and of the bodies in `schemas.rs` and `front_door.rs`), so it changes
//! with the code. The answers every route may give (the guard's 401 and 403, storage's
//! 503 and 507) are added to every operation here rather than repeated on each handler.
//! A test below fails when a route of the table has no operation in the document.

pub mod front_door;
pub mod schemas;
pub mod ui_chat;

use std::sync::OnceLock;

use bytes::Bytes;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, Type};
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use super::error::json_bytes_response;
use schemas::Detail;

/// The paths that answer without the database, so never with storage's 503 or 507.
const WITHOUT_STORAGE: [&str; 4] = [
    "/api/v1/status",
    "/api/v1/models",
    "/api/v1/openapi.json",
    "/v1/models",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "chatd",
        description = "The chat API of chatd: the six documented endpoints of the original \
            API (FastAPI-shaped, under `/api/v1`), chatd's extensions beside them, and the \
            OpenAI-compatible front door at `/v1`. `docs/API.md` is the prose contract; this \
            document is generated from the code. Every `GET` also answers `HEAD`; a path \
            answered with a method it does not serve gets 405 with an `Allow` header; a \
            trailing slash is optional on every path. Errors are `{\"detail\": \"text\"}`, \
            or for a 422 a list of FastAPI's validation items; the front door answers in \
            OpenAI's `{\"error\": {...}}` shape instead.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        super::create_user,
        super::get_user,
        super::manage::delete_user,
        super::create_conversation,
        super::list_conversations,
        super::manage::prune_conversations,
        super::summaries::list_summaries,
        super::search::search,
        super::archive::export::export_user,
        super::archive::import::import,
        super::get_conversation,
        super::manage::update_conversation,
        super::manage::delete_conversation,
        super::manage::get_settings,
        super::archive::export::export_conversation,
        super::list_messages,
        super::cancel_reply,
        super::attach::attach_reply,
        super::branches::regenerate,
        super::branches::tree,
        super::chat,
        super::status,
        super::models,
        super::ui_chat::chat,
        super::ui_chat::resume,
        super::ui_chat::stop,
        super::ui_chat::messages,
        openapi_json,
        super::events::events,
        super::openai::chat_completions,
        super::openai::models,
        super::openai::responses::create,
        super::openai::response_by_id::retrieve,
        super::openai::response_by_id::delete,
        super::openai::response_by_id::cancel,
    ),
    // Schemas that only parameters or the modifier name, which utoipa does not collect.
    components(schemas(
        schemas::ValidationError,
        Detail,
        front_door::OpenAiErrorBody,
        schemas::ExportFormat,
        schemas::SummaryOrder,
        schemas::ImportSource,
        crate::events::Lagged,
        crate::events::Event,
    )),
    modifiers(&EveryRouteMayAnswer),
    tags(
        (name = "users", description = "Users (documented) and deleting them (extension)"),
        (name = "conversations", description = "Conversations, their messages and settings"),
        (name = "chat", description = "Sending a message and streaming the reply"),
        (name = "archive", description = "Search, export and import (extensions)"),
        (name = "daemon", description = "The daemon itself (extensions)"),
        (name = "openai", description = "The OpenAI-compatible front door (docs/API.md §11)"),
        (name = "ui", description = "The AI SDK's UI message stream, for `useChat` (docs/API.md §13)"),
    )
)]
struct ChatdApi;

/// Adds the answers of the guard and of storage to every operation.
struct EveryRouteMayAnswer;

impl utoipa::Modify for EveryRouteMayAnswer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_answers(path, operation);
            }
        }
    }
}

fn add_common_answers(path: &str, operation: &mut Operation) {
    let answers = &mut operation.responses.responses;
    let mut add = |status: &str, response: DocResponse| {
        answers
            .entry(status.to_string())
            .or_insert_with(|| response.into());
    };
    add(
        "401",
        detail_response(
            "Not authenticated: chatd listens beyond loopback and the request has no \
             valid bearer token (docs/API.md §7); with `WWW-Authenticate: Bearer`",
        ),
    );
    add(
        "403",
        detail_response("The `Host` or the `Origin` is not allowed (docs/API.md §7)"),
    );
    if !WITHOUT_STORAGE.contains(&path) {
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait, where waiting helps"))
            .build();
        // The front door answers storage's errors in OpenAI's shape.
        let body = if path.starts_with("/v1/") {
            "OpenAiErrorBody"
        } else {
            "Detail"
        };
        let unavailable = ResponseBuilder::from(error_response(
            "The database is unavailable (docs/API.md §9), chatd is shutting down, or \
             too many replies are in flight",
            body,
        ))
        .header("Retry-After", retry_after)
        .build();
        add("503", unavailable);
        add(
            "507",
            error_response("The database's disk is full (docs/API.md §9)", body),
        );
    }
}

/// A response whose body is `{"detail": "text"}`.
fn detail_response(description: &str) -> DocResponse {
    error_response(description, "Detail")
}

/// A response whose body is the schema named `body`.
fn error_response(description: &str, body: &str) -> DocResponse {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(body)))
                .build(),
        )
        .build()
}

/// The document as JSON, made once.
pub fn document() -> &'static Bytes {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let written = serde_json::to_value(ChatdApi::openapi()).and_then(|mut document| {
            spell_links_as_openapi_does(&mut document);
            serde_json::to_vec(&document)
        });
        match written {
            Ok(json) => Bytes::from(json),
            // Serialising utoipa's own types does not fail; should it, say so in the body.
            Err(e) => Bytes::from(format!(
                r#"{{"detail":"the OpenAPI document failed: {e}"}}"#
            )),
        }
    })
}

/// utoipa 5 writes a Link object's fields in snake case (`operation_id`,
/// `request_body`); OpenAPI's are camel case, and clients that follow links (such as
/// schemathesis's stateful tests) read only those.
fn spell_links_as_openapi_does(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    let responses = operations
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(|responses| responses.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    let links = responses
        .filter_map(|response| response.get_mut("links"))
        .filter_map(|links| links.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_string(), value);
            }
        }
    }
}

/// Extension: GET /api/v1/openapi.json
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "daemon",
    responses((
        status = 200,
        description = "This document (OpenAPI 3.1)",
        content_type = "application/json",
        body = Object,
    ))
)]
pub(super) fn openapi_json() -> Response {
    let mut response = json_bytes_response(document().clone());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests;
