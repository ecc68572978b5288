//! Tool calls, which chatd relays but does not store: a reply's streamed `tool_calls`
//! deltas merged into whole calls (for a non-streamed chat completion), and the short
//! placeholder stored in their place, `[tool calls: NAME, NAME]`. The same placeholder
//! is made from an assistant message a client resends with its `tool_calls`, so the
//! stored path of a conversation and the history the client resends stay equal and the
//! conversation is found again by its path hash.

use serde_json::{Map, Value};

/// The most tool-call data (bytes of JSON) one reply may carry; past it the reply fails.
pub const MAX_TOOL_CALL_BYTES: usize = 4 << 20;

/// The longest tool name kept in a placeholder.
const NAME_MAX_CHARS: usize = 64;

/// What stands for tool calls in a stored message.
pub fn placeholder(names: &[String]) -> String {
    format!("[tool calls: {}]", names.join(", "))
}

/// A message's text followed by the placeholder of its tool calls, if it has any.
pub fn with_placeholder(text: &str, names: &[String]) -> String {
    match (text.is_empty(), names.is_empty()) {
        (_, true) => text.to_string(),
        (true, false) => placeholder(names),
        (false, false) => format!("{text}\n{}", placeholder(names)),
    }
}

/// A tool's name as a placeholder shows it: `?` for none, bounded, one line.
pub fn shown_name(call: &Value) -> String {
    let name = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX_CHARS)
        .collect();
    if name.is_empty() { "?".into() } else { name }
}

/// A reply's tool calls, merged from their streamed pieces: by `index`, the first
/// `id`, `type` and `function.name` given, and `function.arguments` appended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MergedCalls {
    calls: Vec<(u64, Map<String, Value>)>,
    bytes: usize,
}

impl MergedCalls {
    /// Adds one `tool_calls` delta; `false` once the reply's calls pass
    /// [`MAX_TOOL_CALL_BYTES`].
    pub fn add(&mut self, delta: &Value) -> bool {
        self.bytes += delta.to_string().len();
        let Some(pieces) = delta.as_array() else {
            return self.bytes <= MAX_TOOL_CALL_BYTES;
        };
        for (position, piece) in pieces.iter().enumerate() {
            let index = piece
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let at = match self.calls.iter().position(|(i, _)| *i == index) {
                Some(at) => at,
                None => {
                    let mut call = Map::new();
                    call.insert("index".into(), index.into());
                    self.calls.push((index, call));
                    self.calls.len() - 1
                }
            };
            let call = &mut self.calls[at].1;
            for key in ["id", "type"] {
                if let Some(value) = piece.get(key).filter(|v| !v.is_null()) {
                    call.entry(key).or_insert_with(|| value.clone());
                }
            }
            if let Some(function) = piece.get("function") {
                let merged = call
                    .entry("function")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(merged), Some(function)) =
                    (merged.as_object_mut(), function.as_object())
                {
                    if let Some(name) = function.get("name").filter(|v| v.is_string()) {
                        merged.entry("name").or_insert_with(|| name.clone());
                    }
                    if let Some(more) = function.get("arguments").and_then(Value::as_str) {
                        let arguments = merged
                            .entry("arguments")
                            .or_insert_with(|| Value::String(String::new()));
                        if let Value::String(arguments) = arguments {
                            arguments.push_str(more);
                        }
                    }
                }
            }
        }
        self.bytes <= MAX_TOOL_CALL_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls as a chat completion's `message.tool_calls` (without `index`).
    pub fn whole(&self) -> Vec<Value> {
        let mut calls = self.calls.clone();
        calls.sort_by_key(|(index, _)| *index);
        calls
            .into_iter()
            .map(|(_, mut call)| {
                call.remove("index");
                call.entry("type").or_insert_with(|| "function".into());
                Value::Object(call)
            })
            .collect()
    }

    /// The names of the calls, in order, for the placeholder.
    pub fn names(&self) -> Vec<String> {
        self.whole().iter().map(shown_name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn streamed_pieces_merge_into_whole_calls() {
        let mut merged = MergedCalls::default();
        assert!(
            merged.add(&json!([{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}]))
        );
        assert!(merged.add(&json!([{"index": 0, "function": {"arguments": "{\"city\":"}}])));
        assert!(merged.add(&json!([{"index": 1, "id": "call_2",
            "function": {"name": "get_time", "arguments": "{}"}}])));
        assert!(merged.add(&json!([{"index": 0, "function": {"arguments": "\"Paris\"}"}}])));
        assert_eq!(
            merged.whole(),
            vec![
                json!({"id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}),
                json!({"id": "call_2", "type": "function",
                       "function": {"name": "get_time", "arguments": "{}"}}),
            ]
        );
        assert_eq!(merged.names(), ["get_weather", "get_time"]);
        assert_eq!(
            with_placeholder("", &merged.names()),
            "[tool calls: get_weather, get_time]"
        );
        assert_eq!(with_placeholder("hi", &[]), "hi");
    }

    #[test]
    fn names_are_bounded_and_calls_are_capped() {
        let long = "n".repeat(500);
        assert_eq!(
            shown_name(&json!({"function": {"name": long}})).len(),
            NAME_MAX_CHARS
        );
        assert_eq!(shown_name(&json!({"function": {"name": "\n"}})), "?");
        let mut merged = MergedCalls::default();
        let big = json!([{"index": 0, "function": {"arguments": "x".repeat(1 << 20)}}]);
        let fits = (0..5).map(|_| merged.add(&big)).collect::<Vec<_>>();
        assert_eq!(fits, [true, true, true, false, false]);
    }
}
