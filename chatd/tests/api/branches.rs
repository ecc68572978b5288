//! Branches (issue 18, docs/API.md §3.19): an edit (`edit_of`) and a regenerate add a
//! sibling and make it active, the documented read shows only the active path, a
//! switch (`PATCH active_leaf_id`) brings the old path back and is what the provider is
//! sent next, the one-reply rule holds for regenerates (one of many concurrent wins),
//! the tree route lists siblings, a delete leaves nothing, a regenerated reply's cursor
//! resumes that reply, an existing database migrates to one line per conversation, and
//! the front door finds a conversation by its active path (path hashes chain over
//! parents).

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{
    Daemon, FakeUpstream, Upstream, WAIT, daemon_for, is_title_request, read_events, read_json,
    reply_text, sql,
};

on_both_backends!(
    an_edit_branches_and_a_switch_brings_the_old_path_back,
    a_regenerate_adds_a_sibling_reply_that_its_cursor_resumes,
    the_provider_is_sent_the_active_path,
    concurrent_regenerates_one_wins_and_a_streaming_reply_refuses_branching,
    bad_branch_requests_are_422s,
    deleting_a_conversation_removes_its_tree,
    an_existing_database_migrates_to_one_line,
    the_front_door_continues_the_active_path,
);

async fn chat_to_end(chatd: &Daemon, conversation: i64, body: Value) -> String {
    let mut body = body;
    body["conversation_id"] = json!(conversation);
    let response = chatd
        .client
        .post(chatd.url("/chat"))
        .json(&body)
        .send()
        .await
        .expect("POST /chat");
    assert_eq!(response.status(), 200, "{body}");
    reply_text(&read_events(response).await)
}

/// The ids of the documented `GET /conversations/{id}`, in order.
async fn documented_ids(chatd: &Daemon, conversation: i64) -> Vec<i64> {
    let (status, body) = chatd.get(&format!("/conversations/{conversation}")).await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            assert!(m.get("parent_id").is_none(), "no extension field: {m}");
            m["id"].as_i64().expect("id")
        })
        .collect()
}

