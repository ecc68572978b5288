//! Tools and non-text content through `/v1/chat/completions`, driven by the official
//! `openai` Python SDK (`chatd/tests/sdk/tools.py`): what the provider is sent (the
//! request's tools and image parts, unchanged), what the client gets back (the
//! provider's tool-call deltas), and what chatd stores (placeholders saying what was
//! there, so the conversation is still found by the history the client resends).

use serde_json::{Value, json};

use crate::front_door::{python, run_script, sdk_dir};
use crate::support::{FakeUpstream, Upstream, daemon_for};

/// A model that calls `get_weather({"city": "Paris"})`, its arguments in three pieces.
fn calling_get_weather() -> Upstream {
    let delta = |calls: Value| {
        json!({"object": "chat.completion.chunk", "model": "fake-model",
               "choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": null}]})
        .to_string()
    };
    Upstream::RawChunks(vec![
        delta(json!([{"index": 0, "id": "call_1", "type": "function",
                      "function": {"name": "get_weather", "arguments": ""}}])),
        delta(json!([{"index": 0, "function": {"arguments": "{\"city\""}}])),
        delta(json!([{"index": 0, "function": {"arguments": ": \"Paris\"}"}}])),
        json!({"object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        .to_string(),
    ])
}

async fn tool_calls_are_relayed_both_ways_and_stored_as_placeholders() {
    let Some(python) = python() else { return };
    let upstream = FakeUpstream::start(calling_get_weather()).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script(&python, &sdk_dir().join("tools.py"), &chatd).await;

    let sent = upstream.bodies();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for body in &sent {
        assert_eq!(
            body["tools"][0]["function"]["name"], "get_weather",
            "{body}"
        );
        assert_eq!(
            body["messages"][0]["content"][1]["image_url"]["url"],
            "data:image/png;base64,iVBORw0KGgo=",
            "the image part went to the provider unchanged: {body}"
        );
    }
    assert_eq!(sent[0]["tool_choice"], "auto");
    let second = &sent[1]["messages"];
    assert_eq!(second[1]["tool_calls"][0]["id"], "call_1", "{second}");
    assert_eq!(second[2]["role"], "tool");
    assert_eq!(second[2]["tool_call_id"], "call_1");

    let messages = chatd.messages(out["conversation"].as_i64().unwrap()).await;
    let stored: Vec<(&str, &str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            (
                "user",
                "What is the weather here?\n[image_url part: not stored by chatd]",
                "complete"
            ),
            ("assistant", "[tool calls: get_weather]", "complete"),
            ("user", "[tool result] 22 C and sunny", "complete"),
            ("assistant", "[tool calls: get_weather]", "complete"),
        ]
    );
    assert_eq!(
        messages[1]["finish_reason"], "tool_calls",
        "{}",
        messages[1]
    );
}

crate::on_both_backends!(tool_calls_are_relayed_both_ways_and_stored_as_placeholders);
