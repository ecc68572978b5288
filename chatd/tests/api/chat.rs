//! `POST /chat` on the echo provider: framing, storage, 404/409/422, disconnects,
//! cancel, attaching to a reply in flight, and the opt-in `start`/`end` events.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::{Daemon, read_events, reply_text};

async fn the_reply_streams_as_data_events_byte_for_byte() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let response = chatd.chat(id, "The sky is blue").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let raw = response.text().await.unwrap();
    assert_eq!(
        raw,
        "data: The\n\ndata:  sky\n\ndata:  is\n\ndata:  blue\n\n"
    );
}

async fn both_messages_are_stored_and_the_stream_equals_the_stored_reply() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let texts = [
        "line one\nline two\n\n  indented line",
        "emoji 😀🎉 and 中文：天空是蓝色的。",
        "  leading spaces and trailing  ",
        "windows\r\nline\rbreaks",
        "\nstarts with a line break",
    ];
    for text in texts {
        let events = read_events(chatd.chat(id, text).await).await;
        assert!(
            events
                .iter()
                .all(|e| e.event == "message" && !e.data.is_empty())
        );
        let streamed = reply_text(&events);
        let (_, conversation) = chatd.get(&format!("/conversations/{id}")).await;
        let messages = conversation["messages"].as_array().unwrap();
        let user = &messages[messages.len() - 2];
        let assistant = &messages[messages.len() - 1];
        assert_eq!(user["role"], "user");
        assert_eq!(user["content"], text, "the user message is stored as sent");
        assert_eq!(assistant["role"], "assistant");
        assert_eq!(assistant["content"], streamed.as_str(), "{text:?}");
        // The echo provider answers with the message; line breaks come out as \n.
        assert_eq!(streamed, text.replace("\r\n", "\n").replace('\r', "\n"));
    }
}

async fn the_user_message_is_stored_before_the_reply_ends() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "200"]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat(id, "one two three four five").await;
    assert_eq!(response.status(), 200);
    let (_, conversation) = chatd.get(&format!("/conversations/{id}")).await;
    let messages = conversation["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "only the user message so far: {messages:?}"
    );
    assert_eq!(messages[0]["role"], "user");
    read_events(response).await;
    chatd.wait_for_messages(id, 2).await;
}

async fn chat_on_an_unknown_conversation_is_a_404_and_stores_nothing() {
    let chatd = Daemon::start().await;
    let response = chatd.chat(424242, "hello").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Conversation not found"}));
    let (status, _) = chatd.get("/conversations/424242/messages").await;
    assert_eq!(status, 404);
}

async fn bad_chat_bodies_are_422s_and_store_nothing() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let cases = [
        (json!({"conversation_id": id}), "missing", "message"),
        (json!({"message": "hi"}), "missing", "conversation_id"),
        (
            json!({"conversation_id": id, "message": ""}),
            "value_error",
            "message",
        ),
        (
            json!({"conversation_id": id, "message": " \n\t "}),
            "value_error",
            "message",
        ),
        (
            json!({"conversation_id": id, "message": 5}),
            "string_type",
            "message",
        ),
        (
            json!({"conversation_id": "one", "message": "hi"}),
            "int_parsing",
            "conversation_id",
        ),
        (
            json!({"conversation_id": id, "message": "m".repeat(100_001)}),
            "string_too_long",
            "message",
        ),
    ];
    for (body, kind, field) in cases {
        let (status, answer) = chatd.post("/chat", body.clone()).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["detail"][0]["type"], kind, "{answer}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body", field]));
    }
    assert!(chatd.messages(id).await.is_empty());
    let events = read_events(chatd.chat(id, &"m".repeat(100_000)).await).await;
    assert_eq!(
        reply_text(&events).len(),
        100_000,
        "the limit itself is accepted"
    );
}

async fn a_second_chat_on_a_busy_conversation_is_a_409() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "100"]).await;
    let id = chatd.conversation().await;
    let other = chatd.conversation().await;
    let first = chatd.chat(id, "a b c d e f").await;
    assert_eq!(first.status(), 200);
    let (status, body) = chatd
        .post("/chat", json!({"conversation_id": id, "message": "again"}))
        .await;
    assert_eq!(status, 409);
    assert!(
        body["detail"].as_str().unwrap().contains("already"),
        "{body}"
    );
    // Other conversations are not held up.
    let parallel = chatd.chat(other, "x y").await;
    assert_eq!(parallel.status(), 200);
    assert_eq!(reply_text(&read_events(parallel).await), "x y");
    assert_eq!(reply_text(&read_events(first).await), "a b c d e f");
    // The 409 stored nothing; the conversation is free again right after the end.
    let messages = chatd.messages(id).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let next = chatd.chat(id, "next").await;
    assert_eq!(next.status(), 200);
    read_events(next).await;
}

