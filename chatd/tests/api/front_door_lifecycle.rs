//! What a chat through `/v1/chat/completions` leaves stored when it goes wrong, each
//! compared with the same on `POST /api/v1/chat`: a provider failure mid-stream, a
//! client that goes away mid-stream, and chatd killed with SIGKILL mid-reply.

use std::time::Duration;

use serde_json::{Value, json};

use crate::front_door::front_door;
use crate::support::{Daemon, FakeUpstream, Upstream, WAIT, daemon_for, read_events};

/// Starts a streamed chat completion; answers the response and its conversation.
async fn start_completion(chatd: &Daemon, text: &str) -> (reqwest::Response, i64) {
    let response = chatd
        .client
        .post(format!("{}/chat/completions", front_door(chatd)))
        .json(&json!({"model": "fake-model", "stream": true,
                      "messages": [{"role": "user", "content": text}]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-chatd-conversation"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (response, id)
}

/// The fields both routes must have stored alike.
fn outcome(messages: &[Value]) -> Vec<(Value, Value, Value)> {
    messages
        .iter()
        .map(|m| (m["role"].clone(), m["content"].clone(), m["status"].clone()))
        .collect()
}

/// A provider failure mid-stream is stored as on `/api/v1/chat`: the partial text,
/// `failed`; the stream ends with an OpenAI error event.
async fn a_provider_failure_is_stored_as_on_chat() {
    let upstream = FakeUpstream::start(Upstream::ErrorAfter {
        tokens: vec!["partial".into(), " answer".into()],
        message: "upstream overloaded".into(),
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let (response, id) = start_completion(&chatd, "go").await;
    let events = read_events(response).await;
    let last: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upstream overloaded"),
        "{last}"
    );
    let by_front_door = chatd.messages(id).await;

    let on_chat = chatd.conversation().await;
    read_events(chatd.chat(on_chat, "go").await).await;
    let by_chat = chatd.messages(on_chat).await;
    for (front, chat) in by_front_door.iter().zip(&by_chat) {
        for field in ["role", "content", "status"] {
            assert_eq!(front[field], chat[field], "{front} vs {chat}");
        }
    }
    assert_eq!(by_front_door.len(), 2);
    assert_eq!(by_front_door[1]["status"], "failed");
}

/// A client that goes away mid-stream loses nothing: the reply is stored whole.
async fn a_client_gone_mid_stream_leaves_the_whole_reply() {
    let tokens: Vec<String> = (0..20).map(|i| format!("t{i} ")).collect();
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: tokens.clone(),
        delay: Duration::from_millis(30),
        finish_reason: Some("stop"),
        done: true,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let (mut response, id) = start_completion(&chatd, "go").await;
    let first = response.chunk().await.expect("a chunk");
    assert!(first.is_some());
    drop(response);
    let messages = chatd.wait_for_messages(id, 2).await;
    assert_eq!(messages[1]["content"], tokens.concat());
    assert_eq!(messages[1]["status"], "complete");

    let on_chat = chatd.conversation().await;
    let mut response = chatd.chat(on_chat, "go").await;
    assert!(response.chunk().await.expect("a chunk").is_some());
    drop(response);
    let by_chat = chatd.wait_for_messages(on_chat, 2).await;
    assert_eq!(outcome(&messages), outcome(&by_chat));
}

/// chatd killed with SIGKILL mid-reply: after the restart, the reply begun through the
/// front door is stored as `interrupted` with the text of its last checkpoint, exactly
/// as the one begun at the same time on `/api/v1/chat`.
async fn a_kill_9_mid_reply_is_stored_as_on_chat() {
    let tokens: Vec<String> = (0..400).map(|i| format!("w{i} ")).collect();
    let whole = tokens.concat();
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens,
        delay: Duration::from_millis(25),
        finish_reason: Some("stop"),
        done: true,
    })
    .await;
    let mut chatd = daemon_for(&upstream, &["--checkpoint-interval-ms", "200"]).await;
    let (front, by_front_door) = start_completion(&chatd, "go").await;
    let on_chat = chatd.conversation().await;
    let chat = chatd.chat(on_chat, "go").await;
    assert_eq!(chat.status(), 200);
    let readers = [front, chat].map(|response| {
        tokio::spawn(async move {
            let mut response = response;
            while let Ok(Ok(Some(_))) = tokio::time::timeout(WAIT, response.chunk()).await {}
        })
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    chatd.kill_hard().await;
    for reader in readers {
        let _ = tokio::time::timeout(WAIT, reader).await;
    }
    let chatd = chatd.restart_stopped().await;
    for id in [by_front_door, on_chat] {
        let messages = chatd.messages(id).await;
        assert_eq!(messages.len(), 2, "conversation {id}: {messages:?}");
        assert_eq!(messages[0]["content"], "go");
        assert_eq!(messages[1]["status"], "interrupted", "conversation {id}");
        let kept = messages[1]["content"].as_str().unwrap();
        assert!(
            !kept.is_empty() && whole.starts_with(kept) && kept.len() < whole.len(),
            "conversation {id} kept {kept:?}"
        );
    }
}

crate::on_both_backends!(
    a_provider_failure_is_stored_as_on_chat,
    a_client_gone_mid_stream_leaves_the_whole_reply,
    a_kill_9_mid_reply_is_stored_as_on_chat,
);
