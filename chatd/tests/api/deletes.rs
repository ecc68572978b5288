//! Deleting: `DELETE /conversations/{id}`, `DELETE /users/{id}/conversations?before=`
//! and `DELETE /users/{id}`, checked with SQL on the database itself: the rows are
//! gone, nothing is left orphaned, and a reply that was streaming ends without storing
//! anything afterwards.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::{Daemon, end_event, read_events, read_json, sql, unique};

async fn delete(chatd: &Daemon, path: &str) -> reqwest::Response {
    chatd
        .client
        .delete(chatd.url(path))
        .send()
        .await
        .expect("DELETE")
}

async fn delete_json(chatd: &Daemon, path: &str) -> (u16, Value) {
    read_json(delete(chatd, path).await).await
}

/// A 204 with no body.
async fn assert_no_content(response: reqwest::Response) {
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");
}

fn messages_of(chatd: &Daemon, conversation: i64) -> i64 {
    sql::count(
        chatd,
        &format!("SELECT count(*) AS n FROM messages WHERE conversation_id = {conversation}"),
    )
}

fn leases(chatd: &Daemon) -> i64 {
    sql::count(chatd, "SELECT count(*) AS n FROM reply_checkpoints")
}

/// A chat on the conversation whose reply streams slowly; returns the response once
/// its first token is in.
async fn streaming_chat(chatd: &Daemon, conversation: i64) -> reqwest::Response {
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    let response = chatd.chat_with_events(conversation, &words.join(" ")).await;
    assert_eq!(response.status(), 200);
    response
}

async fn a_deleted_conversation_is_gone_with_its_messages() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("del-{}", unique())).await;
    let doomed = chatd.create_conversation(user).await;
    let kept = chatd.create_conversation(user).await;
    for conversation in [doomed, kept] {
        for text in ["one", "two"] {
            read_events(chatd.chat(conversation, text).await).await;
        }
    }
    assert_eq!(messages_of(&chatd, doomed), 4);
    assert_no_content(delete(&chatd, &format!("/conversations/{doomed}")).await).await;
    let (status, body) = chatd.get(&format!("/conversations/{doomed}")).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Conversation not found"}))
    );
    assert_eq!(messages_of(&chatd, doomed), 0);
    assert_eq!(
        messages_of(&chatd, kept),
        4,
        "other conversations are untouched"
    );
    assert_eq!(sql::orphans(&chatd), 0);
    let (status, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], kept);
    let response = chatd.chat(doomed, "still there?").await;
    assert_eq!(response.status(), 404);

    let (status, body) = delete_json(&chatd, &format!("/conversations/{doomed}")).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Conversation not found"}))
    );
    let (status, body) = delete_json(&chatd, "/conversations/abc").await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "int_parsing");
    let response = chatd
        .client
        .put(chatd.url(&format!("/conversations/{kept}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, PATCH, DELETE");
}

async fn deleting_a_conversation_mid_reply_ends_the_stream_and_stores_nothing() {
    let chatd =
        Daemon::start_with(&["--echo-delay-ms", "50", "--checkpoint-interval-ms", "100"]).await;
    let id = chatd.conversation().await;
    let response = streaming_chat(&chatd, id).await;
    let reader = tokio::spawn(read_events(response));
    // The lease row is there while the reply streams.
    let deadline = tokio::time::Instant::now() + crate::support::WAIT;
    while leases(&chatd) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no lease row appeared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_no_content(delete(&chatd, &format!("/conversations/{id}")).await).await;
    let events = reader.await.unwrap();
    let end = end_event(&events);
    assert_eq!(end["status"], "cancelled", "{end}");
    assert_eq!(messages_of(&chatd, id), 0);
    assert_eq!(leases(&chatd), 0, "the lease went with the conversation");
    assert_eq!(sql::orphans(&chatd), 0);
    // Well past a checkpoint interval: nothing of the reply comes back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(messages_of(&chatd, id), 0);
    assert_eq!(leases(&chatd), 0);
    let (status, _) = chatd.get(&format!("/conversations/{id}/reply")).await;
    assert_eq!(status, 404, "no reply is left in flight");
}

async fn a_reply_another_process_generates_stores_nothing_once_deleted() {
    let generating =
        Daemon::start_with(&["--echo-delay-ms", "20", "--checkpoint-interval-ms", "100"]).await;
    let deleting = generating.another_on_same_database(&[]).await;
    let id = generating.conversation().await;
    let words: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    let response = generating.chat_with_events(id, &words.join(" ")).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events(response));
    assert_no_content(delete(&deleting, &format!("/conversations/{id}")).await).await;
    // That process cannot be told: its reply runs to its end, and finds nowhere to go.
    let events = reader.await.unwrap();
    let end = end_event(&events);
    assert_eq!(end["message"], Value::Null, "nothing was stored: {end}");
    assert_eq!(
        end["stored"], true,
        "a conversation that is gone is no storage fault"
    );
    assert_eq!(messages_of(&generating, id), 0);
    assert_eq!(leases(&generating), 0);
    assert_eq!(sql::orphans(&generating), 0);
    let (status, _) = deleting.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 404);
}

