//! ChatGPT's `conversations.json` (Settings → Data controls → Export): an array of
//! conversations, each a tree of nodes in `mapping` with the branch last shown in
//! `current_node`. The import keeps that branch, from the root down to `current_node`,
//! with the original title and times; system and tool nodes, and nodes ChatGPT hides
//! (`metadata.is_visually_hidden_from_conversation`, custom instructions, reasoning
//! summaries), are left out; a content part that is not text becomes a short
//! placeholder naming what was there (`[image]`).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime};
use common::{MessageStatus, Role};
use serde_json::{Map, Value};

use crate::store::{
    ConversationSettingsRow, ImportedConversation, ImportedMessage, MessageDetails,
};

use super::{clean_text, conversation_name};

/// Whether a conversation object is ChatGPT's.
pub fn is_chatgpt(object: &Map<String, Value>) -> bool {
    object.get("mapping").is_some_and(Value::is_object)
}

/// Content types that are ChatGPT's own bookkeeping, never shown as a message.
const HIDDEN_CONTENT: [&str; 4] = [
    "user_editable_context",
    "model_editable_context",
    "thoughts",
    "reasoning_recap",
];

/// A ChatGPT conversation as chatd stores it, or why it cannot be.
pub fn convert(
    object: &Map<String, Value>,
    now: NaiveDateTime,
) -> Result<ImportedConversation, String> {
    let mapping = object
        .get("mapping")
        .and_then(Value::as_object)
        .ok_or("no `mapping` object")?;
    let current = object
        .get("current_node")
        .and_then(Value::as_str)
        .ok_or("no `current_node`")?;
    let created_at = epoch(object.get("create_time")).unwrap_or(now);
    // The branch, walked up from current_node; a loop in `parent` ends the walk.
    let mut path = Vec::new();
    let mut seen = HashSet::new();
    let mut at = Some(current);
    while let Some(id) = at {
        if !seen.insert(id) {
            break;
        }
        let node = mapping
            .get(id)
            .and_then(Value::as_object)
            .ok_or_else(|| format!("`current_node` leads to `{id}`, which is not in `mapping`"))?;
        path.push(node);
        at = node.get("parent").and_then(Value::as_str);
    }
    path.reverse();
    let mut messages = Vec::new();
    let mut last_time = created_at;
    for node in path {
        let Some(message) = node.get("message").and_then(Value::as_object) else {
            continue;
        };
        let Some(imported) = convert_message(message, last_time) else {
            continue;
        };
        last_time = imported.created_at;
        messages.push(imported);
    }
    if messages.is_empty() {
        return Err("no user or assistant message on the path to `current_node`".into());
    }
    let name = conversation_name(object.get("title").and_then(Value::as_str));
    Ok(ImportedConversation {
        settings: ConversationSettingsRow {
            title_source: name
                .as_ref()
                .map(|_| crate::store::TITLE_BY_USER.to_string()),
            ..ConversationSettingsRow::default()
        },
        name,
        created_at,
        messages,
    })
}

fn convert_message(
    message: &Map<String, Value>,
    previous: NaiveDateTime,
) -> Option<ImportedMessage> {
    let role = match message.get("author")?.get("role")?.as_str()? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        // system, tool and anything newer
        _ => return None,
    };
    let hidden = message
        .get("metadata")
        .and_then(|m| m.get("is_visually_hidden_from_conversation"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if hidden {
        return None;
    }
    let content = message.get("content").and_then(Value::as_object)?;
    let kind = content
        .get("content_type")
        .and_then(Value::as_str)
        .unwrap_or("text");
    if HIDDEN_CONTENT.contains(&kind) {
        return None;
    }
    let text = clean_text(&content_text(kind, content));
    if text.trim().is_empty() {
        return None;
    }
    let model = message
        .get("metadata")
        .and_then(|m| m.get("model_slug"))
        .and_then(Value::as_str)
        .filter(|_| role == Role::Assistant)
        .map(|slug| format!("chatgpt/{}", clean_text(slug)));
    Some(ImportedMessage {
        role,
        content: text,
        status: MessageStatus::Complete,
        created_at: epoch(message.get("create_time")).unwrap_or(previous),
        details: MessageDetails {
            model,
            ..MessageDetails::NONE
        },
    })
}

/// The text of a message's content, with placeholders for what is not text.
fn content_text(kind: &str, content: &Map<String, Value>) -> String {
    match kind {
        "text" | "multimodal_text" => {
            let parts = content.get("parts").and_then(Value::as_array);
            parts
                .into_iter()
                .flatten()
                .map(part_text)
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        }
        "code" => {
            let code = content.get("text").and_then(Value::as_str).unwrap_or("");
            let language = content
                .get("language")
                .and_then(Value::as_str)
                .filter(|l| *l != "unknown")
                .unwrap_or("");
            format!("```{language}\n{code}\n```")
        }
        other => placeholder(other),
    }
}

fn part_text(part: &Value) -> String {
    match part {
        Value::String(text) => text.clone(),
        Value::Object(object) => {
            let kind = object
                .get("content_type")
                .and_then(Value::as_str)
                .unwrap_or("attachment");
            // An audio part carries its own transcript.
            match object.get("text").and_then(Value::as_str) {
                Some(text) if kind == "audio_transcription" => text.to_string(),
                _ => placeholder(kind),
            }
        }
        _ => String::new(),
    }
}

/// What a part that is not text was, in a few words.
fn placeholder(kind: &str) -> String {
    let what = match kind {
        "image_asset_pointer" => "image",
        "audio_asset_pointer" | "real_time_user_audio_video_asset_pointer" => "audio",
        "execution_output" => "code output",
        "tether_browsing_display" | "tether_quote" => "web browsing result",
        "system_error" => "error",
        other => other,
    };
    let what: String = what.chars().filter(|c| !c.is_control()).take(60).collect();
    format!("[{what} not imported]")
}

/// A ChatGPT time: seconds since the epoch, with a fraction.
fn epoch(value: Option<&Value>) -> Option<NaiveDateTime> {
    let seconds = value?.as_f64()?;
    if !seconds.is_finite() {
        return None;
    }
    let micros = (seconds * 1e6).round();
    // Outside chrono's range (the year ±262,143) is no time at all.
    if micros.abs() > 8e18 {
        return None;
    }
    DateTime::from_timestamp_micros(micros as i64).map(|at| at.naive_utc())
}
