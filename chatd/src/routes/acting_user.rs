//! The user a request acts for when it names no user id: the `X-Chatd-User` header,
//! else a name the request carries in its body (the OpenAI `user` field), else chatd's
//! `--default-user`, registered on first use. The OpenAI front door and the AI SDK
//! routes (`ui_chat/`) both find their user here.

use warp::http::{HeaderMap, StatusCode};

use super::error::ApiError;
use super::{App, input};
use crate::store::CreateUserOutcome;

pub const USER_HEADER: &str = "x-chatd-user";

/// Why no user could be chosen.
#[derive(Debug)]
pub enum UserChoiceError {
    /// The name is not a valid username; `from_header` when the header gave it, else
    /// the body's field (or the default user) did.
    Invalid {
        from_header: bool,
        message: String,
    },
    Failed(ApiError),
}

impl From<crate::store::StoreError> for UserChoiceError {
    fn from(error: crate::store::StoreError) -> Self {
        UserChoiceError::Failed(error.into())
    }
}

/// The id of the request's user: the header's name, else `named` (a name the body
/// gave), else `default_user`; registered when it is new.
pub async fn acting_user(
    app: &App,
    headers: &HeaderMap,
    named: Option<&str>,
    default_user: &str,
) -> Result<i64, UserChoiceError> {
    let (from_header, raw) = match headers.get(USER_HEADER) {
        Some(value) => (
            true,
            value
                .to_str()
                .map(str::to_string)
                .map_err(|_| UserChoiceError::Invalid {
                    from_header: true,
                    message: "X-Chatd-User must be text".into(),
                })?,
        ),
        None => (false, named.unwrap_or(default_user).to_string()),
    };
    let name = input::normalize_username(&raw);
    if let Some(problem) = input::username_problem(&name) {
        return Err(UserChoiceError::Invalid {
            from_header,
            message: problem.msg,
        });
    }
    if let Some(user) = app.store.user_by_name(name.clone()).await? {
        return Ok(user.id);
    }
    match app.store.create_user(name.clone(), None).await? {
        CreateUserOutcome::Created(user) => Ok(user.id),
        // Registered by a request that ran at the same time.
        CreateUserOutcome::UsernameTaken => match app.store.user_by_name(name).await? {
            Some(user) => Ok(user.id),
            None => Err(UserChoiceError::Failed(ApiError::detail(
                StatusCode::CONFLICT,
                "the user was deleted while it was being looked up; send the request again",
            ))),
        },
    }
}
