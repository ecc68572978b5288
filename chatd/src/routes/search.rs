//! Extension: `GET /users/{user_id}/search?q=&limit=20&skip=0`, full-text search over a
//! user's messages (`docs/API.md` §3.11). The query syntax is `search::query`'s; the
//! SQL is `store/search.rs`'s.

use common::archive::SearchHit;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::error::{Invalid, json_response};
use super::openapi::schemas::{Detail, ValidationError};
use super::{ApiError, App, input, path_id_or_problems, views};
use crate::search::{self, Query, query::MAX_TERMS};

/// A query longer than this is refused: no one types it, and it would only cost.
const QUERY_MAX_CHARS: usize = 1000;
const LIMIT_DEFAULT: i64 = 20;
const LIMIT_MAX: i64 = 100;
/// Paging deeper than this is refused: a ranked search reads every hit before the page.
const SKIP_MAX: i64 = 10_000;

#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/search", tag = "archive",
    params(
        ("user_id" = i64, Path),
        ("q" = String, Query, min_length = 1, max_length = 1000, description = "Words, \"phrases\", -word, role:, before:, after: (docs/API.md §3.11)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Default 20"),
        ("skip" = Option<i64>, Query, minimum = 0, maximum = 10000, description = "Default 0"),
    ),
    responses(
        (status = 200, description = "The hits, best first", body = Vec<SearchHit>),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 422, description = "A bad id, `q` missing, too long or with nothing to find, bad paging", body = ValidationError),
    )
)]
/// GET /users/{user_id}/search
pub async fn search(app: &App, raw_id: &str, query: &str) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let user_id = path_id_or_problems("user_id", raw_id, &mut problems)?;
    let pairs = input::query_pairs(query);
    let skip = input::query_int(&pairs, "skip", 0, 0, Some(SKIP_MAX))
        .map_err(|item| problems.push(*item))
        .ok();
    let limit = input::query_int(&pairs, "limit", LIMIT_DEFAULT, 1, Some(LIMIT_MAX))
        .map_err(|item| problems.push(*item))
        .ok();
    let parsed = read_query(input::query_value(&pairs, "q"))
        .map_err(|item| problems.push(*item))
        .ok();
    let (Some(user_id), Some(skip), Some(limit), Some(parsed)) = (user_id, skip, limit, parsed)
    else {
        return Err(ApiError::Invalid(problems));
    };
    let terms = parsed.terms.clone();
    let rows = app
        .store
        .search_messages(user_id, parsed, skip, limit)
        .await?
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    let hits: Vec<SearchHit> = rows
        .into_iter()
        .map(|found| {
            let row = found.row;
            let cut = search::snippet(&row.content, &terms);
            SearchHit {
                conversation_id: row.conversation_id,
                conversation_name: row.conversation_name,
                message_id: row.message_id,
                role: if row.role == "assistant" {
                    common::Role::Assistant
                } else {
                    common::Role::User
                },
                created_at: views::timestamp(&row.created_at),
                snippet: cut.text,
                highlights: cut.highlights,
                on_active_path: found.on_active_path,
            }
        })
        .collect();
    Ok(json_response(StatusCode::OK, &hits))
}

/// `q`, parsed; a 422 item when it is missing, too long, or has nothing to find.
fn read_query(raw: Option<&str>) -> Result<Query, Box<Invalid>> {
    let loc = vec![json!("query"), json!("q")];
    let Some(text) = raw else {
        return Err(Box::new(Invalid::new(
            "missing",
            loc,
            "Field required",
            serde_json::Value::Null,
        )));
    };
    if text.chars().count() > QUERY_MAX_CHARS {
        return Err(Box::new(input::too_long(loc, text, QUERY_MAX_CHARS)));
    }
    let query = Query::parse(text);
    if query.terms.is_empty() {
        return Err(Box::new(input::value_error(
            loc,
            text,
            "the query has no word to search for (a word, a \"phrase\"; -word, role:, \
             before: and after: only narrow a search)",
        )));
    }
    if query.term_count() > MAX_TERMS {
        return Err(Box::new(input::value_error(
            loc,
            text,
            &format!("the query has more than {MAX_TERMS} words and phrases"),
        )));
    }
    Ok(query)
}