async fn a_client_that_disconnects_mid_stream_loses_nothing() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "50"]).await;
    let id = chatd.conversation().await;
    let text = "one two three four five six seven eight nine ten";
    let response = chatd.chat(id, text).await;
    let mut stream = response.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap();
    assert!(first.is_some());
    drop(stream);
    let messages = chatd.wait_for_messages(id, 2).await;
    assert_eq!(
        messages[1]["content"], text,
        "the whole reply was generated and stored"
    );
    assert_eq!(messages[1]["status"], "complete");
}

async fn cancel_stops_the_reply_and_stores_what_was_generated() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "100"]).await;
    let id = chatd.conversation().await;
    let words: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
    let response = chatd.chat_with_events(id, &words.join(" ")).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events(response));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, body) = chatd
        .post(&format!("/conversations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"conversation_id": id, "cancelled": true}));

    let events = reader.await.unwrap();
    let end = events.last().unwrap();
    assert_eq!(end.event, "end");
    let end: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(end["status"], "cancelled");
    let streamed = reply_text(&events);
    assert!(
        !streamed.is_empty() && streamed.len() < words.join(" ").len(),
        "{streamed}"
    );

    let messages = chatd.messages(id).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["status"], "cancelled");
    assert_eq!(messages[1]["content"], streamed.as_str());
    assert_eq!(end["message"]["id"], messages[1]["id"]);

    let (status, body) = chatd
        .post(&format!("/conversations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, documented) = chatd.get(&format!("/conversations/{id}")).await;
    assert!(
        documented["messages"][1].get("status").is_none(),
        "documented objects stay as documented"
    );
}

async fn the_events_mode_opens_with_start_and_closes_with_end() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat_with_events(id, "hello there").await).await;
    assert_eq!(events.first().unwrap().event, "start");
    let start: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(start["conversation_id"], id);
    assert_eq!(start["user_message"]["content"], "hello there");
    assert_eq!(start["user_message"]["role"], "user");
    let end: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(events.last().unwrap().event, "end");
    assert_eq!(end["status"], "complete");
    assert_eq!(end["error"], Value::Null);
    assert_eq!(end["message"]["content"], "hello there");
    assert_eq!(end["message"]["status"], "complete");
    assert_eq!(reply_text(&events), "hello there");
}

async fn a_second_client_can_attach_to_a_reply_in_flight() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "50"]).await;
    let id = chatd.conversation().await;
    let text = "alpha beta gamma delta epsilon zeta eta theta";
    let first = chatd.chat(id, text).await;
    let attached = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/reply")))
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let (a, b) = tokio::join!(read_events(first), read_events(attached));
    assert_eq!(reply_text(&a), text);
    assert_eq!(
        reply_text(&b),
        text,
        "a late listener gets the reply from its start"
    );
    let (status, _) = chatd.get(&format!("/conversations/{id}/reply")).await;
    assert_eq!(status, 404, "nothing in flight any more");
}

async fn status_reports_the_provider_and_database() {
    let chatd = Daemon::start().await;
    let (status, body) = chatd.get("/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "chatd");
    assert_eq!(body["provider"], "echo");
    let backend = if chatd.database_shown().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database_backend"], backend);
    assert_eq!(body["database"], chatd.database_shown());
    assert_eq!(body["replies_in_flight"], 0);
    assert_eq!(body["pid"].as_u64(), chatd.pid().map(u64::from));
}

crate::on_both_backends!(
    the_reply_streams_as_data_events_byte_for_byte,
    both_messages_are_stored_and_the_stream_equals_the_stored_reply,
    the_user_message_is_stored_before_the_reply_ends,
    chat_on_an_unknown_conversation_is_a_404_and_stores_nothing,
    bad_chat_bodies_are_422s_and_store_nothing,
    a_second_chat_on_a_busy_conversation_is_a_409,
    a_client_that_disconnects_mid_stream_loses_nothing,
    cancel_stops_the_reply_and_stores_what_was_generated,
    the_events_mode_opens_with_start_and_closes_with_end,
    a_second_client_can_attach_to_a_reply_in_flight,
    status_reports_the_provider_and_database,
);
