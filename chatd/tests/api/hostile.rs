//! Bad input and hard neighbours: every bad request gets a clear 4xx and leaves the
//! database as it was; many concurrent chats lose nothing; a client that never reads
//! does not stall a reply; the reply cap answers 503; a chatd killed mid-reply keeps
//! what it had generated up to its last checkpoint.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ChatJob, Daemon, WAIT, read_events, reply_text, run_chats, stored_chats};

async fn bad_requests_get_4xx_and_leave_the_database_unchanged() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("owner").await;
    let conversation = chatd.create_conversation(user).await;
    read_events(chatd.chat(conversation, "seed").await).await;
    let before = chatd.row_counts();
    assert_eq!(before, (1, 1, 2));

    let posts: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "/users/",
            Some("application/json"),
            b"{\"username\": \"owner\"}".to_vec(),
        ),
        (
            "/users/",
            Some("application/json"),
            b"{\"username\": \"a/b\"}".to_vec(),
        ),
        (
            "/users/",
            Some("application/json"),
            format!("{{\"username\": \"{}\"}}", "x".repeat(10_000)).into_bytes(),
        ),
        (
            "/users/",
            Some("application/json"),
            b"{\"username\": \"\\u0000\"}".to_vec(),
        ),
        (
            "/users/",
            Some("application/json"),
            b"{\"username\": \"ok\", \"email\": {\"$ne\": 1}}".to_vec(),
        ),
        (
            "/users/",
            Some("application/json"),
            b"{\"username\": \"tr".to_vec(),
        ),
        (
            "/users/",
            Some("application/json"),
            b"\xff\xfe\xfd".to_vec(),
        ),
        (
            "/users/",
            Some("text/plain"),
            b"{\"username\": \"plain\"}".to_vec(),
        ),
        (
            "/conversations/",
            Some("application/json"),
            b"{\"user_id\": -1}".to_vec(),
        ),
        (
            "/conversations/",
            Some("application/json"),
            b"{\"user_id\": 1e400}".to_vec(),
        ),
        (
            "/conversations/",
            Some("application/json"),
            b"{\"user_id\": \"1; DROP TABLE users\"}".to_vec(),
        ),
        (
            "/conversations/",
            Some("application/json"),
            b"{\"user_id\": 18446744073709551616}".to_vec(),
        ),
        (
            "/conversations/",
            Some("application/json"),
            b"{\"user_id\": null}".to_vec(),
        ),
        (
            "/chat",
            Some("application/json"),
            b"{\"conversation_id\": 999999, \"message\": \"x\"}".to_vec(),
        ),
        (
            "/chat",
            Some("application/json"),
            b"{\"conversation_id\": -5, \"message\": \"x\"}".to_vec(),
        ),
        (
            "/chat",
            Some("application/json"),
            format!("{{\"conversation_id\": {conversation}, \"message\": \"\"}}").into_bytes(),
        ),
        (
            "/chat",
            Some("application/json"),
            format!("{{\"conversation_id\": {conversation}, \"message\": [\"x\"]}}").into_bytes(),
        ),
        (
            "/chat",
            Some("application/json"),
            format!("{{\"conversation_id\": {conversation}}}").into_bytes(),
        ),
        (
            "/chat",
            None,
            format!("{{\"conversation_id\": {conversation}, \"message\": \"x\"}}").into_bytes(),
        ),
        ("/chat", Some("application/json"), b"null".to_vec()),
        ("/chat", Some("application/json"), b"\"string\"".to_vec()),
        (
            "/chat",
            Some("application/json"),
            vec![b' '; 2 * 1024 * 1024],
        ),
    ];
    for (path, content_type, body) in posts {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, answer) = chatd.post_raw(path, content_type, body).await;
        assert!(
            (400..500).contains(&status),
            "{path} {shown}: {status} {answer}"
        );
        assert!(answer.get("detail").is_some(), "{path} {shown}: {answer}");
        assert_eq!(
            chatd.row_counts(),
            before,
            "{path} {shown} changed the database"
        );
    }

    let gets = [
        "/users/%FF%FE",
        "/users/%00",
        "/users/a%2Fb",
        "/users/%E5%BC%A0%E4%B8%89%25%25",
        "/users/' OR 1=1 --",
        "/users/1/conversations?skip=99999999999999999999",
        "/users/1/conversations?limit=99999999999999999999",
        "/users/-1/conversations",
        "/users/%F0%9F%98%80/conversations",
        "/conversations/0",
        "/conversations/1%00",
        "/conversations/%2e%2e",
        "/conversations/1/../../users/owner/x",
    ];
    for path in gets {
        let response = chatd.client.get(chatd.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status < 500, "{path}: {status} {text}");
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        assert!(
            body.is_array() || body.get("detail").is_some() || body.get("username").is_some(),
            "{path}: {body}"
        );
    }
    assert_eq!(chatd.row_counts(), before);
}

