//! The front door's rules over raw HTTP: one reply per conversation (an OpenAI-shaped
//! 409), refusals naming their field, the setting that switches it off, and the path
//! hashes: changed with the system prompt, filled at start-up for older rows.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Daemon, FakeUpstream, Upstream, daemon_for, read_json, sql};

/// Sends a chat completion; answers the status, the body and the conversation header.
pub async fn complete(chatd: &Daemon, body: Value, headers: &[(&str, &str)]) -> (u16, Value, i64) {
    let mut request = chatd
        .client
        .post(chatd.url("").replace("/api/v1", "/v1/chat/completions"))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let conversation = response
        .headers()
        .get("x-chatd-conversation")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    let (status, body) = read_json(response).await;
    (status, body, conversation)
}

fn asking(messages: Value) -> Value {
    json!({"model": "fake-model", "messages": messages})
}

async fn a_busy_conversation_is_an_openai_409() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: (0..30).map(|i| format!("t{i} ")).collect(),
        delay: Duration::from_millis(30),
        finish_reason: Some("stop"),
        done: true,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let (status, _, id) = complete(
        &chatd,
        asking(json!([{"role": "user", "content": "a"}])),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let named = id.to_string();
    let header = [("X-Chatd-Conversation", named.as_str())];
    let slow = complete(
        &chatd,
        asking(json!([{"role": "user", "content": "b"}])),
        &header,
    );
    let busy = async {
        chatd.wait_for_messages(id, 3).await;
        complete(
            &chatd,
            asking(json!([{"role": "user", "content": "c"}])),
            &header,
        )
        .await
    };
    let ((first, _, _), (status, body, _)) = tokio::join!(slow, busy);
    assert_eq!(first, 200);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conversation_busy");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already")
    );
    let users = sql::count(
        &chatd,
        &format!(
            "SELECT count(*) AS n FROM messages WHERE conversation_id = {id} AND role = 'user'"
        ),
    );
    assert_eq!(users, 2, "the refused request stored nothing");
}

async fn refusals_are_openai_shaped_and_name_the_field() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            400,
            "model",
        ),
        (
            json!({"model": "fake-model", "messages": []}),
            400,
            "messages",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                "max_tokens": -3}),
            400,
            "max_tokens",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                "user": ""}),
            400,
            "user",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user",
                "content": [{"type": "text", "text": {"nested": true}}]}]}),
            400,
            "messages[0].content[0].text",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user",
                "content": [{"text": "no type"}]}]}),
            400,
            "messages[0].content[0].type",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                "metadata": 5}),
            400,
            "metadata",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                "metadata": {"chatd_conversation_id": 12}}),
            400,
            "metadata.chatd_conversation_id",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                "metadata": {"chatd_conversation_id": " 12"}}),
            400,
            "metadata.chatd_conversation_id",
        ),
    ];
    for (body, expected, param) in cases {
        let (status, answer, _) = complete(&chatd, body, &[]).await;
        assert_eq!(status, expected, "{answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error");
    }
    // The Responses API's content parts, as schemathesis once sent them: a part of a
    // type chatd does not store still has a string `text`, or none.
    for (content, param) in [
        (
            json!([{"type": "f", "text": {"nested": true}}]),
            "input[0].content[0].text",
        ),
        (
            json!([{"type": "input_text", "text": 7}]),
            "input[0].content[0].text",
        ),
        (json!([{"text": "no type"}]), "input[0].content[0].type"),
    ] {
        let body = json!({"model": "fake-model", "input": [{"role": "user", "content": content}]});
        let (status, answer) = read_json(
            chatd
                .client
                .post(chatd.url("").replace("/api/v1", "/v1/responses"))
                .json(&body)
                .send()
                .await
                .expect("POST /v1/responses"),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error");
    }
    assert_eq!(
        chatd.row_counts(),
        (0, 0, 0),
        "nothing stored for a refused request"
    );
    let (status, answer) = read_json(
        chatd
            .client
            .delete(chatd.url("").replace("/api/v1", "/v1/models"))
            .send()
            .await
            .expect("DELETE"),
    )
    .await;
    assert_eq!(status, 405, "{answer}");
    assert!(answer["error"]["message"].is_string());
}

async fn the_front_door_can_be_switched_off() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &["--front-door", "off"]).await;
    let (status, body, _) = complete(
        &chatd,
        asking(json!([{"role": "user", "content": "x"}])),
        &[],
    )
    .await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
}

async fn a_changed_system_prompt_changes_the_path() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let first = json!([{"role": "system", "content": "old"}, {"role": "user", "content": "q"}]);
    let (_, _, id) = complete(&chatd, asking(first), &[]).await;
    let resent = |prompt: &str| {
        json!([{"role": "system", "content": prompt}, {"role": "user", "content": "q"},
               {"role": "assistant", "content": "ok"}, {"role": "user", "content": "next"}])
    };
    let (_, _, again) = complete(&chatd, asking(resent("old")), &[]).await;
    assert_eq!(again, id);
    let response = chatd
        .client
        .patch(chatd.url(&format!("/conversations/{id}")))
        .json(&json!({"system_prompt": "new"}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(response.status(), 200);
    let path = json!([{"role": "system", "content": "new"}, {"role": "user", "content": "q"},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": "next"},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": "third"}]);
    let (_, _, with_new) = complete(&chatd, asking(path), &[]).await;
    assert_eq!(with_new, id, "the path under its new prompt");
    let (_, _, with_old) = complete(&chatd, asking(resent("old")), &[]).await;
    assert_ne!(
        with_old, id,
        "the old prompt's path is no longer the conversation's"
    );
}

async fn older_messages_get_their_path_hashes_at_start_up() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let (_, _, id) = complete(
        &chatd,
        asking(json!([{"role": "user", "content": "q"}])),
        &[],
    )
    .await;
    chatd.wait_for_messages(id, 2).await;
    // As a database from before path hashes: none.
    sql::execute(&chatd, "UPDATE messages SET path_hash = NULL");
    let chatd = chatd.restart().await;
    let deadline = tokio::time::Instant::now() + crate::support::WAIT;
    while sql::count(
        &chatd,
        "SELECT count(*) AS n FROM messages WHERE path_hash IS NULL",
    ) > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hashes were not filled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resent = json!([{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok"},
                        {"role": "user", "content": "again"}]);
    let (status, _, again) = complete(&chatd, asking(resent), &[]).await;
    assert_eq!((status, again), (200, id));
}

crate::on_both_backends!(
    a_busy_conversation_is_an_openai_409,
    refusals_are_openai_shaped_and_name_the_field,
    the_front_door_can_be_switched_off,
    a_changed_system_prompt_changes_the_path,
    older_messages_get_their_path_hashes_at_start_up,
);
