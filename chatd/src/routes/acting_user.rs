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

/// The name of the request's user: the header's, else `named` (a name the body gave),
/// else `default_user`; normalised and checked as a username.
pub fn acting_user_name(
    headers: &HeaderMap,
    named: Option<&str>,
    default_user: &str,
) -> Result<String, UserChoiceError> {
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
    match input::username_problem(&name) {
        Some(problem) => Err(UserChoiceError::Invalid {
            from_header,
            message: problem.msg,
        }),
        None => Ok(name),
    }
}

/// The id of the request's user ([`acting_user_name`]), registered when it is new.
pub async fn acting_user(
    app: &App,
    headers: &HeaderMap,
    named: Option<&str>,
    default_user: &str,
) -> Result<i64, UserChoiceError> {
    let name = acting_user_name(headers, named, default_user)?;
    if let Some(user) = app.store.user_by_name(name.clone()).await? {
        return Ok(user.id);
    }
    match app.store.create_user(name.clone(), None).await? {
        CreateUserOutcome::Created(user) => {
            app.events.announce(crate::events::Event::UserCreated {
                user_id: user.id,
                username: user.username,
            });
            Ok(user.id)
        }
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
