//! Extension `GET /users/{user_id}/conversations/summaries?skip&limit&order`: a page of
//! a user's conversations with their message counts and last activity, plus the total,
//! so a client can show a readable list (and "N more") in one request. The documented
//! `GET /users/{user_id}/conversations` stays as it is.

use common::summaries::{ConversationSummaries, ConversationSummary, SummaryOrder};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::error::{Invalid, json_response};
use super::openapi::schemas::ValidationError;
use super::{ApiError, App, input, path_id_or_problems, views};

/// A user's id from the path and `skip`/`limit` from the query, as every route that
/// lists a user's conversations reads them; problems are added to `problems`.
pub(super) fn user_page(
    raw_id: &str,
    pairs: &[(String, String)],
    problems: &mut Vec<Invalid>,
) -> Result<Option<(i64, i64, i64)>, ApiError> {
    let user_id = path_id_or_problems("user_id", raw_id, problems)?;
    let skip = input::query_int(pairs, "skip", 0, 0, None)
        .map_err(|item| problems.push(*item))
        .ok();
    let limit = input::query_int(
        pairs,
        "limit",
        super::LIMIT_DEFAULT,
        0,
        Some(super::LIMIT_MAX),
    )
    .map_err(|item| problems.push(*item))
    .ok();
    Ok(match (user_id, skip, limit) {
        (Some(user_id), Some(skip), Some(limit)) => Some((user_id, skip, limit)),
        _ => None,
    })
}

/// `order`: `newest` (the default) or `oldest`, as pydantic reports a `Literal`.
fn order(pairs: &[(String, String)]) -> Result<SummaryOrder, Box<Invalid>> {
    let Some(text) = input::query_value(pairs, "order") else {
        return Ok(SummaryOrder::Newest);
    };
    SummaryOrder::parse(text).ok_or_else(|| {
        Box::new(
            Invalid::new(
                "literal_error",
                vec![json!("query"), json!("order")],
                "Input should be 'newest' or 'oldest'",
                json!(text),
            )
            .with_ctx(json!({"expected": "'newest' or 'oldest'"})),
        )
    })
}

#[utoipa::path(
    get, path = "/api/v1/users/{user_id}/conversations/summaries", tag = "conversations",
    params(
        ("user_id" = i64, Path),
        ("skip" = Option<i64>, Query, minimum = 0),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000, description = "Default 10"),
        ("order" = Option<super::openapi::schemas::SummaryOrder>, Query, description = "`newest` (the default) or `oldest`, by last activity"),
    ),
    responses(
        (status = 200, description = "A page of summaries and the total", body = ConversationSummaries),
        (status = 422, description = "A bad id, paging or order", body = ValidationError),
    )
)]
/// Extension: GET /users/{user_id}/conversations/summaries
pub(super) async fn list_summaries(
    app: &App,
    raw_id: &str,
    query: &str,
) -> Result<Response, ApiError> {
    let pairs = input::query_pairs(query);
    let mut problems = Vec::new();
    let page = user_page(raw_id, &pairs, &mut problems)?;
    let order = order(&pairs).map_err(|item| problems.push(*item)).ok();
    let (Some((user_id, skip, limit)), Some(order)) = (page, order) else {
        return Err(ApiError::Invalid(problems));
    };
    let (total, rows) = app
        .store
        .conversation_summaries(user_id, skip, limit, order)
        .await?;
    let conversations = rows
        .into_iter()
        .map(|row| ConversationSummary {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            created_at: views::timestamp(&row.created_at),
            message_count: u64::try_from(row.message_count).unwrap_or(0),
            last_activity_at: views::timestamp(&row.last_activity_at),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ConversationSummaries {
            total,
            conversations,
        },
    ))
}