async fn prune_deletes_what_was_idle_since_before() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "50"]).await;
    let user = chatd.create_user(&format!("prune-{}", unique())).await;
    let other_user = chatd
        .create_user(&format!("prune-other-{}", unique()))
        .await;
    let idle = chatd.create_conversation(user).await;
    let empty_old = chatd.create_conversation(user).await;
    let old_but_active = chatd.create_conversation(user).await;
    let busy_old = chatd.create_conversation(user).await;
    let fresh = chatd.create_conversation(user).await;
    let someone_elses = chatd.create_conversation(other_user).await;
    for id in [idle, old_but_active] {
        read_events(chatd.chat(id, "hi").await).await;
    }
    let old = "'2020-01-01 00:00:00'";
    for id in [idle, empty_old, old_but_active, busy_old, someone_elses] {
        sql::execute(
            &chatd,
            &format!("UPDATE conversations SET created_at = {old} WHERE id = {id}"),
        );
    }
    sql::execute(
        &chatd,
        &format!("UPDATE messages SET created_at = {old} WHERE conversation_id = {idle}"),
    );
    let busy = streaming_chat(&chatd, busy_old).await;

    let (status, body) = delete_json(
        &chatd,
        &format!("/users/{user}/conversations?before=2021-06-01T00:00:00%2B02:00"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"deleted": 2})));
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    let left: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        left,
        [old_but_active, busy_old, fresh],
        "kept: recent activity, a reply in flight, new"
    );
    assert_eq!(messages_of(&chatd, idle), 0);
    assert_eq!(sql::orphans(&chatd), 0);
    let (_, list) = chatd
        .get(&format!("/users/{other_user}/conversations"))
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "another user's are not touched"
    );
    let (status, body) = chatd
        .post(&format!("/conversations/{busy_old}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    read_events(busy).await;

    let (status, body) = delete_json(
        &chatd,
        &format!("/users/{user}/conversations?before=2021-06-01T00:00:00Z"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"deleted": 0})));
    let (status, body) = delete_json(
        &chatd,
        "/users/999999/conversations?before=2021-06-01T00:00:00Z",
    )
    .await;
    assert_eq!((status, body), (404, json!({"detail": "User not found"})));
    let (status, body) = delete_json(&chatd, &format!("/users/{user}/conversations")).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"],
        json!([{"type": "missing", "loc": ["query", "before"], "msg": "Field required", "input": null}])
    );
    for bad in [
        "yesterday",
        "2021-06-01",
        "2021-06-01T00:00:00",
        "2021-13-01T00:00:00Z",
    ] {
        let (status, body) =
            delete_json(&chatd, &format!("/users/{user}/conversations?before={bad}")).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(
            body["detail"][0]["type"], "datetime_parsing",
            "{bad}: {body}"
        );
        assert_eq!(body["detail"][0]["loc"], json!(["query", "before"]));
        assert_eq!(body["detail"][0]["input"], bad);
    }
    let (status, body) = delete_json(&chatd, "/users/x/conversations").await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"].as_array().unwrap().len(),
        2,
        "path and query at once: {body}"
    );
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "no bad request deleted anything"
    );
}

async fn a_deleted_user_takes_everything_of_theirs() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "50"]).await;
    let name = format!("leaving-{}", unique());
    let user = chatd.create_user(&name).await;
    let staying = chatd.create_user(&format!("staying-{}", unique())).await;
    let theirs = [
        chatd.create_conversation(user).await,
        chatd.create_conversation(user).await,
    ];
    let others = chatd.create_conversation(staying).await;
    for id in [theirs[0], others] {
        read_events(chatd.chat(id, "hello you").await).await;
    }
    let mut streaming = streaming_chat(&chatd, theirs[1]).await.bytes_stream();
    let first = tokio::time::timeout(crate::support::WAIT, streaming.next())
        .await
        .unwrap();
    assert!(first.is_some());
    let before = chatd.row_counts();

    assert_no_content(delete(&chatd, &format!("/users/{user}")).await).await;
    // The stream ends: the reply was stopped.
    let rest = tokio::time::timeout(crate::support::WAIT, async {
        while let Some(chunk) = streaming.next().await {
            chunk.expect("the stream ends cleanly");
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
    let (status, body) = chatd.get(&format!("/users/{name}")).await;
    assert_eq!((status, body), (404, json!({"detail": "User not found"})));
    for id in theirs {
        let (status, _) = chatd.get(&format!("/conversations/{id}")).await;
        assert_eq!(status, 404);
        assert_eq!(messages_of(&chatd, id), 0);
    }
    let after = chatd.row_counts();
    assert_eq!(after.0, before.0 - 1);
    assert_eq!(after.1, before.1 - 2);
    assert_eq!(
        messages_of(&chatd, others),
        2,
        "another user's messages stay"
    );
    assert_eq!(leases(&chatd), 0);
    assert_eq!(sql::orphans(&chatd), 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        chatd.row_counts(),
        after,
        "nothing of the stopped reply was stored"
    );

    let (status, body) = delete_json(&chatd, &format!("/users/{user}")).await;
    assert_eq!((status, body), (404, json!({"detail": "User not found"})));
    let (status, body) = delete_json(&chatd, "/users/someone").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["path", "user_id"]));
    // The name is free again.
    chatd.create_user(&name).await;
}

crate::on_both_backends!(
    a_deleted_conversation_is_gone_with_its_messages,
    deleting_a_conversation_mid_reply_ends_the_stream_and_stores_nothing,
    a_reply_another_process_generates_stores_nothing_once_deleted,
    prune_deletes_what_was_idle_since_before,
    a_deleted_user_takes_everything_of_theirs,
);
