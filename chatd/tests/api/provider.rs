//! The OpenAI-compatible provider against a fake upstream: what is sent, which chunks
//! count, and every failure before and during the stream.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    FakeUpstream, Upstream, chunk, daemon_for, end_event, read_events, read_events_at_once,
    reply_text,
};

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

async fn a_stream_that_closes_after_a_finish_reason_without_done_is_complete() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: vec!["no".into(), " done".into()],
        delay: Duration::ZERO,
        finish_reason: Some("stop"),
        done: false,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat_with_events(id, "hi").await).await;
    assert_eq!(reply_text(&events), "no done");
    let end = end_event(&events);
    assert_eq!(end["status"], "complete", "{end}");
    assert_eq!(end["error"], Value::Null, "{end}");
    assert_eq!(chatd.messages(id).await[1]["status"], "complete");
}

async fn a_stream_that_closes_without_done_or_finish_reason_is_a_failed_reply() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: vec!["cut".into(), " off".into()],
        delay: Duration::ZERO,
        finish_reason: None,
        done: false,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat_with_events(id, "hi").await;
    assert_eq!(response.status(), 200);
    let events = read_events(response).await;
    assert_eq!(reply_text(&events), "cut off");
    let end = end_event(&events);
    assert_eq!(end["status"], "failed", "{end}");
    let error = end["error"].as_str().unwrap();
    assert!(
        error.contains("closed the stream before the reply was finished"),
        "{end}"
    );
    assert!(
        error.contains(&upstream.base_url),
        "names the provider: {end}"
    );
    assert_eq!(end["message"]["status"], "failed", "{end}");
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["content"], "cut off");
    assert_eq!(messages[1]["status"], "failed");
}

async fn a_stream_that_closes_before_its_first_token_is_a_502() {
    let closed = Upstream::Stream {
        tokens: vec![],
        delay: Duration::ZERO,
        finish_reason: None,
        done: false,
    };
    failure_before_first_token(closed, "closed the stream before the reply was finished").await;
}

async fn a_reply_cut_at_the_token_limit_is_stored_as_truncated() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: vec!["as far".into(), " as it got".into()],
        delay: Duration::ZERO,
        finish_reason: Some("length"),
        done: true,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat_with_events(id, "write a book").await).await;
    assert_eq!(reply_text(&events), "as far as it got");
    let end = end_event(&events);
    assert_eq!(end["status"], "truncated", "{end}");
    assert_eq!(end["error"], Value::Null, "{end}");
    assert_eq!(end["message"]["status"], "truncated", "{end}");
    assert_eq!(end["message"]["content"], "as far as it got", "{end}");
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["status"], "truncated");
    assert_eq!(messages[1]["content"], "as far as it got");
    // The truncated reply is history like any other, and survives a restart.
    let chatd = chatd.restart().await;
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["status"], "truncated");
}

async fn an_endless_line_fails_the_reply_at_the_event_size_cap() {
    let upstream = FakeUpstream::start(Upstream::EndlessLineAfter {
        tokens: vec!["before".into(), " the flood".into()],
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat_with_events(id, "go").await;
    assert_eq!(response.status(), 200);
    let events = read_events(response).await;
    assert_eq!(reply_text(&events), "before the flood");
    let end = end_event(&events);
    assert_eq!(end["status"], "failed", "{end}");
    assert!(
        end["error"]
            .as_str()
            .unwrap()
            .ends_with("sent an event larger than the 1 MiB limit (max_event_bytes)"),
        "{end}"
    );
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["content"], "before the flood");
    assert_eq!(messages[1]["status"], "failed");

    let endless = Upstream::EndlessLineAfter { tokens: vec![] };
    failure_before_first_token(endless, "larger than the 1 MiB limit (max_event_bytes)").await;
}

/// A token whose event (`data: ` and its chunk) takes exactly `bytes`.
fn token_with_event_size(bytes: usize) -> String {
    let overhead = "data: ".len() + chunk("").len();
    "x".repeat(bytes - overhead)
}

async fn an_event_at_the_default_cap_passes_and_one_byte_more_fails() {
    let at_cap = token_with_event_size(1 << 20);
    let upstream = FakeUpstream::start(Upstream::tokens(&[&at_cap])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events_at_once(chatd.chat(id, "big").await).await;
    assert_eq!(reply_text(&events).len(), at_cap.len());
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["status"], "complete");
    assert!(messages[1]["content"] == at_cap.as_str(), "stored intact");

    let over = token_with_event_size((1 << 20) + 1);
    failure_before_first_token(
        Upstream::tokens(&[&over]),
        "larger than the 1 MiB limit (max_event_bytes)",
    )
    .await;
}

async fn a_10_mb_token_under_a_raised_cap_is_stored_intact() {
    // Varied text, so a lost or repeated piece would show.
    let token: String = (0..10_000_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let upstream = FakeUpstream::start(Upstream::tokens(&[&token])).await;
    let chatd = daemon_for(&upstream, &["--max-event-bytes", "16777216"]).await;
    let id = chatd.conversation().await;
    let events = read_events_at_once(chatd.chat_with_events(id, "a lot").await).await;
    assert!(reply_text(&events) == token, "streamed intact");
    let end = end_event(&events);
    assert_eq!(end["status"], "complete");
    let messages = chatd.messages(id).await;
    assert_eq!(messages[1]["status"], "complete");
    assert!(messages[1]["content"] == token.as_str(), "stored intact");
}

async fn the_idle_timeout_counts_bytes_not_events() {
    // One event arriving in six pieces half a second apart takes longer than the idle
    // timeout (2 s) but is never silent for that long.
    let event = format!("data: {}\n\n", chunk("slow but steady"));
    let step = event.len().div_ceil(6);
    let mut pieces: Vec<String> = event
        .as_bytes()
        .chunks(step)
        .map(|p| String::from_utf8(p.to_vec()).unwrap())
        .collect();
    pieces.push("data: [DONE]\n\n".into());
    let upstream = FakeUpstream::start(Upstream::Raw {
        pieces,
        delay: Duration::from_millis(500),
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat_with_events(id, "take your time").await).await;
    assert_eq!(reply_text(&events), "slow but steady");
    assert_eq!(end_event(&events)["status"], "complete");
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
    failure_before_first_token(
        Upstream::StallAfter { tokens: vec![] },
        "sent no data for 2 s",
    )
    .await;
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
    a_stream_that_closes_after_a_finish_reason_without_done_is_complete,
    a_stream_that_closes_without_done_or_finish_reason_is_a_failed_reply,
    a_stream_that_closes_before_its_first_token_is_a_502,
    a_reply_cut_at_the_token_limit_is_stored_as_truncated,
    an_endless_line_fails_the_reply_at_the_event_size_cap,
    an_event_at_the_default_cap_passes_and_one_byte_more_fails,
    a_10_mb_token_under_a_raised_cap_is_stored_intact,
    the_idle_timeout_counts_bytes_not_events,
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
