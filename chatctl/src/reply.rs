//! Streaming one reply: `POST /chat?events=true`, tokens handed to the caller as they
//! arrive, a spinner until the first one, and Ctrl-C turned into a cancel request to
//! the daemon (the reply then ends `cancelled` and what was generated stays stored).
//!
//! Servers without the events extension send only tokens; the outcome is then read back
//! from `GET /conversations/{id}` so that callers always get a `StreamEnd`.

use std::time::Duration;

use common::{ChatRequest, Message, MessageStatus, Role, StreamEnd, StreamStart};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde::Serialize;

use crate::client::Client;
use crate::error::ApiError;
use crate::output::Spinner;
use crate::reconnect::{self, Again};

/// How long to wait for the `end` event after asking the daemon to cancel.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// One event of a reply, as handed to the caller and as printed by `--json --stream`
/// (one object per line: `{"event":"start",…}`, `{"event":"reasoning","content":…}`,
/// `{"event":"token","content":…}`, `{"event":"end",…}`).
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ReplyEvent<'a> {
    Start(&'a StreamStart),
    /// A piece of the model's reasoning (chatd's `reasoning` event), apart from the reply.
    Reasoning {
        content: &'a str,
    },
    Token {
        content: &'a str,
    },
    End(&'a StreamEnd),
}

/// How a reply ended.
#[derive(Debug)]
pub struct Outcome {
    pub end: StreamEnd,
    /// Whether the user pressed Ctrl-C (and we asked the daemon to cancel).
    pub interrupted: bool,
}

/// Sends `message` to conversation `conversation_id` and streams the reply into
/// `on_event`. An error from `on_event` (a closed stdout) stops at once and is returned;
/// the daemon still finishes and stores the reply.
/// With `show_reasoning` the caller prints the reasoning, so the spinner goes at its
/// first piece; without, the spinner says the model is thinking until the first token.
/// The message is stored beside the earlier user message `edit_of` (a new branch,
/// docs/API.md §3.19) when given.
pub async fn stream_edit(
    client: &Client,
    conversation_id: i64,
    message: &str,
    edit_of: Option<i64>,
    show_reasoning: bool,
    mut on_event: impl FnMut(ReplyEvent<'_>) -> std::io::Result<()>,
) -> anyhow::Result<Outcome> {
    let mut spinner = Spinner::start(waiting(show_reasoning));
    let request = ChatRequest {
        conversation_id,
        message: message.to_string(),
        edit_of,
    };
    let key = reconnect::fresh_key();
    let again = Again::Chat {
        request: &request,
        key: &key,
    };

    let response = tokio::select! {
        response = again.first(client, conversation_id) => match response? {
            Some(response) => response,
            None => return Err(ApiError::Protocol("no stream for the chat".into()).into()),
        },
        _ = tokio::signal::ctrl_c() => {
            spinner.stop();
            // The daemon may already have stored the message and begun the reply.
            let _ = client.cancel(conversation_id).await;
            let end = StreamEnd {
                conversation_id,
                status: MessageStatus::Cancelled,
                message: None,
                error: None,
                stored: true,
            };
            on_event(ReplyEvent::End(&end))?;
            return Ok(Outcome { end, interrupted: true });
        }
    };

    consume(
        client,
        (conversation_id, again),
        response,
        (spinner, show_reasoning),
        on_event,
    )
    .await
}

/// Asks for a new reply beside the assistant message `message_id` (else the
/// conversation's last reply) and streams it into `on_event`, as [`stream_edit`] does.
pub async fn regenerate(
    client: &Client,
    conversation_id: i64,
    message_id: Option<i64>,
    show_reasoning: bool,
    on_event: impl FnMut(ReplyEvent<'_>) -> std::io::Result<()>,
) -> anyhow::Result<Outcome> {
    let spinner = Spinner::start(waiting(show_reasoning));
    let again = Again::Regenerate { message_id };
    let Some(response) = again.first(client, conversation_id).await? else {
        return Err(anyhow::anyhow!(
            "conversation {conversation_id}: the new reply could not be followed"
        ));
    };
    consume(
        client,
        (conversation_id, again),
        response,
        (spinner, show_reasoning),
        on_event,
    )
    .await
}

/// Follows the reply already being generated on `conversation_id` (chatd's
/// `GET /conversations/{id}/reply` extension) from its first token on, or from the
/// event after `after` (a cursor: `{user message}:end` skips a reply already shown);
/// `None` when no reply is in flight or the server cannot tell.
pub async fn follow(
    client: &Client,
    conversation_id: i64,
    after: Option<&str>,
    show_reasoning: bool,
    on_event: impl FnMut(ReplyEvent<'_>) -> std::io::Result<()>,
) -> anyhow::Result<Option<Outcome>> {
    let again = Again::Attach { after };
    let Some(response) = again.first(client, conversation_id).await? else {
        return Ok(None);
    };
    let spinner = Spinner::start(waiting(show_reasoning));
    consume(
        client,
        (conversation_id, again),
        response,
        (spinner, show_reasoning),
        on_event,
    )
    .await
    .map(Some)
}

/// What the spinner says until the first token: a model reasoning unseen is thinking;
/// one whose reasoning is shown will show what it thinks.
fn waiting(show_reasoning: bool) -> &'static str {
    if show_reasoning {
        "waiting for the reply…"
    } else {
        "thinking…"
    }
}

/// Reads one reply's event stream to its end, handing events to `on_event`; Ctrl-C asks
/// the daemon to cancel the reply and waits (boundedly) for it to confirm. A stream
/// that breaks before the end is opened `again`, after the last event seen.
async fn consume(
    client: &Client,
    (conversation_id, again): (i64, Again<'_>),
    response: reqwest::Response,
    (mut spinner, show_reasoning): (Spinner, bool),
    mut on_event: impl FnMut(ReplyEvent<'_>) -> std::io::Result<()>,
) -> anyhow::Result<Outcome> {
    let mut events = response.bytes_stream().eventsource();
    let mut started = false;
    let mut text = String::new();
    let mut end: Option<StreamEnd> = None;
    let mut interrupted = false;
    let mut cancel_deadline: Option<tokio::time::Instant> = None;
    // The id of the last event read: where a broken stream is resumed.
    let mut last_id: Option<String> = None;

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    loop {
        let next = tokio::select! {
            next = events.next() => next,
            _ = &mut ctrl_c => {
                if interrupted {
                    // A second Ctrl-C: stop waiting for the daemon to confirm.
                    break;
                }
                interrupted = true;
                spinner.stop();
                let _ = client.cancel(conversation_id).await;
                cancel_deadline = Some(tokio::time::Instant::now() + CANCEL_GRACE);
                ctrl_c.set(tokio::signal::ctrl_c());
                continue;
            }
            // After a cancel, a server that never ends the stream must not hang us.
            _ = sleep_until(cancel_deadline) => break,
        };
        let event = match next {
            Some(Ok(event)) => event,
            // Broken, or closed before the end: resumed after the last event seen.
            Some(Err(eventsource_stream::EventStreamError::Transport(_))) | None
                if !interrupted && (started || last_id.is_some()) =>
            {
                match again
                    .resume(client, conversation_id, last_id.as_deref())
                    .await
                {
                    Ok(Some(response)) => {
                        events = response.bytes_stream().eventsource();
                        continue;
                    }
                    // Nothing to resume: the outcome is read back below.
                    Ok(None) => break,
                    Err(err) => return Err(err.into()),
                }
            }
            None => break,
            Some(Err(err)) => {
                return Err(match err {
                    eventsource_stream::EventStreamError::Transport(err) => {
                        client.transport_error(err)
                    }
                    other => ApiError::Protocol(other.to_string()),
                }
                .into());
            }
        };
        if !event.id.is_empty() {
            last_id = Some(event.id.clone());
        }
        match event.event.as_str() {
            "start" => {
                let start: StreamStart = parse(&event.data, "start")?;
                started = true;
                on_event(ReplyEvent::Start(&start))?;
            }
            "end" => {
                end = Some(parse(&event.data, "end")?);
                break;
            }
            "reasoning" => {
                let content: String = parse(&event.data, "reasoning")?;
                // Unseen reasoning keeps the spinner saying "thinking".
                if show_reasoning {
                    spinner.stop();
                }
                if !interrupted {
                    on_event(ReplyEvent::Reasoning { content: &content })?;
                }
            }
            "message" | "" => {
                if event.data.is_empty() {
                    continue;
                }
                spinner.stop();
                text.push_str(&event.data);
                if !interrupted {
                    on_event(ReplyEvent::Token {
                        content: &event.data,
                    })?;
                }
            }
            // Unknown event names are for newer clients.
            _ => {}
        }
    }
    spinner.stop();

    let end = match end {
        Some(end) => end,
        None if started && !interrupted => {
            return Err(ApiError::Protocol(format!(
                "the stream closed before the reply ended; the daemon keeps generating \
                 it (see `chatctl conv show {conversation_id}`)"
            ))
            .into());
        }
        None => read_back(client, conversation_id, &text, interrupted).await,
    };
    on_event(ReplyEvent::End(&end))?;
    Ok(Outcome { end, interrupted })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: &str, name: &str) -> Result<T, ApiError> {
    serde_json::from_str(data)
        .map_err(|err| ApiError::Protocol(format!("a bad `{name}` event: {err}")))
}

/// The outcome of a reply from a server without the events extension: the stored
/// assistant message, found by reading the conversation back.
async fn read_back(
    client: &Client,
    conversation_id: i64,
    text: &str,
    interrupted: bool,
) -> StreamEnd {
    // The original backend stores the reply right after the stream ends, so it may take
    // a moment to appear; a few tries, then go on without it.
    let mut message: Option<Message> = None;
    for _ in 0..10 {
        if let Ok(conversation) = client.conversation(conversation_id).await
            && let Some(last) = conversation.messages.last()
            && last.role == Role::Assistant
            && (last.content == text || interrupted)
        {
            message = Some(last.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = match (&message, interrupted) {
        (
            Some(Message {
                status: Some(status),
                ..
            }),
            _,
        ) => *status,
        (_, true) => MessageStatus::Cancelled,
        _ => MessageStatus::Complete,
    };
    StreamEnd {
        conversation_id,
        status,
        message,
        error: None,
        stored: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_as_one_tagged_object_each() {
        let token = serde_json::to_string(&ReplyEvent::Token { content: " sky" }).unwrap();
        assert_eq!(token, r#"{"event":"token","content":" sky"}"#);
        let end = StreamEnd {
            conversation_id: 3,
            status: MessageStatus::Cancelled,
            message: None,
            error: None,
            stored: true,
        };
        let end = serde_json::to_string(&ReplyEvent::End(&end)).unwrap();
        assert_eq!(
            end,
            r#"{"event":"end","conversation_id":3,"status":"cancelled","message":null,"error":null,"stored":true}"#
        );
    }
}
