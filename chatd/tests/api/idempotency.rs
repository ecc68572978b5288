//! `Idempotency-Key` on `POST /chat`, `POST /users/` and `POST /conversations/` (issue
//! 15): a repeat with the same key and body is answered as the first was and stores
//! nothing twice, even 50 at once; another body is a 422; keys expire after 24 hours.
//! And `POST /chat?detach=true`, whose 202 a repeat answers the same way.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Daemon, read_events, read_json, reply_text, sql};

on_both_backends!(
    fifty_concurrent_identical_chats_store_one_message,
    fifty_concurrent_identical_creates_make_one_user_and_one_conversation,
    a_key_expires_after_24_hours,
    repeats_sent_to_two_processes_store_once,
);

async fn post_keyed(chatd: &Daemon, path: &str, key: &str, body: &Value) -> reqwest::Response {
    chatd
        .client
        .post(chatd.url(path))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("POST")
}

fn count(chatd: &Daemon, table: &str) -> i64 {
    sql::count(chatd, &format!("SELECT count(*) AS n FROM {table}"))
}

async fn fifty_concurrent_identical_chats_store_one_message() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "20"]).await;
    let id = chatd.conversation().await;
    let message = "only once please, whatever the retries";
    let body = json!({"conversation_id": id, "message": message});
    let requests = (0..50).map(|n| {
        let chatd = &chatd;
        let body = &body;
        async move {
            let path = if n % 2 == 0 {
                "/chat"
            } else {
                "/chat?events=true"
            };
            let response = post_keyed(chatd, path, "retry-1", body).await;
            assert_eq!(response.status(), 200, "request {n}");
            reply_text(&read_events(response).await)
        }
    });
    for text in futures_util::future::join_all(requests).await {
        assert_eq!(text, message, "every repeat reads the one reply whole");
    }
    let messages = chatd.messages(id).await;
    assert_eq!(
        messages.len(),
        2,
        "one user message, one reply: {messages:?}"
    );
    assert_eq!(messages[1]["content"], message);

    // Once stored, a repeat replays it, with the same end.
    let again = post_keyed(&chatd, "/chat?events=true", "retry-1", &body).await;
    let events = read_events(again).await;
    assert_eq!(reply_text(&events), message);
    let end: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(end["message"]["id"], messages[1]["id"]);
    assert_eq!(chatd.messages(id).await.len(), 2);

    // The same key with another body is refused, and stores nothing.
    let other = json!({"conversation_id": id, "message": "something else"});
    let (status, refused) = read_json(post_keyed(&chatd, "/chat", "retry-1", &other).await).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["detail"][0]["loc"],
        json!(["header", "idempotency-key"])
    );
    assert!(
        refused["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("different request body")
    );
    // Field order is not a different body.
    let reordered = json!({"message": message, "conversation_id": id});
    let replay = post_keyed(&chatd, "/chat", "retry-1", &reordered).await;
    assert_eq!(replay.status(), 200);
    let _ = replay.text().await;
    assert_eq!(chatd.messages(id).await.len(), 2);
    assert_eq!(count(&chatd, "idempotency_keys"), 1);

    // Detached: 202 once the message is stored; its repeat answers the same reply.
    let body = json!({"conversation_id": id, "message": "detached one"});
    let (status, first) =
        read_json(post_keyed(&chatd, "/chat?detach=true", "d-1", &body).await).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["conversation_id"], id);
    assert_eq!(first["user_message"]["content"], "detached one");
    assert_eq!(first["reply"]["status"], "in_progress");
    let (status, second) =
        read_json(post_keyed(&chatd, "/chat?detach=true", "d-1", &body).await).await;
    assert_eq!(status, 202);
    assert_eq!(second["user_message"]["id"], first["user_message"]["id"]);
    let cursor = first["reply"]["cursor"].as_str().unwrap();
    let attached = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/reply?after={cursor}")))
        .send()
        .await
        .unwrap();
    assert_eq!(reply_text(&read_events(attached).await), "detached one");
    let (_, ended) = read_json(post_keyed(&chatd, "/chat?detach=true", "d-1", &body).await).await;
    assert_eq!(ended["reply"]["status"], "complete");
    assert_eq!(ended["reply"]["message"]["content"], "detached one");
    assert_eq!(chatd.messages(id).await.len(), 4);
}