async fn tree(chatd: &Daemon, conversation: i64) -> Value {
    let (status, body) = chatd
        .get(&format!("/conversations/{conversation}/tree"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn node(tree: &Value, id: i64) -> Value {
    tree["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("message {id} in the tree {tree}"))
}

async fn regenerate(
    chatd: &Daemon,
    conversation: i64,
    query: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = chatd
        .client
        .post(chatd.url(&format!("/conversations/{conversation}/regenerate{query}")));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("POST regenerate")
}

async fn an_edit_branches_and_a_switch_brings_the_old_path_back() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    chat_to_end(&chatd, id, json!({"message": "one"})).await;
    chat_to_end(&chatd, id, json!({"message": "two"})).await;
    let old = documented_ids(&chatd, id).await;
    let [u1, a1, u2, a2] = old[..] else {
        panic!("four messages: {old:?}")
    };
    let reply = chat_to_end(&chatd, id, json!({"message": "two, edited", "edit_of": u2})).await;
    assert!(!reply.is_empty());
    let new = documented_ids(&chatd, id).await;
    assert_eq!(new.len(), 4, "{new:?}");
    assert_eq!(new[..2], [u1, a1]);
    let (u3, a3) = (new[2], new[3]);
    assert!(u3 > a2);
    let (_, messages) = chatd.get(&format!("/conversations/{id}/messages")).await;
    assert_eq!(messages[2]["content"], "two, edited");
    assert_eq!(messages[2]["parent_id"], a1, "{messages}");
    assert_eq!(messages[3]["parent_id"], u3);
    assert!(messages[0].get("parent_id").is_none(), "a root has none");

    let shown = tree(&chatd, id).await;
    assert_eq!(shown["active_leaf_id"], a3);
    assert_eq!(shown["complete"], true);
    assert_eq!(shown["messages"].as_array().map(Vec::len), Some(6));
    assert_eq!(node(&shown, u2)["siblings"], json!([u2, u3]));
    assert_eq!(node(&shown, u3)["siblings"], json!([u2, u3]));
    assert_eq!(node(&shown, a2)["siblings"], json!([a2]));
    assert_eq!(node(&shown, u2)["active"], false);
    assert_eq!(node(&shown, a3)["active"], true);
    assert_eq!(node(&shown, u1)["parent_id"], Value::Null);

    // Naming the old user message (not a leaf) switches to the newest leaf below it.
    let (status, settings) = chatd
        .patch(
            &format!("/conversations/{id}"),
            json!({"active_leaf_id": u2}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["active_leaf_id"], a2);
    assert_eq!(documented_ids(&chatd, id).await, old);
    // The first reply, shared by both branches, stands for the newest leaf below it.
    let (status, settings) = chatd
        .patch(
            &format!("/conversations/{id}"),
            json!({"active_leaf_id": a1, "name": "both"}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["active_leaf_id"], a3);
    assert_eq!(settings["name"], "both");
    assert_eq!(documented_ids(&chatd, id).await, new);
}

async fn a_regenerate_adds_a_sibling_reply_that_its_cursor_resumes() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    chat_to_end(&chatd, id, json!({"message": "say something"})).await;
    let first = documented_ids(&chatd, id).await;
    let [u1, a1] = first[..] else {
        panic!("{first:?}")
    };

    let response = regenerate(&chatd, id, "?events=true", None).await;
    assert_eq!(response.status(), 200);
    let mut ids = Vec::new();
    let mut stream = response.bytes_stream().eventsource();
    let mut text = String::new();
    let mut end = Value::Null;
    while let Some(event) = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("in time")
    {
        let event = event.expect("an event");
        ids.push(event.id.clone());
        match event.event.as_str() {
            "message" => text.push_str(&event.data),
            "end" => end = serde_json::from_str(&event.data).expect("JSON"),
            _ => {}
        }
    }
    assert_eq!(
        ids.first().map(String::as_str),
        Some(format!("{u1}.1:0").as_str())
    );
    assert_eq!(
        ids.last().map(String::as_str),
        Some(format!("{u1}.1:end").as_str())
    );
    let a2 = end["message"]["id"].as_i64().expect("the stored reply");
    assert_eq!(end["message"]["parent_id"], u1);
    assert_eq!(end["message"]["content"], text.as_str());
    assert_eq!(documented_ids(&chatd, id).await, [u1, a2]);
    assert_eq!(
        node(&tree(&chatd, id).await, a2)["siblings"],
        json!([a1, a2])
    );

    // Naming the first reply regenerates it again: a third sibling, named `.2`.
    let response = regenerate(&chatd, id, "?detach=true", Some(json!({"message_id": a1}))).await;
    let (status, detached) = read_json(response).await;
    assert_eq!(status, 202, "{detached}");
    assert_eq!(detached["reply"]["cursor"], format!("{u1}.2:0"));
    let messages = chatd.wait_for_messages(id, 2).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let a3 = loop {
        let shown = tree(&chatd, id).await;
        if shown["messages"].as_array().map(Vec::len) == Some(4) {
            break shown["active_leaf_id"].as_i64().expect("a leaf");
        }
        assert!(tokio::time::Instant::now() < deadline, "{shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(messages[0]["id"], u1);
    assert_eq!(documented_ids(&chatd, id).await, [u1, a3]);

    // Each cursor resumes its own reply, from the stored message: the first reply's
    // bare cursor still names the first.
    for (cursor, reply) in [
        (format!("{u1}:0"), a1),
        (format!("{u1}.1:0"), a2),
        (format!("{u1}.2:0"), a3),
    ] {
        let response = chatd
            .client
            .get(chatd.url(&format!("/conversations/{id}/reply?events=true")))
            .header("last-event-id", &cursor)
            .send()
            .await
            .expect("attach");
        assert_eq!(response.status(), 200, "{cursor}");
        let events = read_events(response).await;
        let end: Value = serde_json::from_str(&events.last().expect("end").data).expect("JSON");
        assert_eq!(end["message"]["id"], reply, "{cursor}");
    }
    let response = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/reply?after={u1}.3:0")))
        .send()
        .await
        .expect("attach");
    assert_eq!(response.status(), 400, "a reply that does not exist");
}

async fn the_provider_is_sent_the_active_path() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    chat_to_end(&chatd, id, json!({"message": "alpha"})).await;
    chat_to_end(&chatd, id, json!({"message": "beta"})).await;
    let ids = documented_ids(&chatd, id).await;
    let sent = |upstream: &FakeUpstream| -> Vec<String> {
        let bodies: Vec<Value> = upstream
            .bodies()
            .into_iter()
            .filter(|b| !is_title_request(b))
            .collect();
        bodies.last().expect("a request")["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    chat_to_end(&chatd, id, json!({"message": "gamma", "edit_of": ids[2]})).await;
    assert_eq!(sent(&upstream), ["alpha", "ok", "gamma"]);
    let (status, _) = chatd
        .patch(
            &format!("/conversations/{id}"),
            json!({"active_leaf_id": ids[3]}),
        )
        .await;
    assert_eq!(status, 200);
    chat_to_end(&chatd, id, json!({"message": "delta"})).await;
    assert_eq!(sent(&upstream), ["alpha", "ok", "beta", "ok", "delta"]);
    let response = regenerate(&chatd, id, "", None).await;
    assert_eq!(response.status(), 200);
    read_events(response).await;
    assert_eq!(
        sent(&upstream),
        ["alpha", "ok", "beta", "ok", "delta"],
        "a regenerate resends the path to its question"
    );
}

async fn concurrent_regenerates_one_wins_and_a_streaming_reply_refuses_branching() {
    let tokens: Vec<String> = (0..30).map(|n| format!("t{n} ")).collect();
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens,
        delay: Duration::from_millis(40),
        finish_reason: Some("stop"),
        done: true,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    chat_to_end(&chatd, id, json!({"message": "question"})).await;
    let before = documented_ids(&chatd, id).await;

    let attempts = 24;
    let requests = (0..attempts).map(|_| regenerate(&chatd, id, "?detach=true", None));
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        attempts - 1,
        "{statuses:?}"
    );

    // While it streams: another regenerate, an edit and a switch are refused.
    let response = regenerate(&chatd, id, "", None).await;
    assert_eq!(response.status(), 409);
    let (status, body) = read_json(
        chatd
            .client
            .post(chatd.url("/chat"))
            .json(&json!({"conversation_id": id, "message": "again", "edit_of": before[0]}))
            .send()
            .await
            .expect("POST /chat"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = chatd
        .patch(
            &format!("/conversations/{id}"),
            json!({"active_leaf_id": before[1]}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].is_string());

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let shown = tree(&chatd, id).await;
        let count = shown["messages"].as_array().map_or(0, Vec::len);
        if count == 3 && shown["active_leaf_id"] != before[0] {
            break;
        }
        assert!(count <= 3, "one new message only: {shown}");
        assert!(tokio::time::Instant::now() < deadline, "{shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = sql::count(
        &chatd,
        &format!("SELECT count(*) AS n FROM messages WHERE conversation_id = {id}"),
    );
    assert_eq!(stored, 3);
}

async fn bad_branch_requests_are_422s() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let other = chatd.conversation().await;
    let (status, body) = read_json(regenerate(&chatd, id, "", None).await).await;
    assert_eq!(status, 422, "an empty conversation: {body}");
    chat_to_end(&chatd, id, json!({"message": "mine"})).await;
    chat_to_end(&chatd, other, json!({"message": "theirs"})).await;
    let mine = documented_ids(&chatd, id).await;
    let theirs = documented_ids(&chatd, other).await;
    // A name of the user's, which a title made meanwhile cannot replace.
    let (status, _) = chatd
        .patch(&format!("/conversations/{id}"), json!({"name": "kept"}))
        .await;
    assert_eq!(status, 200);
    let chatd = &chatd;
    let post_chat = |body: Value| async move {
        read_json(
            chatd
                .client
                .post(chatd.url("/chat"))
                .json(&body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    };
    for (edit_of, why) in [
        (json!(mine[1]), "assistant"),
        (json!(theirs[0]), "another conversation's"),
        (json!(999_999_999), "unknown"),
        (json!("x"), "not an id"),
    ] {
        let (status, body) =
            post_chat(json!({"conversation_id": id, "message": "m", "edit_of": edit_of})).await;
        assert_eq!(status, 422, "{why}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "edit_of"]),
            "{body}"
        );
    }
    for (message_id, why) in [
        (json!(mine[0]), "an answered user message"),
        (json!(theirs[1]), "another conversation's"),
        (json!(0), "unknown"),
    ] {
        let (status, body) =
            read_json(regenerate(chatd, id, "", Some(json!({"message_id": message_id}))).await)
                .await;
        assert_eq!(status, 422, "{why}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "message_id"]),
            "{body}"
        );
    }
    let (status, _) = read_json(regenerate(chatd, id, "", Some(json!({"other": 1}))).await).await;
    assert_eq!(status, 422);
    let (status, _) = read_json(regenerate(chatd, 999_999_999, "", None).await).await;
    assert_eq!(status, 404);
    for (leaf, why) in [
        (json!(theirs[1]), "another conversation's"),
        (json!(999_999_999), "unknown"),
        (Value::Null, "null"),
    ] {
        let (status, body) = chatd
            .patch(
                &format!("/conversations/{id}"),
                json!({"active_leaf_id": leaf, "name": "not set"}),
            )
            .await;
        assert_eq!(status, 422, "{why}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "active_leaf_id"]),
            "{body}"
        );
    }
    let (_, settings) = chatd.get(&format!("/conversations/{id}/settings")).await;
    assert_eq!(settings["name"], "kept", "a refused switch changed nothing");
    assert_eq!(documented_ids(chatd, id).await, mine, "nothing stored");
    let (status, _) = chatd.get("/conversations/999999999/tree").await;
    assert_eq!(status, 404);
}

async fn deleting_a_conversation_removes_its_tree() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    chat_to_end(&chatd, id, json!({"message": "one"})).await;
    let ids = documented_ids(&chatd, id).await;
    chat_to_end(
        &chatd,
        id,
        json!({"message": "one again", "edit_of": ids[0]}),
    )
    .await;
    read_events(regenerate(&chatd, id, "", None).await).await;
    assert_eq!(
        tree(&chatd, id).await["messages"].as_array().map(Vec::len),
        Some(5)
    );
    let response = chatd
        .client
        .delete(chatd.url(&format!("/conversations/{id}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    let left = sql::count(
        &chatd,
        &format!("SELECT count(*) AS n FROM messages WHERE conversation_id = {id}"),
    );
    assert_eq!(left, 0);
    let orphans = sql::count(
        &chatd,
        "SELECT count(*) AS n FROM messages m WHERE m.parent_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.id = m.parent_id)",
    );
    assert_eq!(orphans, 0);
}

async fn an_existing_database_migrates_to_one_line() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    for message in ["first", "second", "third"] {
        chat_to_end(&chatd, id, json!({"message": message})).await;
    }
    let empty = chatd.conversation().await;
    let (_, before) = chatd.get(&format!("/conversations/{id}")).await;
    let undo = if chatd.postgres_url().is_some() {
        include_str!("../../../migrations/postgres/2026-12-02-000060_branches/down.sql")
    } else {
        include_str!("../../../migrations/sqlite/2026-12-02-000060_branches/down.sql")
    };
    let mut chatd = chatd;
    chatd.terminate().await;
    sql::batch(&chatd, undo);
    sql::execute(
        &chatd,
        "DELETE FROM __diesel_schema_migrations WHERE version = '20261202000060'",
    );
    let chatd = chatd.restart_stopped().await;
    let (_, after) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(after, before, "the old line reads back identically");
    let shown = tree(&chatd, id).await;
    let ids: Vec<i64> = before["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(shown["active_leaf_id"], ids[5]);
    for pair in ids.windows(2) {
        assert_eq!(node(&shown, pair[1])["parent_id"], pair[0]);
    }
    assert_eq!(node(&shown, ids[0])["parent_id"], Value::Null);
    assert_eq!(tree(&chatd, empty).await["active_leaf_id"], Value::Null);
    // And it goes on as a tree.
    chat_to_end(
        &chatd,
        id,
        json!({"message": "third, edited", "edit_of": ids[4]}),
    )
    .await;
    let now = documented_ids(&chatd, id).await;
    assert_eq!(now[..4], ids[..4]);
    assert_eq!(now.len(), 6);
}

/// A chat completion through the front door: its status and conversation.
async fn complete(chatd: &Daemon, messages: Value) -> (u16, i64) {
    let body = json!({"model": "fake-model", "messages": messages});
    let (status, _, conversation) = crate::front_door_rules::complete(chatd, body, &[]).await;
    (status, conversation)
}

async fn the_front_door_continues_the_active_path() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let said = |texts: &[&str]| {
        let messages: Vec<Value> = texts
            .iter()
            .enumerate()
            .map(|(at, text)| {
                let role = if at % 2 == 0 { "user" } else { "assistant" };
                json!({"role": role, "content": text})
            })
            .collect();
        Value::Array(messages)
    };
    let (status, id) = complete(&chatd, said(&["alpha"])).await;
    assert_eq!(status, 200);
    let (status, again) = complete(&chatd, said(&["alpha", "ok", "beta"])).await;
    assert_eq!((status, again), (200, id));
    let ids = documented_ids(&chatd, id).await;
    chat_to_end(&chatd, id, json!({"message": "gamma", "edit_of": ids[2]})).await;
    // The edited path is the one that continues: its hashes chain over the edit's
    // parent, not over the message before it in id order.
    let (status, again) = complete(&chatd, said(&["alpha", "ok", "gamma", "ok", "delta"])).await;
    assert_eq!((status, again), (200, id));
    let messages = chatd.messages(id).await;
    let contents: Vec<&str> = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(contents, ["alpha", "ok", "gamma", "ok", "delta", "ok"]);
    // The branch left behind is not the conversation's path any more, but a client
    // still holding it goes on from it in the same conversation (docs/API.md §11.1: it
    // forks there), which makes it the active path again.
    let (status, other) = complete(&chatd, said(&["alpha", "ok", "beta", "ok", "epsilon"])).await;
    assert_eq!((status, other), (200, id));
    let contents: Vec<String> = chatd
        .messages(id)
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(contents, ["alpha", "ok", "beta", "ok", "epsilon", "ok"]);
}
