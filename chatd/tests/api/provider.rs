//! The OpenAI-compatible provider against a fake upstream: what is sent, which chunks
//! count, and every failure before and during the stream.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{FakeUpstream, Upstream, chunk, daemon_for, read_events, reply_text};

async fn tokens_are_relayed_and_the_history_is_sent() {
    let upstream =
        FakeUpstream::start(Upstream::tokens(&["Hello", ",", " 世界", "!\n", "😀"])).await;
    let chatd = daemon_for(&upstream, &["--system-prompt", "Be brief."]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat(id, "first question").await).await;
    assert_eq!(reply_text(&events), "Hello, 世界!\n😀");
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(
        data,
        ["Hello", ",", " 世界", "!\n", "😀"],
        "one event per token"
    );

    let events = read_events(chatd.chat(id, "second question").await).await;
    assert_eq!(reply_text(&events), "Hello, 世界!\n😀");
    let bodies = upstream.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["model"], "fake-model");
    assert_eq!(bodies[1]["stream"], true);
    assert_eq!(
        bodies[1]["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "Hello, 世界!\n😀"},
            {"role": "user", "content": "second question"},
        ])
    );
    assert_eq!(
        upstream.auth_headers()[0],
        None,
        "no key configured, no header sent"
    );
    let messages = chatd.messages(id).await;
    assert_eq!(messages[3]["content"], "Hello, 世界!\n😀");
    assert_eq!(messages[3]["status"], "complete");
}

async fn the_history_sent_is_capped() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &["--history-limit", "3"]).await;
    let id = chatd.conversation().await;
    for i in 0..3 {
        read_events(chatd.chat(id, &format!("q{i}")).await).await;
    }
    let last = upstream.bodies().pop().unwrap();
    let contents: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["q1", "ok", "q2"]);
}

async fn chunks_without_content_are_skipped() {
    let raw = vec![
        json!({"choices": []}).to_string(),
        chunk("a"),
        json!({"choices": [{"index": 0, "delta": {"reasoning_content": "thinking..."}}]})
            .to_string(),
        json!({"choices": [{"index": 0, "delta": {"content": ""}}]}).to_string(),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string(),
        json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}).to_string(),
        "null".to_string(),
        json!({"choices": null}).to_string(),
        json!({"choices": [{"index": 0, "delta": {"reasoning": "hidden"}}]}).to_string(),
        chunk(" b"),
    ];
    let upstream = FakeUpstream::start(Upstream::RawChunks(raw)).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat(id, "hi").await).await;
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["a", " b"]);
}

async fn a_stream_that_closes_without_done_is_a_complete_reply() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: vec!["no".into(), " done".into()],
        delay: Duration::ZERO,
        done: false,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat(id, "hi").await).await;
    assert_eq!(reply_text(&events), "no done");
    assert_eq!(chatd.messages(id).await[1]["status"], "complete");
}

async fn the_api_key_is_sent_as_a_bearer_token() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let mut args = vec!["--provider", "openai", "--openai-base-url"];
    args.push(upstream.base_url.as_str());
    // The key reaches chatd only through its environment.
    let chatd =
        crate::support::Daemon::start_with_env(&args, &[("CHATD_OPENAI_API_KEY", "sk-test-123")])
            .await;
    let id = chatd.conversation().await;
    read_events(chatd.chat(id, "hi").await).await;
    assert_eq!(
        upstream.auth_headers()[0].as_deref(),
        Some("Bearer sk-test-123")
    );
    let (_, status) = chatd.get("/status").await;
    assert!(!status.to_string().contains("sk-test"));
}

async fn failure_before_first_token(behaviour: Upstream, expect_in_detail: &str) {
    let upstream = FakeUpstream::start(behaviour).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat(id, "hello?").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(expect_in_detail),
        "{detail:?} should mention {expect_in_detail:?}"
    );
    let messages = chatd.messages(id).await;
    assert_eq!(
        messages.len(),
        1,
        "the user message stays stored, no empty reply: {messages:?}"
    );
    assert_eq!(messages[0]["role"], "user");
    // The conversation is free for the next attempt.
    let (status, _) = chatd
        .post("/chat", json!({"conversation_id": id, "message": "again"}))
        .await;
    assert_eq!(status, 502);
}

