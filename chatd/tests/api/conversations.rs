//! `POST /conversations/`, `GET /users/{user_id}/conversations` and
//! `GET /conversations/{conversation_id}`.

use serde_json::{Value, json};

use crate::support::{Daemon, read_events};

async fn a_conversation_is_created_with_or_without_a_name() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("erin").await;
    let (status, unnamed) = chatd
        .post("/conversations/", json!({"user_id": user}))
        .await;
    assert_eq!(status, 200, "{unnamed}");
    let keys: Vec<&str> = unnamed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["user_id", "name", "id", "created_at"]);
    assert_eq!(unnamed["user_id"], user);
    assert_eq!(unnamed["name"], Value::Null);

    let (status, named) = chatd
        .post(
            "/conversations",
            json!({"user_id": user, "name": "Trip to 北京 🚄"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(named["name"], "Trip to 北京 🚄");
    assert!(named["id"].as_i64() > unnamed["id"].as_i64());
}

async fn a_conversation_for_an_unknown_user_is_a_404_and_stores_nothing() {
    let chatd = Daemon::start().await;
    let (status, body) = chatd.post("/conversations/", json!({"user_id": 999})).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"detail": "User not found"}));
    let (status, body) = chatd
        .post("/conversations/", json!({"user_id": i64::MAX}))
        .await;
    assert_eq!(status, 404, "the largest id names no user: {body}");
    // One past 64 bits is not an id at all (errors::ids_past_64_bits_are_422s_...).
    let (status, body) = chatd
        .post(
            "/conversations/",
            json!({"user_id": 99999999999999999999u128 as f64}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, list) = chatd.get("/users/999/conversations").await;
    assert_eq!(list, json!([]));
}

async fn bad_conversation_bodies_are_422s() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("frank").await;
    let cases = [
        (json!({}), "missing", "user_id"),
        (json!({"user_id": "abc"}), "int_parsing", "user_id"),
        (json!({"user_id": 1.5}), "int_from_float", "user_id"),
        (json!({"user_id": [1]}), "int_type", "user_id"),
        (json!({"user_id": user, "name": 5}), "string_type", "name"),
        (
            json!({"user_id": user, "name": "n".repeat(201)}),
            "string_too_long",
            "name",
        ),
    ];
    for (body, kind, field) in cases {
        let (status, answer) = chatd.post("/conversations/", body.clone()).await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(answer["detail"][0]["type"], kind, "{body} → {answer}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body", field]));
    }
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(list, json!([]), "no bad request stored a conversation");
    // pydantic's lax mode reads a numeric string as an integer, and so do we.
    let (status, _) = chatd
        .post("/conversations/", json!({"user_id": user.to_string()}))
        .await;
    assert_eq!(status, 200);
}

async fn conversations_are_listed_oldest_first_in_pages() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("gina").await;
    let other = chatd.create_user("hank").await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(chatd.create_conversation(user).await);
        if i % 5 == 0 {
            chatd.create_conversation(other).await;
        }
    }
    let page = |query: &'static str| {
        let chatd = &chatd;
        async move {
            let (status, body) = chatd
                .get(&format!("/users/{user}/conversations{query}"))
                .await;
            assert_eq!(status, 200, "{query}: {body}");
            body.as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        page("").await,
        ids[..10],
        "default page is skip=0, limit=10"
    );
    assert_eq!(page("?skip=10&limit=10").await, ids[10..20]);
    assert_eq!(page("?skip=20&limit=10").await, ids[20..]);
    assert_eq!(page("?skip=25").await, Vec::<i64>::new());
    assert_eq!(page("?skip=1000000").await, Vec::<i64>::new());
    assert_eq!(page("?limit=0").await, Vec::<i64>::new());
    assert_eq!(page("?limit=1000").await, ids);
    assert_eq!(page("?skip=24&limit=1").await, ids[24..]);
    let (_, first) = chatd
        .get(&format!("/users/{user}/conversations?limit=1"))
        .await;
    assert_eq!(first[0]["user_id"], user);
}

async fn bad_paging_is_a_422_naming_the_query_parameter() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("ivy").await;
    for (query, kind, name) in [
        ("?limit=1001", "less_than_equal", "limit"),
        ("?limit=-1", "greater_than_equal", "limit"),
        ("?skip=-1", "greater_than_equal", "skip"),
        ("?skip=abc", "int_parsing", "skip"),
        ("?limit=1.5", "int_parsing", "limit"),
    ] {
        let (status, body) = chatd
            .get(&format!("/users/{user}/conversations{query}"))
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["detail"][0]["type"], kind, "{query}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", name]));
    }
    let (status, body) = chatd.get("/users/abc/conversations").await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "user_id"]));
    assert_eq!(body["detail"][0]["input"], "abc");
}

