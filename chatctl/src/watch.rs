//! `chatctl watch`: chatd's live feed (`GET /events`), one line per event: readable on
//! a terminal, one JSON object per line with `--json` (`{"id", "event", "data"}`, the
//! shape README documents), so a script can react to what happens (`chatctl watch
//! --json | while read -r line; do ...`). A dropped connection is opened again with
//! the last event id seen (chatd then sends what came meanwhile, or a `lagged`), with a
//! doubling pause, a bounded number of times in a row. Ctrl-C ends it with exit code 0;
//! so does a closed stdout (`| head -1`).

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::context::Ctx;
use crate::error::Coded;
use crate::exit_codes::ExitCode;
use crate::reconnect::{RETRIES, pause};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub const AFTER_HELP: &str = "\
Only the events of the user given with --user (or CHATCTL_USER); without it, everyone's.
With --json, one object per line: {\"id\": \"EPOCH-N\", \"event\": \"reply.ended\",
\"data\": {...}}; a `lagged` event (id null) means events were missed: re-read what you
show.

Examples:
  chatctl watch
  chatctl --json watch | jq -r 'select(.event == \"reply.ended\") | .data.conversation_id'";

/// One line of `--json`.
#[derive(Debug, Serialize)]
struct Line<'a> {
    id: Option<&'a str>,
    event: &'a str,
    data: &'a Value,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = match ctx.user_given() {
            Some(_) => Some(ctx.user().await?.id),
            None => None,
        };
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut last_id: Option<String> = None;
        // Failed openings in a row; an event read starts the count again.
        let mut failures = 0;
        loop {
            if failures > 0 {
                tokio::select! {
                    _ = &mut ctrl_c => return Ok(()),
                    _ = tokio::time::sleep(pause(failures - 1)) => {}
                }
            }
            let opened = tokio::select! {
                _ = &mut ctrl_c => return Ok(()),
                opened = ctx.client.events(last_id.as_deref(), user) => opened,
            };
            let response = match opened {
                Ok(Some(response)) => response,
                Ok(None) => {
                    return Err(Coded {
                        code: ExitCode::Failure,
                        message: "this server has no event feed (GET /events)".into(),
                    }
                    .into());
                }
                Err(err) if failures < RETRIES && last_id.is_some() => {
                    note(ctx, &format!("reconnecting: {err}"));
                    failures += 1;
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            let mut events = response.bytes_stream().eventsource();
            loop {
                let next = tokio::select! {
                    _ = &mut ctrl_c => return Ok(()),
                    next = events.next() => next,
                };
                let Some(Ok(event)) = next else {
                    // Closed or broken: opened again after the last id.
                    break;
                };
                failures = 0;
                // Unknown data is shown as text rather than dropped.
                let data = serde_json::from_str::<Value>(&event.data)
                    .unwrap_or_else(|_| Value::String(event.data.clone()));
                let id = (!event.id.is_empty()).then_some(event.id.as_str());
                if ctx.out.json {
                    ctx.out.json_line(&Line {
                        id,
                        event: &event.event,
                        data: &data,
                    })?;
                } else {
                    ctx.out.line(&readable(&event.event, &data))?;
                }
                if let Some(id) = id {
                    last_id = Some(id.to_string());
                }
            }
            failures += 1;
            if failures > RETRIES {
                return Err(Coded {
                    code: ExitCode::Failure,
                    message: format!("the event stream broke {failures} times in a row; giving up"),
                }
                .into());
            }
        }
    }
}

/// A note on stderr, for a person watching.
fn note(ctx: &Ctx, text: &str) {
    if !ctx.out.json {
        eprintln!("chatctl watch: {text}");
    }
}

/// One event as a line for a person.
fn readable(event: &str, data: &Value) -> String {
    let number = |name: &str| data[name].as_i64().map_or("?".into(), |n| n.to_string());
    let text = |name: &str| data[name].as_str().unwrap_or("?").to_string();
    match event {
        "user.created" => format!("{event}  user {} {:?}", number("user_id"), text("username")),
        "conversation.created" | "conversation.updated" | "conversation.deleted" => format!(
            "{event}  conversation {} (user {})",
            number("conversation_id"),
            number("user_id")
        ),
        "message.created" => format!(
            "{event}  message {} ({}) in conversation {}",
            number("message_id"),
            text("role"),
            number("conversation_id")
        ),
        "reply.started" => format!(
            "{event}  conversation {}, reply {}",
            number("conversation_id"),
            number("reply_id")
        ),
        "reply.ended" => format!(
            "{event}  conversation {}, reply {}: {}{}",
            number("conversation_id"),
            number("reply_id"),
            text("status"),
            data["message_id"]
                .as_i64()
                .map_or(String::new(), |id| format!(" (message {id})"))
        ),
        "lagged" => format!(
            "lagged ({}): events were missed{}; re-read what you show",
            text("reason"),
            data["missed"]
                .as_u64()
                .map_or(String::new(), |n| format!(" ({n})"))
        ),
        other => format!("{other}  {data}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_reads_as_a_line() {
        let ended = json!({"type": "reply.ended", "conversation_id": 3, "user_id": 1,
            "reply_id": 8, "message_id": 9, "status": "complete", "stored": true});
        assert_eq!(
            readable("reply.ended", &ended),
            "reply.ended  conversation 3, reply 8: complete (message 9)"
        );
        assert_eq!(
            readable("user.created", &json!({"user_id": 2, "username": "ada"})),
            "user.created  user 2 \"ada\""
        );
        assert_eq!(
            readable("lagged", &json!({"reason": "slow", "missed": 4})),
            "lagged (slow): events were missed (4); re-read what you show"
        );
        assert_eq!(readable("new.kind", &json!(1)), "new.kind  1");
    }
}