async fn a_401_is_a_502_that_names_the_api_key() {
    let body = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}});
    failure_before_first_token(
        Upstream::Status {
            code: 401,
            body,
            retry_after: None,
        },
        "API key",
    )
    .await;
}

async fn a_429_is_a_502_that_names_the_rate_limit_and_retry_after() {
    let body = json!({"error": {"message": "Rate limit reached"}});
    failure_before_first_token(
        Upstream::Status {
            code: 429,
            body,
            retry_after: Some(7),
        },
        "429",
    )
    .await;
    let body = json!({"error": {"message": "Rate limit reached"}});
    failure_before_first_token(
        Upstream::Status {
            code: 429,
            body,
            retry_after: Some(7),
        },
        "retry after 7",
    )
    .await;
}

async fn a_500_is_a_502_with_the_providers_message() {
    let body = json!({"error": {"message": "model exploded"}});
    failure_before_first_token(
        Upstream::Status {
            code: 500,
            body,
            retry_after: None,
        },
        "model exploded",
    )
    .await;
}

async fn a_silent_provider_is_a_502_timeout() {
    failure_before_first_token(Upstream::StallAfter { tokens: vec![] }, "sent nothing").await;
}

async fn a_refused_connection_is_a_502_that_says_so() {
    // Bind a port and close it again: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let chatd =
        crate::support::Daemon::start_with(&["--provider", "openai", "--openai-base-url", &base])
            .await;
    let id = chatd.conversation().await;
    let response = chatd.chat(id, "anyone?").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{body}"
    );
}

async fn a_failure_mid_stream_ends_the_stream_and_stores_the_partial_reply_as_failed() {
    let upstream = FakeUpstream::start(Upstream::ErrorAfter {
        tokens: vec!["partial".into(), " answer".into()],
        message: "upstream overloaded".into(),
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat_with_events(id, "go").await;
    assert_eq!(response.status(), 200);
    let events = read_events(response).await;
    assert_eq!(reply_text(&events), "partial answer");
    let end: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(end["status"], "failed");
    assert!(
        end["error"]
            .as_str()
            .unwrap()
            .contains("upstream overloaded"),
        "{end}"
    );
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["content"], "partial answer");
    assert_eq!(messages[1]["status"], "failed");
}

async fn a_stall_mid_stream_times_out_and_keeps_the_partial_reply() {
    let upstream = FakeUpstream::start(Upstream::StallAfter {
        tokens: vec!["so far".into()],
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    // The default stream just ends; the outcome is in the stored message.
    let events = read_events(chatd.chat(id, "go").await).await;
    assert_eq!(reply_text(&events), "so far");
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["status"], "failed");
    assert_eq!(messages[1]["content"], "so far");
}

async fn a_body_that_is_not_an_event_stream_is_a_502() {
    let html = Upstream::Body {
        content_type: "text/html",
        body: "<html>captive portal</html>".into(),
    };
    failure_before_first_token(html, "instead of an event stream").await;
    let bad_json = Upstream::Body {
        content_type: "application/json",
        body: "{\"unexpected\": true}".into(),
    };
    failure_before_first_token(bad_json, "not a chat completion").await;
}

async fn a_server_that_ignores_stream_true_still_gives_its_reply() {
    let completion = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "whole reply"}}]});
    let upstream = FakeUpstream::start(Upstream::Body {
        content_type: "application/json",
        body: completion.to_string(),
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat(id, "hi").await).await;
    assert_eq!(reply_text(&events), "whole reply");
    assert_eq!(chatd.messages(id).await[1]["status"], "complete");
}

crate::on_both_backends!(
    tokens_are_relayed_and_the_history_is_sent,
    the_history_sent_is_capped,
    chunks_without_content_are_skipped,
    a_stream_that_closes_without_done_is_a_complete_reply,
    the_api_key_is_sent_as_a_bearer_token,
    a_401_is_a_502_that_names_the_api_key,
    a_429_is_a_502_that_names_the_rate_limit_and_retry_after,
    a_500_is_a_502_with_the_providers_message,
    a_silent_provider_is_a_502_timeout,
    a_refused_connection_is_a_502_that_says_so,
    a_failure_mid_stream_ends_the_stream_and_stores_the_partial_reply_as_failed,
    a_stall_mid_stream_times_out_and_keeps_the_partial_reply,
    a_body_that_is_not_an_event_stream_is_a_502,
    a_server_that_ignores_stream_true_still_gives_its_reply,
);
