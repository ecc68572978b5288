//! The document against the route tables: every route of `routes::Route` and
//! `routes::openai::Route` has its operations in the document with exactly the methods
//! it answers, and every documented path is a route. A new route without annotations
//! fails here; so does an annotation whose path or method the table does not serve.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::document;
use crate::routes::{Route, openai};

/// Each route of the `/api/v1` table, numbered. The match has no wildcard, so a new
/// route does not compile until it is numbered here, and then the test below fails
/// until the document has it.
fn api_route_number(route: &Route<'_>) -> usize {
    match route {
        Route::CreateUser => 0,
        Route::User(_) => 1,
        Route::UserConversations(_) => 2,
        Route::Search(_) => 3,
        Route::ExportUser(_) => 4,
        Route::Import(_) => 5,
        Route::ConversationSummaries(_) => 6,
        Route::CreateConversation => 7,
        Route::Conversation(_) => 8,
        Route::ConversationSettings(_) => 9,
        Route::ExportConversation(_) => 10,
        Route::ListMessages(_) => 11,
        Route::CancelReply(_) => 12,
        Route::AttachReply(_) => 13,
        Route::Chat => 14,
        Route::Status => 15,
        Route::Models => 16,
        Route::OpenApi => 17,
        Route::UiChat => 18,
        Route::UiChatStream(_) => 19,
        Route::UiChatStop(_) => 20,
        Route::UiChatMessages(_) => 21,
        Route::Regenerate(_) => 22,
        Route::Tree(_) => 23,
        Route::Events => 24,
    }
}
const API_ROUTES: usize = 25;
/// Their names, for the failure message.
const API_ROUTE_NAMES: [&str; API_ROUTES] = [
    "CreateUser",
    "User",
    "UserConversations",
    "Search",
    "ExportUser",
    "Import",
    "ConversationSummaries",
    "CreateConversation",
    "Conversation",
    "ConversationSettings",
    "ExportConversation",
    "ListMessages",
    "CancelReply",
    "AttachReply",
    "Chat",
    "Status",
    "Models",
    "OpenApi",
    "UiChat",
    "UiChatStream",
    "UiChatStop",
    "UiChatMessages",
    "Regenerate",
    "Tree",
    "Events",
];

/// The same for the front door; `Unknown` (any other path under `/v1`) is no route.
fn front_door_route_number(route: &openai::Route) -> Option<usize> {
    match route {
        openai::Route::ChatCompletions => Some(0),
        openai::Route::Models => Some(1),
        openai::Route::Responses => Some(2),
        openai::Route::Response(_) => Some(3),
        openai::Route::CancelResponse(_) => Some(4),
        openai::Route::Unknown => None,
    }
}
const FRONT_DOOR_ROUTES: usize = 5;
const FRONT_DOOR_ROUTE_NAMES: [&str; FRONT_DOOR_ROUTES] = [
    "ChatCompletions",
    "Models",
    "Responses",
    "Response",
    "CancelResponse",
];

fn parsed() -> Value {
    serde_json::from_slice(document()).expect("the document is JSON")
}

/// A documented path with each `{parameter}` filled in, as a client would send it.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("a closed parameter") + open;
        out.push('7');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The methods of an `Allow` header, less `HEAD`, which the document leaves implicit.
fn methods_of(allow: &str) -> BTreeSet<String> {
    allow
        .split(", ")
        .filter(|method| *method != "HEAD")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_route_of_the_tables_is_documented_with_the_methods_it_answers() {
    let document = parsed();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    let mut api_seen = HashSet::new();
    let mut front_door_seen = HashSet::new();
    for (template, item) in paths {
        let documented: BTreeSet<String> = item
            .as_object()
            .expect("a path item")
            .keys()
            .map(|method| method.to_uppercase())
            .collect();
        let path = concrete(template);
        if let Some(route) = Route::parse(&path) {
            assert_eq!(documented, methods_of(route.allow()), "{template}");
            assert!(
                api_seen.insert(api_route_number(&route)),
                "{template}: a route documented under two paths"
            );
        } else if let Some(route) = openai::Route::parse(&path) {
            let number = front_door_route_number(&route)
                .unwrap_or_else(|| panic!("{template} is no route of the front door"));
            assert_eq!(documented, methods_of(route.allow()), "{template}");
            assert!(front_door_seen.insert(number), "{template} twice");
        } else {
            panic!("{template} is documented but no route serves it");
        }
    }
    let missing: Vec<&str> = (0..API_ROUTES)
        .filter(|n| !api_seen.contains(n))
        .map(|n| API_ROUTE_NAMES[n])
        .collect();
    assert!(
        missing.is_empty(),
        "routes::Route::{missing:?} have no #[utoipa::path] in the document"
    );
    let missing: Vec<&str> = (0..FRONT_DOOR_ROUTES)
        .filter(|n| !front_door_seen.contains(n))
        .map(|n| FRONT_DOOR_ROUTE_NAMES[n])
        .collect();
    assert!(
        missing.is_empty(),
        "openai::Route::{missing:?} have no #[utoipa::path] in the document"
    );
}

#[test]
fn every_operation_documents_its_errors_and_every_reference_resolves() {
    let document = parsed();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let responses = operation["responses"].as_object().expect("responses");
            let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
            assert!(
                statuses.iter().any(|status| status.starts_with('2')),
                "{method} {template}: no success"
            );
            for common in ["401", "403"] {
                assert!(statuses.contains(common), "{method} {template}: {common}");
            }
            if template.contains('{') && template.starts_with("/api/v1") {
                assert!(
                    statuses.contains("422"),
                    "{method} {template}: a path parameter can be refused"
                );
            }
        }
    }
    // Every `$ref` names a schema of the document.
    let text = String::from_utf8(super::document().to_vec()).expect("UTF-8");
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').expect("a closed reference")];
        assert!(
            schemas.contains_key(name),
            "{name} is referenced, not defined"
        );
    }
}

#[test]
fn streams_are_documented_as_server_sent_events_with_their_event_types() {
    let document = parsed();
    for (template, method) in [
        ("/api/v1/chat", "post"),
        ("/api/v1/conversations/{conversation_id}/reply", "get"),
    ] {
        let ok = &document["paths"][template][method]["responses"]["200"];
        assert!(
            ok["content"]["text/event-stream"].is_object(),
            "{method} {template}: {ok}"
        );
        let description = ok["description"].as_str().expect("a description");
        for event in ["start", "reasoning", "end"] {
            assert!(
                description.contains(&format!("`{event}`")),
                "{template}: {event}"
            );
        }
    }
    let completions = &document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"];
    assert!(completions["content"]["text/event-stream"].is_object());
    assert!(completions["content"]["application/json"].is_object());
}
