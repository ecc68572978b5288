//! The errors `chatctl` can end with and how each maps to an exit code.
//!
//! Commands return `anyhow::Result` so they can add context ("could not create user …");
//! `classify` walks the error chain for the typed errors below to pick the exit code,
//! and decides when to stay silent (a closed stdout, Ctrl-C).

use std::io;

use common::MessageStatus;

use crate::exit_codes::ExitCode;

/// What went wrong while talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status; `detail` is its `detail`, made readable.
    #[error("{detail}")]
    Status { status: u16, detail: String },
    /// Nothing answered at the address.
    #[error("no daemon answered at {server}; {hint}")]
    Unreachable { server: String, hint: String },
    /// Something answers at the address, but the API is not under its path.
    #[error("{server} answers, but the chat API is not there; {hint}")]
    WrongBase { server: String, hint: String },
    /// The connection failed some other way (timeout, reset, TLS).
    #[error("could not talk to {server}")]
    Transport {
        server: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered, but not as API.md says it would.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// The server's error body in plain words: a validation list (FastAPI's 422 shape)
/// becomes one clause per problem naming the argument as chatctl's user knows it
/// ("the message", "--name"), without pydantic's `Value error, ` prefix.
pub fn plain_detail(body: &common::ErrorBody) -> String {
    let serde_json::Value::Array(items) = &body.detail else {
        return body.summary();
    };
    let clauses: Vec<String> = items
        .iter()
        .map(|item| {
            let field = item
                .get("loc")
                .and_then(|loc| loc.as_array())
                .and_then(|loc| loc.last())
                .and_then(|last| last.as_str())
                .unwrap_or("");
            let msg = item
                .get("msg")
                .and_then(|m| m.as_str())
                .unwrap_or("is not valid");
            let msg = msg.strip_prefix("Value error, ").unwrap_or(msg);
            format!("{}: {}", argument_name(field), lowercase_first(msg))
        })
        .collect();
    if clauses.is_empty() {
        return body.summary();
    }
    format!("invalid {}", clauses.join("; "))
}

/// What the API's field is called on chatctl's command line.
fn argument_name(field: &str) -> String {
    match field {
        "message" => "message".into(),
        "username" => "username".into(),
        "email" => "--email".into(),
        "name" => "conversation name (--name)".into(),
        "conversation_id" => "conversation id".into(),
        "user_id" => "user id".into(),
        "skip" => "--skip".into(),
        "limit" => "--limit".into(),
        "" => "input".into(),
        other => other.replace('_', " "),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms and names ("NUL", "JSON") as they are.
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

/// A reply that ended without completing.
#[derive(Debug, thiserror::Error)]
#[error("the reply ended {}", outcome(*.status, .error.as_deref()))]
pub struct ReplyIncomplete {
    pub status: MessageStatus,
    pub error: Option<String>,
}

/// How a reply ended, in words: its status, then what a person needs to know about it.
pub fn outcome(status: MessageStatus, error: Option<&str>) -> String {
    match (status, error) {
        (MessageStatus::Truncated, _) => "truncated (cut at the model's token limit)".into(),
        (status, Some(error)) => format!("{}: {error}", status.as_str()),
        (status, None) => status.as_str().into(),
    }
}

/// The user pressed Ctrl-C; the reply was cancelled and nothing more needs saying.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// An error that carries its own exit code (e.g. a usage error found after parsing).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: ExitCode,
    pub message: String,
}

impl Coded {
    pub fn usage(message: impl Into<String>) -> Self {
        Coded {
            code: ExitCode::Usage,
            message: message.into(),
        }
    }
}

/// How to end after an error.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: ExitCode,
    /// Whether to print `chatctl: {err:#}` on stderr.
    pub report: bool,
}

/// Picks the exit code for `err` and whether to report it.
pub fn classify(err: &anyhow::Error) -> Verdict {
    let loud = |code| Verdict { code, report: true };
    for cause in err.chain() {
        // A reader that went away (`| head`) is not an error of ours: exit 0, quietly.
        if let Some(io_err) = cause.downcast_ref::<io::Error>()
            && io_err.kind() == io::ErrorKind::BrokenPipe
        {
            return Verdict {
                code: ExitCode::Success,
                report: false,
            };
        }
        if cause.downcast_ref::<Interrupted>().is_some() {
            return Verdict {
                code: ExitCode::Interrupted,
                report: false,
            };
        }
        if let Some(coded) = cause.downcast_ref::<Coded>() {
            return loud(coded.code);
        }
        if let Some(incomplete) = cause.downcast_ref::<ReplyIncomplete>() {
            return loud(match incomplete.status {
                MessageStatus::Failed | MessageStatus::Interrupted | MessageStatus::Truncated => {
                    ExitCode::Provider
                }
                MessageStatus::Cancelled | MessageStatus::Complete => ExitCode::Failure,
            });
        }
        if let Some(api) = cause.downcast_ref::<ApiError>() {
            return loud(match api {
                ApiError::Status { status, .. } => match status {
                    400 | 413 | 422 => ExitCode::Usage,
                    404 => ExitCode::NotFound,
                    409 => ExitCode::Conflict,
                    502..=504 => ExitCode::Provider,
                    _ => ExitCode::Failure,
                },
                ApiError::Unreachable { .. } | ApiError::WrongBase { .. } => ExitCode::Unreachable,
                ApiError::Transport { .. } | ApiError::Protocol(_) => ExitCode::Failure,
            });
        }
    }
    loud(ExitCode::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn status(code: u16) -> anyhow::Error {
        anyhow::Error::new(ApiError::Status {
            status: code,
            detail: "x".into(),
        })
    }

    #[test]
    fn statuses_map_to_documented_codes() {
        assert_eq!(classify(&status(404)).code, ExitCode::NotFound);
        assert_eq!(classify(&status(409)).code, ExitCode::Conflict);
        assert_eq!(classify(&status(422)).code, ExitCode::Usage);
        assert_eq!(classify(&status(502)).code, ExitCode::Provider);
        assert_eq!(classify(&status(500)).code, ExitCode::Failure);
    }

    #[test]
    fn broken_pipe_deep_in_the_chain_is_a_quiet_success() {
        let err = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing the reply")
            .context("send")
            .unwrap_err();
        assert_eq!(
            classify(&err),
            Verdict {
                code: ExitCode::Success,
                report: false
            }
        );
    }

    #[test]
    fn context_keeps_the_server_detail_readable() {
        let err = Err::<(), _>(ApiError::Status {
            status: 404,
            detail: "User not found".into(),
        })
        .context("could not look up user \"bob\"")
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "could not look up user \"bob\": User not found"
        );
        assert_eq!(classify(&err).code, ExitCode::NotFound);
    }

    #[test]
    fn validation_lists_read_as_plain_words_naming_the_argument() {
        let body: common::ErrorBody = serde_json::from_str(
            r#"{"detail":[{"type":"value_error","loc":["body","message"],
                "msg":"Value error, text must not contain NUL characters","input":"a"},
               {"type":"string_too_long","loc":["body","name"],
                "msg":"String should have at most 200 characters","input":"n"}]}"#,
        )
        .unwrap();
        assert_eq!(
            plain_detail(&body),
            "invalid message: text must not contain NUL characters; \
             conversation name (--name): string should have at most 200 characters"
        );
        let body: common::ErrorBody =
            serde_json::from_str(r#"{"detail":"User not found"}"#).unwrap();
        assert_eq!(plain_detail(&body), "User not found");
    }

    #[test]
    fn incomplete_replies_name_their_outcome() {
        let err = anyhow::Error::new(ReplyIncomplete {
            status: MessageStatus::Failed,
            error: Some("upstream closed".into()),
        });
        assert_eq!(
            format!("{err:#}"),
            "the reply ended failed: upstream closed"
        );
        assert_eq!(classify(&err).code, ExitCode::Provider);

        let err = anyhow::Error::new(ReplyIncomplete {
            status: MessageStatus::Truncated,
            error: None,
        });
        assert_eq!(
            format!("{err:#}"),
            "the reply ended truncated (cut at the model's token limit)"
        );
        assert_eq!(classify(&err).code, ExitCode::Provider);
    }
}