async fn text_fields_keep_any_unicode_and_sql_exactly_and_refuse_nul() {
    let chatd = Daemon::start().await;
    let (status, user) = chatd
        .post(
            "/users/",
            json!({"username": "Robert'); DROP TABLE users;--", "email": "zoë@例え.jp"}),
        )
        .await;
    assert_eq!(status, 200);
    let id = user["id"].as_i64().unwrap();
    // NUL is refused in every text field (PostgreSQL cannot store it), on both backends.
    for body in [
        json!({"user_id": id, "name": "a\u{0}b"}),
        json!({"user_id": id, "name": "\u{0}"}),
    ] {
        let (status, answer) = chatd.post("/conversations/", body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body", "name"]));
    }
    let name = "名前 with RTL \u{202e}txet, \u{7f} DEL and 😀";
    let (status, conversation) = chatd
        .post("/conversations/", json!({"user_id": id, "name": name}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(conversation["name"], name);
    let conversation_id = conversation["id"].as_i64().unwrap();
    let (status, answer) = chatd
        .post(
            "/chat",
            json!({"conversation_id": conversation_id, "message": "nul \u{0}"}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let message = "SELECT * FROM messages; -- \t tab, \u{7f} DEL, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";
    let events = read_events(chatd.chat(conversation_id, message).await).await;
    assert_eq!(reply_text(&events), message);
    let (_, stored) = chatd
        .get(&format!("/conversations/{conversation_id}"))
        .await;
    assert_eq!(stored["name"], name);
    assert_eq!(stored["messages"][0]["content"], message);
    assert_eq!(stored["messages"][1]["content"], message);
    let (_, user_again) = chatd
        .get("/users/Robert%27%29%3B%20DROP%20TABLE%20users%3B--")
        .await;
    assert_eq!(user_again, user);
}

async fn hundreds_of_concurrent_chats_store_every_message_exactly_once() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "5"]).await;
    let user = chatd.create_user("load").await;
    let mut conversations = Vec::new();
    for _ in 0..60 {
        conversations.push(chatd.create_conversation(user).await);
    }
    let shared: Vec<i64> = conversations[..3].to_vec();
    let jobs = (0..300usize)
        .map(|i| {
            // Most chats go to their own conversation in rounds; every fifth one to a
            // shared conversation that is probably busy.
            let conversation = if i % 5 == 0 {
                shared[i % 3]
            } else {
                conversations[3 + i % 57]
            };
            ChatJob {
                client: chatd.client.clone(),
                url: chatd.url("/chat"),
                conversation,
                message: format!("message {i} in {conversation} with some words"),
            }
        })
        .collect();
    let (mut accepted, conflicts) = run_chats(jobs).await;
    assert!(!accepted.is_empty());
    assert_eq!(accepted.len() + conflicts, 300);
    accepted.sort();
    assert_eq!(
        stored_chats(&chatd, &conversations).await,
        accepted,
        "exactly the accepted chats were stored, once each"
    );
    let (_, status) = chatd.get("/status").await;
    assert_eq!(status["replies_in_flight"], 0, "no reply task is stuck");
}

async fn a_client_that_never_reads_does_not_hold_the_reply_back() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let message = "word ".repeat(19_999) + "end";
    let response = chatd.chat(id, &message).await;
    assert_eq!(response.status(), 200);
    // Hold the response open without reading a byte of it.
    let messages = chatd.wait_for_messages(id, 2).await;
    assert_eq!(messages[1]["content"], message.as_str());
    assert_eq!(messages[1]["status"], "complete");
    drop(response);
}

async fn past_the_reply_cap_a_chat_is_a_503() {
    let chatd = Daemon::start_with(&["--max-replies", "1", "--echo-delay-ms", "100"]).await;
    let first = chatd.conversation().await;
    let second = chatd.conversation().await;
    let running = chatd.chat(first, "a b c d e").await;
    assert_eq!(running.status(), 200);
    let (status, body) = chatd
        .post("/chat", json!({"conversation_id": second, "message": "hi"}))
        .await;
    assert_eq!(status, 503);
    assert!(
        body["detail"].as_str().unwrap().contains("limit is 1"),
        "{body}"
    );
    assert!(
        chatd.messages(second).await.is_empty(),
        "a refused chat stores nothing"
    );
    read_events(running).await;
    let later = chatd.chat(second, "hi").await;
    assert_eq!(later.status(), 200);
    read_events(later).await;
}

async fn a_chatd_killed_mid_reply_keeps_the_reply_up_to_its_last_checkpoint() {
    let mut chatd =
        Daemon::start_with(&["--echo-delay-ms", "50", "--checkpoint-interval-ms", "200"]).await;
    let id = chatd.conversation().await;
    let words: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
    let text = words.join(" ");
    let response = chatd.chat(id, &text).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events_until_error(response));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    chatd.kill_hard().await;
    let streamed = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();

    if let Some(check) = chatd.integrity_check() {
        assert_eq!(check, "ok");
    }
    let chatd = chatd.restart_stopped().await;
    let messages = chatd.messages(id).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(
        messages[0]["content"],
        text.as_str(),
        "the user message is there"
    );
    let kept = messages[1]["content"].as_str().unwrap();
    assert_eq!(messages[1]["status"], "interrupted");
    assert!(!kept.is_empty(), "a checkpoint was written");
    assert!(text.starts_with(kept), "{kept}");
    assert!(
        streamed.starts_with(kept),
        "what was kept had been streamed"
    );
    // With a checkpoint every 200 ms and a token every 50 ms, at most about a second of
    // tokens (20) can be missing from what the client saw.
    let missing = streamed.len() - kept.len();
    assert!(missing <= 20 * "w999 ".len(), "lost {missing} bytes");
    let after = chatd.chat(id, "after").await;
    assert_eq!(after.status(), 200, "the conversation is usable again");
    assert_eq!(reply_text(&read_events(after).await), "after");
}

