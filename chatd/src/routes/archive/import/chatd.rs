//! chatd's own export format read back: one [`ConversationExport`] per conversation.
//! Version 2 is a tree: each message's `parent_id` names the `id` of an earlier message
//! of the same document, and `conversation.active_leaf_id` the end of the active path;
//! a document in which no message has a `parent_id` (version 1, written before
//! branches) is read as one line, as it always was.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime};
use common::MessageStatus;
use common::archive::{CONVERSATION_FORMAT, CONVERSATION_VERSION, ConversationExport};
use serde_json::{Map, Value};

use crate::store::{
    ConversationSettingsRow, ImportedConversation, ImportedMessage, MessageDetails,
};

use super::{clean_text, conversation_name};

/// Whether a conversation object is in chatd's format (of any version).
pub fn is_chatd(object: &Map<String, Value>) -> bool {
    object.get("format").and_then(Value::as_str) == Some(CONVERSATION_FORMAT)
}

/// A chatd export as stored again, or why it cannot be.
pub fn convert(object: Map<String, Value>) -> Result<ImportedConversation, String> {
    let version = object.get("version").and_then(Value::as_u64);
    if version.is_none_or(|v| v == 0 || v > u64::from(CONVERSATION_VERSION)) {
        return Err(format!(
            "version {} of the chatd format is not one this chatd reads (it reads 1 to \
             {CONVERSATION_VERSION})",
            object.get("version").unwrap_or(&Value::Null)
        ));
    }
    let document: ConversationExport =
        serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())?;
    let conversation = document.conversation;
    let params = match &conversation.params {
        Some(params) if !params.is_empty() => {
            Some(serde_json::to_string(params).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let title_source = conversation
        .title_source
        .filter(|source| ["user", "first_line", "model"].contains(&source.as_str()));
    let tree = document.messages.iter().any(|m| m.parent_id.is_some());
    // The document's ids, to the index of their message: parents are named by id.
    let mut indices: HashMap<i64, usize> = HashMap::with_capacity(document.messages.len());
    let mut messages = Vec::with_capacity(document.messages.len());
    for (index, message) in document.messages.into_iter().enumerate() {
        let parent = match message.parent_id {
            Some(parent) if tree => Some(*indices.get(&parent).ok_or_else(|| {
                format!(
                    "messages[{index}].parent_id {parent} is not the id of an earlier message \
                     of the document"
                )
            })?),
            _ => None,
        };
        if tree && indices.insert(message.id, index).is_some() {
            return Err(format!(
                "messages[{index}].id {} is the id of an earlier message too",
                message.id
            ));
        }
        let created_at = time(&message.created_at)
            .ok_or_else(|| format!("messages[{index}].created_at is not an RFC 3339 time"))?;
        let usage = message.usage.unwrap_or_default();
        messages.push(ImportedMessage {
            role: message.role,
            content: clean_text(&message.content),
            status: message.status.unwrap_or(MessageStatus::Complete),
            created_at,
            details: MessageDetails {
                model: message.model.as_deref().map(clean_text),
                finish_reason: message.finish_reason.as_deref().map(clean_text),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                ttft_ms: message.ttft_ms,
                duration_ms: message.duration_ms,
                reasoning: message.reasoning.as_deref().map(clean_text),
            },
            parent,
        });
    }
    let active = match conversation.active_leaf_id {
        Some(leaf) if tree => Some(*indices.get(&leaf).ok_or_else(|| {
            format!("conversation.active_leaf_id {leaf} is not the id of a message of the document")
        })?),
        _ => None,
    };
    let imported = ImportedConversation {
        name: conversation_name(conversation.name.as_deref()),
        created_at: time(&conversation.created_at)
            .ok_or("conversation.created_at is not an RFC 3339 time")?,
        settings: ConversationSettingsRow {
            model: conversation.model.as_deref().map(clean_text),
            system_prompt: conversation.system_prompt.as_deref().map(clean_text),
            params,
            title_source,
        },
        messages,
        active,
    };
    Ok(if tree { imported } else { imported.as_line() })
}

fn time(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.naive_utc())
}
