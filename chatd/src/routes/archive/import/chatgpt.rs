//! ChatGPT's `conversations.json` (Settings → Data controls → Export): an array of
//! conversations, each a tree of nodes in `mapping` with the branch last shown in
//! `current_node`. A regenerated answer is a second assistant child of the same user
//! node; an edited question a second user child of the node above it. The import keeps
//! every branch, with the original title and times, and makes the path to
//! `current_node` the active one. System and tool nodes, calls to tools, nodes ChatGPT hides
//! (`metadata.is_visually_hidden_from_conversation`, custom instructions, reasoning
//! summaries) and empty ones are left out, their children attached to the nearest
//! ancestor that is kept; a content part that is not text becomes a short placeholder
//! naming what was there (`[image]`).

use std::collections::HashMap;

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

/// A node of `mapping` that becomes a message.
struct Kept<'a> {
    id: &'a str,
    message: ImportedMessage,
    /// Its own `create_time`, if it has one.
    time: Option<NaiveDateTime>,
    /// The index in the kept nodes of the nearest kept ancestor.
    parent: Option<usize>,
}

/// The nodes of `mapping` and where each leads up to.
struct Nodes<'a> {
    mapping: &'a Map<String, Value>,
    /// Node id to its index among the kept nodes.
    kept: HashMap<&'a str, usize>,
    /// Node id to its nearest kept ancestor-or-self, once found.
    anchors: HashMap<&'a str, Option<usize>>,
}

impl<'a> Nodes<'a> {
    fn parent_of(&self, id: &str) -> Option<&'a str> {
        self.mapping
            .get(id)?
            .get("parent")?
            .as_str()
            .and_then(|parent| self.mapping.get_key_value(parent))
            .map(|(key, _)| key.as_str())
    }

    /// The kept node at or above `start`; `None` when the walk reaches a root, leaves
    /// `mapping` or goes round a loop. Every node walked remembers the answer, so all
    /// the walks together take a step per node.
    fn anchor(&mut self, start: &'a str) -> Option<usize> {
        let mut chain = Vec::new();
        let mut at = start;
        let found = loop {
            if let Some(found) = self.anchors.get(at) {
                break *found;
            }
            if let Some(index) = self.kept.get(at) {
                break Some(*index);
            }
            // Longer than `mapping` is a loop.
            if chain.len() > self.mapping.len() {
                break None;
            }
            chain.push(at);
            match self.parent_of(at) {
                Some(parent) => at = parent,
                None => break None,
            }
        };
        for id in chain {
            self.anchors.insert(id, found);
        }
        found
    }
}

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
    if !mapping.contains_key(current) {
        return Err(format!(
            "`current_node` is `{current}`, which is not in `mapping`"
        ));
    }
    let created_at = epoch(object.get("create_time")).unwrap_or(now);
    let mut kept: Vec<Kept> = Vec::new();
    for (id, node) in mapping {
        let Some(message) = node.get("message").and_then(Value::as_object) else {
            continue;
        };
        if let Some((message, time)) = convert_message(message, created_at) {
            kept.push(Kept {
                id,
                message,
                time,
                parent: None,
            });
        }
    }
    if kept.is_empty() {
        return Err("no user or assistant message in `mapping`".into());
    }
    let mut nodes = Nodes {
        mapping,
        kept: kept.iter().enumerate().map(|(i, k)| (k.id, i)).collect(),
        anchors: HashMap::new(),
    };
    for (index, node) in kept.iter_mut().enumerate() {
        let above = nodes.parent_of(node.id);
        node.parent = above
            .and_then(|above| nodes.anchor(above))
            .filter(|&parent| parent != index);
    }
    let active = nodes.anchor(current);
    let order = oldest_first(&mut kept);
    let mut position = vec![0usize; kept.len()];
    for (at, &index) in order.iter().enumerate() {
        position[index] = at;
    }
    let mut messages: Vec<ImportedMessage> = Vec::with_capacity(kept.len());
    for &index in &order {
        let node = &kept[index];
        let parent = node.parent.map(|parent| position[parent]);
        let mut message = node.message.clone();
        // A message without a time of its own is as old as the one it follows.
        message.created_at = node.time.unwrap_or_else(|| {
            parent
                .and_then(|parent| messages.get(parent))
                .map_or(created_at, |above| above.created_at)
        });
        message.parent = parent;
        messages.push(message);
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
        active: active.map(|index| position[index]),
    })
}

/// The kept nodes in the order they are stored: by time (siblings oldest first, as a
/// "2 / 3" switcher counts them), each after its parent. A loop of parents among them
/// is cut where the walk finds it, that node becoming a root.
fn oldest_first(kept: &mut [Kept]) -> Vec<usize> {
    let mut by_time: Vec<usize> = (0..kept.len()).collect();
    by_time.sort_by_key(|&index| kept[index].time);
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Walking,
        Placed,
    }
    let mut marks = vec![Mark::New; kept.len()];
    let mut order = Vec::with_capacity(kept.len());
    for start in by_time {
        // The unplaced ancestors of `start`, nearest first.
        let mut chain: Vec<usize> = Vec::new();
        let mut at = Some(start);
        while let Some(index) = at {
            match marks[index] {
                Mark::Placed => break,
                Mark::Walking => {
                    // A loop: the node that closes it becomes a root.
                    if let Some(&below) = chain.last() {
                        kept[below].parent = None;
                    }
                    break;
                }
                Mark::New => {
                    marks[index] = Mark::Walking;
                    chain.push(index);
                    at = kept[index].parent;
                }
            }
        }
        for &index in chain.iter().rev() {
            marks[index] = Mark::Placed;
            order.push(index);
        }
    }
    order
}

/// A message as chatd stores it (its time, if it has none, filled in later), with its
/// own time; `None` for what is not kept.
fn convert_message(
    message: &Map<String, Value>,
    fallback: NaiveDateTime,
) -> Option<(ImportedMessage, Option<NaiveDateTime>)> {
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
    // An assistant message addressed to a tool (`recipient` `python`, `web`, ...) is
    // a call ChatGPT does not show; what it shows is the answer after it.
    let to_tool = message
        .get("recipient")
        .and_then(Value::as_str)
        .is_some_and(|recipient| recipient != "all");
    if hidden || to_tool {
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
    let time = epoch(message.get("create_time"));
    let imported = ImportedMessage {
        role,
        content: text,
        status: MessageStatus::Complete,
        created_at: time.unwrap_or(fallback),
        details: MessageDetails {
            model,
            ..MessageDetails::NONE
        },
        parent: None,
    };
    Some((imported, time))
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