/// Reads a stream until it ends or breaks (the daemon died), returning the text so far.
/// More replies in flight than one checkpoint transaction carries (they are written in
/// chunks, so new chats never wait behind thousands of UPDATEs): every one of them must
/// still be checkpointed and recovered after a `kill -9`.
async fn every_reply_in_flight_is_checkpointed_however_many_there_are() {
    const REPLIES: usize = 300;
    let mut chatd =
        Daemon::start_with(&["--echo-delay-ms", "100", "--checkpoint-interval-ms", "200"]).await;
    let user = chatd
        .create_user(&format!("many{}", crate::support::unique()))
        .await;
    let mut conversations = Vec::new();
    for _ in 0..REPLIES {
        conversations.push(chatd.create_conversation(user).await);
    }
    // 100 s per reply: none can end before the kill.
    let text: String = (0..1000).map(|i| format!("w{i} ")).collect();
    let started = futures_util::future::join_all(
        conversations
            .iter()
            .map(|&id| chatd.chat(id, text.trim_end())),
    )
    .await;
    let mut readers = Vec::new();
    for response in started {
        assert_eq!(response.status(), 200);
        readers.push(tokio::spawn(read_events_until_error(response)));
    }
    // Several checkpoint rounds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    chatd.kill_hard().await;
    for reader in readers {
        let _ = tokio::time::timeout(WAIT, reader).await;
    }
    let chatd = chatd.restart_stopped().await;
    for &id in &conversations {
        let messages = chatd.messages(id).await;
        assert_eq!(messages.len(), 2, "conversation {id}: {messages:?}");
        assert_eq!(messages[1]["status"], "interrupted", "conversation {id}");
        let kept = messages[1]["content"].as_str().unwrap();
        assert!(
            !kept.is_empty() && text.starts_with(kept),
            "conversation {id} kept {kept:?}"
        );
    }
}

async fn read_events_until_error(response: reqwest::Response) -> String {
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream().eventsource();
    let mut text = String::new();
    while let Ok(Some(Ok(event))) = tokio::time::timeout(WAIT, stream.next()).await {
        text.push_str(&event.data);
    }
    text
}

async fn idle_and_slow_connections_are_closed_but_streams_are_not() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let chatd = Daemon::start_with(&[
        "--idle-connection-timeout-secs",
        "1",
        "--echo-delay-ms",
        "300",
    ])
    .await;
    let address = chatd
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_string();

    // A connection that never sends anything.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed by chatd: {read:?}"
    );

    // A connection that sends half a request head and stalls (slowloris).
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "closed by chatd in time");

    // A reply that streams for longer than the idle timeout is not cut.
    let id = chatd.conversation().await;
    let text = "one two three four five six seven eight";
    let events = read_events(chatd.chat(id, text).await).await;
    assert_eq!(reply_text(&events), text);
}

crate::on_both_backends!(
    every_reply_in_flight_is_checkpointed_however_many_there_are,
    bad_requests_get_4xx_and_leave_the_database_unchanged,
    text_fields_keep_any_unicode_and_sql_exactly_and_refuse_nul,
    hundreds_of_concurrent_chats_store_every_message_exactly_once,
    a_client_that_never_reads_does_not_hold_the_reply_back,
    past_the_reply_cap_a_chat_is_a_503,
    a_chatd_killed_mid_reply_keeps_the_reply_up_to_its_last_checkpoint,
    idle_and_slow_connections_are_closed_but_streams_are_not,
);