async fn fifty_concurrent_identical_creates_make_one_user_and_one_conversation() {
    let chatd = Daemon::start().await;
    let body = json!({"username": "once", "email": "once@example.com"});
    let users = (0..50)
        .map(|_| async { read_json(post_keyed(&chatd, "/users/", "user-key", &body).await).await });
    let answers = futures_util::future::join_all(users).await;
    for (status, user) in &answers {
        assert_eq!(*status, 200, "{user}");
        assert_eq!(user, &answers[0].1, "every repeat gets the first answer");
    }
    assert_eq!(count(&chatd, "users"), 1);
    let user_id = answers[0].1["id"].as_i64().unwrap();

    let body = json!({"user_id": user_id, "name": "one of them"});
    let conversations = (0..50).map(|_| async {
        read_json(post_keyed(&chatd, "/conversations/", "conv-key", &body).await).await
    });
    let answers = futures_util::future::join_all(conversations).await;
    for (status, conversation) in &answers {
        assert_eq!(*status, 200, "{conversation}");
        assert_eq!(conversation, &answers[0].1);
    }
    assert_eq!(count(&chatd, "conversations"), 1);
    // The same key on another route is another key.
    let (status, _) =
        read_json(post_keyed(&chatd, "/conversations/", "user-key", &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(count(&chatd, "conversations"), 2);
}

async fn a_key_expires_after_24_hours() {
    let chatd = Daemon::start().await;
    let body = json!({"username": "expiring"});
    let (status, first) = read_json(post_keyed(&chatd, "/users/", "old", &body).await).await;
    assert_eq!(status, 200, "{first}");
    let aged = sql::execute(
        &chatd,
        "UPDATE idempotency_keys SET created_at = '2000-01-01 00:00:00'",
    );
    assert_eq!(aged, 1);
    // Past 24 hours the key is new again: the request runs (and the name is taken).
    let (status, again) = read_json(post_keyed(&chatd, "/users/", "old", &body).await).await;
    assert_eq!(
        (status, again),
        (400, json!({"detail": "Username already registered"}))
    );
    assert_eq!(
        count(&chatd, "idempotency_keys"),
        0,
        "the expired key is gone"
    );
}

#[tokio::test]
async fn bad_keys_get_a_detail() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let body = json!({"conversation_id": id, "message": "hi"});
    for key in ["", &"k".repeat(256)] {
        let (status, refused) = read_json(post_keyed(&chatd, "/chat", key, &body).await).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(
            refused["detail"][0]["loc"],
            json!(["header", "idempotency-key"])
        );
    }
    assert!(chatd.messages(id).await.is_empty(), "nothing stored");
    let longest = "k".repeat(255);
    let response = post_keyed(&chatd, "/chat", &longest, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(reply_text(&read_events(response).await), "hi");
    let (status, _) =
        read_json(post_keyed(&chatd, "/users/", "x", &json!({"email": "no name"})).await).await;
    assert_eq!(status, 422, "a refused body keeps no key");
    assert_eq!(count(&chatd, "idempotency_keys"), 1);
}

async fn repeats_sent_to_two_processes_store_once() {
    let one = Daemon::start_with(&["--echo-delay-ms", "20"]).await;
    let two = one
        .another_on_same_database(&["--echo-delay-ms", "20"])
        .await;
    let body = json!({"username": "twice"});
    let users = (0..40).map(|n| {
        let chatd = if n % 2 == 0 { &one } else { &two };
        let body = &body;
        async move { read_json(post_keyed(chatd, "/users/", "shared", body).await).await }
    });
    let answers = futures_util::future::join_all(users).await;
    for (status, user) in &answers {
        assert_eq!(*status, 200, "{user}");
        assert_eq!(user, &answers[0].1);
    }
    assert_eq!(count(&one, "users"), 1);

    let id = one.conversation().await;
    let message = "one message from two processes";
    let body = json!({"conversation_id": id, "message": message});
    let chats = (0..20).map(|n| {
        let chatd = if n % 2 == 0 { &one } else { &two };
        let body = &body;
        async move {
            let response = post_keyed(chatd, "/chat", "shared-chat", body).await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    });
    for (status, body) in futures_util::future::join_all(chats).await {
        // The process that does not run the reply cannot attach to it yet: it says so
        // (409) rather than storing the message again.
        assert!(status == 200 || status == 409, "{status}: {body}");
    }
    let messages = one.wait_for_messages(id, 2).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1]["content"], message);
}