async fn a_conversation_is_read_with_all_its_messages_in_order() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("jack").await;
    let id = chatd.create_conversation(user).await;
    let (status, empty) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = empty
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["user_id", "name", "id", "created_at", "messages"]);
    assert_eq!(empty["messages"], json!([]));

    for text in ["first", "second"] {
        let response = chatd.chat(id, text).await;
        assert_eq!(response.status(), 200);
        read_events(response).await;
    }
    let (status, body) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 200);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    let ids: Vec<i64> = messages.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let keys: Vec<&str> = messages[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["role", "content", "id", "conversation_id", "created_at"]
    );
    assert_eq!(messages[0]["content"], "first");
    assert_eq!(messages[0]["conversation_id"], id);
}

async fn an_unknown_or_malformed_conversation_id_is_answered_clearly() {
    let chatd = Daemon::start().await;
    for path in [
        "/conversations/12345",
        "/conversations/-1",
        "/conversations/9223372036854775807",
    ] {
        let (status, body) = chatd.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, json!({"detail": "Conversation not found"}));
    }
    let (status, body) = chatd.get("/conversations/99999999999999999999999").await;
    assert_eq!(status, 422, "no 64-bit column holds it: {body}");
    assert_eq!(body["detail"][0]["type"], "less_than_equal");
    let (status, body) = chatd.get("/conversations/abc").await;
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail": [{"type": "int_parsing", "loc": ["path", "conversation_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "abc"}]})
    );
}

/// Messages are kept rendered between reads: a read must still show what was stored
/// since, by this process or another one on the same database, exactly as a chatd
/// that keeps nothing shows it.
async fn reads_show_new_messages_from_any_process_exactly_as_without_the_cache() {
    let reader = Daemon::start().await;
    // Without titles, so that no title lands between the reads compared.
    let writer = reader.another_on_same_database(&["--titles", "off"]).await;
    let uncached = reader
        .another_on_same_database(&["--rendered-cache-mb", "0"])
        .await;
    let user = writer.create_user("cached").await;
    let id = writer.create_conversation(user).await;
    read_events(
        writer
            .chat(id, "first \"question\"\nwith a line break")
            .await,
    )
    .await;

    let path = format!("/conversations/{id}");
    let (status, cold) = reader.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(cold["messages"].as_array().unwrap().len(), 2);
    let (_, warm) = reader.get(&path).await;
    assert_eq!(warm, cold, "a second read gives the same body");

    read_events(writer.chat(id, "second 😀").await).await;
    let (_, after) = reader.get(&path).await;
    let messages = after["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "{after}");
    assert_eq!(messages[..2], cold["messages"].as_array().unwrap()[..]);
    assert_eq!(messages[2]["content"], "second 😀");
    assert_eq!(messages[3]["content"], "second 😀");

    for path in [path.clone(), format!("{path}/messages")] {
        let text = |daemon: &Daemon| {
            let request = daemon.client.get(daemon.url(&path)).send();
            async move { request.await.unwrap().text().await.unwrap() }
        };
        assert_eq!(
            text(&reader).await,
            text(&uncached).await,
            "{path}: byte for byte the body of a chatd that keeps nothing"
        );
    }
    let (_, with_status) = reader.get(&format!("/conversations/{id}/messages")).await;
    assert!(
        with_status
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "complete"),
        "{with_status}"
    );

    // Whole paths are kept by their last message: back on a branch read before, and
    // renamed by another process, the reader still answers byte for byte as the
    // uncached one (the path kept, the conversation's own fields read anew).
    let first_reply = messages[1]["id"].as_i64().unwrap();
    read_events(
        writer
            .client
            .post(writer.url("/chat"))
            .json(&json!({"conversation_id": id, "message": "edited",
                          "edit_of": messages[2]["id"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, edited) = reader.get(&path).await;
    assert_eq!(edited["messages"][2]["content"], "edited", "{edited}");
    let (status, _) = writer
        .patch(
            &path,
            json!({"active_leaf_id": messages[3]["id"], "name": "renamed"}),
        )
        .await;
    assert_eq!(status, 200);
    for path in [path.clone(), format!("{path}/messages")] {
        for _ in 0..2 {
            let text = |daemon: &Daemon| {
                let request = daemon.client.get(daemon.url(&path)).send();
                async move { request.await.unwrap().text().await.unwrap() }
            };
            let cached = text(&reader).await;
            assert_eq!(
                cached,
                text(&uncached).await,
                "{path} after the switch back"
            );
            assert!(
                cached.contains("second 😀") && !cached.contains("edited"),
                "{cached}"
            );
        }
    }
    let (_, renamed) = reader.get(&path).await;
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["messages"][1]["id"], first_reply);
}

crate::on_both_backends!(
    reads_show_new_messages_from_any_process_exactly_as_without_the_cache,
    a_conversation_is_created_with_or_without_a_name,
    a_conversation_for_an_unknown_user_is_a_404_and_stores_nothing,
    bad_conversation_bodies_are_422s,
    conversations_are_listed_oldest_first_in_pages,
    bad_paging_is_a_422_naming_the_query_parameter,
    a_conversation_is_read_with_all_its_messages_in_order,
    an_unknown_or_malformed_conversation_id_is_answered_clearly,
);
