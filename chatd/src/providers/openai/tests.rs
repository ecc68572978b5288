//! Unit tests of the OpenAI-compatible client: its request body (with what the front
//! door relays), its errors' texts and its refusal of `stream_options`.

use super::*;
use serde_json::json;

#[test]
fn sizes_are_described_in_the_largest_whole_unit() {
    assert_eq!(describe_size(1 << 20), "1 MiB");
    assert_eq!(describe_size(16 << 20), "16 MiB");
    assert_eq!(describe_size(64 << 10), "64 KiB");
    assert_eq!(describe_size(1000), "1000 bytes");
}

#[test]
fn provider_messages_are_short_and_single_line() {
    assert_eq!(
        provider_message(r#"{"error":{"message":"Incorrect API key"}}"#),
        "Incorrect API key"
    );
    let long = "x\n".repeat(400);
    let message = provider_message(&long);
    assert!(message.chars().count() <= ERROR_BODY_LIMIT + 1);
    assert!(!message.contains('\n'));
}

#[test]
fn a_refusal_of_stream_options_is_told_from_other_refusals() {
    let refusal = |status, body: &str| Refusal {
        status,
        retry_after: None,
        body: body.into(),
    };
    let named = refusal(
        400,
        r#"{"error":"Unrecognized request argument: stream_options"}"#,
    );
    assert!(named.may_be_about_usage(true));
    assert!(named.may_be_about_usage(false), "it says so");
    assert!(refusal(422, "extra fields not permitted").may_be_about_usage(true));
    assert!(
        !refusal(400, "bad model").may_be_about_usage(false),
        "once the field was taken, a plain 400 is about something else"
    );
    assert!(
        !refusal(401, "stream_options").may_be_about_usage(true),
        "a refused key is not about the field"
    );
    assert!(!refusal(429, "").may_be_about_usage(true));
    assert!(!refusal(500, "stream_options").may_be_about_usage(true));
    assert!(!refusal(404, "no such model").may_be_about_usage(true));
}

/// The request body as sent, read back; fails on a name written twice, which a JSON
/// reader would take silently (the last one) and a provider might not.
fn body_json(request: &ReplyRequest, with_usage: bool) -> serde_json::Value {
    let bytes = serde_json::to_vec(&OpenAiProvider::body(request, with_usage)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    for name in body.as_object().unwrap().keys() {
        assert_eq!(
            text.matches(&format!("{name:?}:")).count(),
            1,
            "{name} written once in {text}"
        );
    }
    body
}

#[test]
fn the_body_carries_the_model_the_params_and_the_usage_option() {
    let request = ReplyRequest {
        model: "llama3.2".into(),
        params: common::ChatParams {
            temperature: Some(0.5),
            top_p: None,
            max_tokens: Some(64),
            seed: Some(-3),
        },
        history: vec![super::super::Turn {
            role: "user",
            content: "hi".into(),
        }],
        relayed: None,
    };
    let body = body_json(&request, true);
    assert_eq!(
        body,
        json!({"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
               "stream": true, "stream_options": {"include_usage": true},
               "temperature": 0.5, "max_tokens": 64, "seed": -3})
    );
    let without = body_json(&request, false);
    assert!(without.get("stream_options").is_none());
    assert!(without.get("top_p").is_none());
}

#[test]
fn a_relayed_request_keeps_its_messages_and_fields() {
    let turn = |role, content: &str| super::super::Turn {
        role,
        content: content.into(),
    };
    let mut fields = serde_json::Map::new();
    fields.insert("tools".into(), json!([{"type": "function"}]));
    fields.insert("model".into(), json!("not this one"));
    let image = json!({"role": "user", "content": [{"type": "image_url"}]});
    let mut request = ReplyRequest {
        model: "m".into(),
        params: common::ChatParams::default(),
        history: vec![
            turn("user", "a"),
            turn("assistant", "b"),
            turn("user", "[image]"),
        ],
        relayed: Some(super::super::Relayed {
            messages: vec![image.clone()],
            whole: false,
            fields,
        }),
    };
    let body = body_json(&request, false);
    assert_eq!(body["model"], "m", "chatd's own fields win");
    assert_eq!(body["tools"], json!([{"type": "function"}]));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, image])
    );
    if let Some(relayed) = &mut request.relayed {
        relayed.whole = true;
    }
    assert_eq!(body_json(&request, false)["messages"], json!([image]));
}

#[test]
fn a_relayed_field_gives_way_to_a_param_chatd_sends_and_stays_otherwise() {
    let mut fields = serde_json::Map::new();
    fields.insert("temperature".into(), json!(1.5));
    fields.insert("seed".into(), json!(7));
    fields.insert("stream_options".into(), json!({"include_usage": false}));
    fields.insert("stream".into(), json!(false));
    let mut request = ReplyRequest {
        model: "m".into(),
        params: common::ChatParams {
            temperature: Some(0.2),
            ..common::ChatParams::default()
        },
        history: vec![super::super::Turn {
            role: "user",
            content: "a \"quoted\" line\n".into(),
        }],
        relayed: Some(super::super::Relayed {
            messages: Vec::new(),
            whole: false,
            fields,
        }),
    };
    let body = body_json(&request, true);
    assert_eq!(
        body["temperature"], 0.2,
        "the conversation's own param wins"
    );
    assert_eq!(body["seed"], 7, "a field chatd has no value for is relayed");
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "a \"quoted\" line\n"}])
    );
    let without_usage = body_json(&request, false);
    assert_eq!(
        without_usage["stream_options"],
        json!({"include_usage": false})
    );
    request.params.temperature = None;
    assert_eq!(body_json(&request, false)["temperature"], 1.5);
}

#[test]
fn header_values_and_the_key_are_never_shown() {
    let provider = OpenAiProvider::new(OpenAiSettings {
        base_url: "http://127.0.0.1:9/v1/".into(),
        api_key: Some("sk-secret".into()),
        headers: vec![("X-Api-Token".into(), "hunter2".into())],
        key_source: "KEY".into(),
        connect_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        max_event_bytes: 1 << 20,
    })
    .unwrap();
    let shown = format!("{provider:?}");
    assert!(
        !shown.contains("sk-secret") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("x-api-token"), "{shown}");
    assert_eq!(provider.base_url(), "http://127.0.0.1:9/v1");
    let bad = OpenAiProvider::new(OpenAiSettings {
        base_url: "http://127.0.0.1:9/v1".into(),
        headers: vec![("Bad Name".into(), "x".into())],
        ..OpenAiSettings::default()
    });
    assert!(bad.is_err());
}
