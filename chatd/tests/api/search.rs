//! Full-text search, `GET /users/{id}/search`, on both backends: words, phrases,
//! exclusions, roles and dates; Chinese found by two- and three-character substrings;
//! snippets with their highlights; deleted conversations gone from the index; the index
//! built for rows stored before its migration; hits on other branches than the active
//! one marked so; and arbitrary query strings never a 5xx.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;

use crate::support::{Daemon, read_events, sql, unique};

async fn search(chatd: &Daemon, user: i64, q: &str) -> (u16, Value) {
    let response = chatd
        .client
        .get(chatd.url(&format!("/users/{user}/search")))
        .query(&[("q", q)])
        .send()
        .await
        .expect("GET search");
    crate::support::read_json(response).await
}

/// The message ids a search finds, in its order.
async fn found(chatd: &Daemon, user: i64, q: &str) -> Vec<i64> {
    let (status, body) = search(chatd, user, q).await;
    assert_eq!(status, 200, "{q}: {body}");
    body.as_array()
        .expect("a list")
        .iter()
        .map(|hit| hit["message_id"].as_i64().expect("message_id"))
        .collect()
}

/// A user with one conversation per text (named `c0`, `c1`, ...), each text sent as a chat (the echo provider
/// answers with the same words); returns the user, the conversations and the ids of
/// the user messages.
async fn user_with(chatd: &Daemon, texts: &[&str]) -> (i64, Vec<i64>, Vec<i64>) {
    let user = chatd.create_user(&format!("search-{}", unique())).await;
    let mut conversations = Vec::new();
    let mut user_messages = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let (status, body) = chatd
            .post(
                "/conversations/",
                serde_json::json!({"user_id": user, "name": format!("c{index}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let conversation = body["id"].as_i64().expect("conversation id");
        read_events(chatd.chat(conversation, text).await).await;
        let messages = chatd.wait_for_messages(conversation, 2).await;
        user_messages.push(messages[0]["id"].as_i64().expect("id"));
        conversations.push(conversation);
    }
    (user, conversations, user_messages)
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

async fn words_phrases_exclusions_and_roles_narrow_a_search() {
    let chatd = Daemon::start().await;
    let (user, _, ids) = user_with(
        &chatd,
        &[
            "the borrow checker keeps rust safe",
            "rust checker borrow in another order",
            "python is not rust",
        ],
    )
    .await;
    let (other, _, _) = user_with(&chatd, &["rust belongs to someone else too"]).await;
    assert_ne!(user, other);

    let all = found(&chatd, user, "rust").await;
    assert_eq!(
        all.len(),
        6,
        "every message of the user, none of the other's"
    );
    let users = found(&chatd, user, "rust role:user").await;
    assert_eq!(sorted(users), ids);
    let replies = found(&chatd, user, "rust role:assistant").await;
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|id| !ids.contains(id)));

    assert_eq!(
        found(&chatd, user, "\"borrow checker\" role:user").await,
        [ids[0]]
    );
    assert_eq!(
        sorted(found(&chatd, user, "borrow checker role:user").await),
        [ids[0], ids[1]]
    );
    assert_eq!(
        sorted(found(&chatd, user, "rust -python role:user").await),
        [ids[0], ids[1]]
    );
    assert_eq!(
        found(&chatd, user, "rust -\"another order\" -python role:user").await,
        [ids[0]]
    );
    assert!(
        found(&chatd, user, "rust after:2999-01-01")
            .await
            .is_empty()
    );
    assert_eq!(found(&chatd, user, "rust before:2999-01-01").await.len(), 6);
    assert!(
        found(&chatd, user, "rust before:2000-01-01T00:00:00Z")
            .await
            .is_empty()
    );

    let (status, hits) = search(&chatd, user, "\"borrow checker\" role:user").await;
    assert_eq!(status, 200);
    let hit = &hits[0];
    assert_eq!(hit["message_id"], ids[0]);
    assert_eq!(hit["role"], "user");
    assert_eq!(hit["conversation_name"], "c0");
    assert_eq!(hit["snippet"], "the borrow checker keeps rust safe");
    assert_eq!(
        hit["highlights"],
        serde_json::json!([{"start": 4, "end": 18}])
    );
    assert!(hit["created_at"].as_str().unwrap().ends_with('Z'));
}

async fn chinese_is_found_by_substrings_of_two_characters_or_more() {
    let chatd = Daemon::start().await;
    let (user, _, ids) = user_with(
        &chatd,
        &[
            "我们使用数据库存储消息",
            "今天天气很好",
            "東京でデータベースを勉強する",
        ],
    )
    .await;
    assert_eq!(found(&chatd, user, "数据库 role:user").await, [ids[0]]);
    assert_eq!(
        found(&chatd, user, "数据 role:user").await,
        [ids[0]],
        "two characters"
    );
    assert_eq!(found(&chatd, user, "天气 role:user").await, [ids[1]]);
    assert_eq!(
        found(&chatd, user, "データベース role:user").await,
        [ids[2]]
    );
    assert_eq!(found(&chatd, user, "勉強 role:user").await, [ids[2]]);
    assert!(found(&chatd, user, "数据 -存储 role:user").await.is_empty());
    let (_, hits) = search(&chatd, user, "数据 role:user").await;
    assert_eq!(hits[0]["snippet"], "我们使用数据库存储消息");
    assert_eq!(
        hits[0]["highlights"],
        serde_json::json!([{"start": 4, "end": 6}])
    );
}

async fn a_deleted_conversation_leaves_nothing_in_the_index() {
    let chatd = Daemon::start().await;
    let word = format!("zebra{}", unique());
    let (user, conversations, _) = user_with(
        &chatd,
        &[&format!("{word} stays 斑马"), &format!("{word} goes 企鹅")],
    )
    .await;
    assert_eq!(found(&chatd, user, &word).await.len(), 4);
    assert_eq!(found(&chatd, user, "企鹅").await.len(), 2);
    let response = chatd
        .client
        .delete(chatd.url(&format!("/conversations/{}", conversations[1])))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    assert_eq!(found(&chatd, user, &word).await.len(), 2);
    assert!(found(&chatd, user, "goes").await.is_empty());
    assert!(found(&chatd, user, "企鹅").await.is_empty());
    assert_eq!(found(&chatd, user, "斑马").await.len(), 2);
    if chatd.postgres_url().is_none() {
        assert_no_entry_in_the_indexes(&chatd, "goes");
        // Nor among the index's terms, which two-character searches read.
        let documents = sql::count(
            &chatd,
            "SELECT COALESCE(SUM(doc), 0) AS n FROM messages_fts_terms \
             WHERE term >= '企鹅' AND term < '企鹅' || char(1114111)",
        );
        assert_eq!(documents, 0);
    }
    let response = chatd
        .client
        .delete(chatd.url(&format!("/users/{user}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    if chatd.postgres_url().is_none() {
        assert_no_entry_in_the_indexes(&chatd, &word);
    }
}

/// The SQLite indexes themselves, not only what a search shows: FTS5 checks their
/// entries against the messages table, and none is left for `word`.
fn assert_no_entry_in_the_indexes(chatd: &Daemon, word: &str) {
    for index in ["messages_fts", "messages_words"] {
        sql::execute(
            chatd,
            &format!("INSERT INTO {index} ({index}) VALUES ('integrity-check')"),
        );
        let entries = sql::count(
            chatd,
            &format!("SELECT count(*) AS n FROM {index} WHERE {index} MATCH '\"{word}\"'"),
        );
        assert_eq!(entries, 0, "{index}");
    }
}

async fn the_migration_indexes_messages_stored_before_it() {
    let chatd = Daemon::start().await;
    let (user, _, ids) = user_with(&chatd, &["an older message about walruses 海象"]).await;
    // Undo the search migrations as if the rows had been stored by an older chatd, then
    // start again: the migrations run on rows that are already there.
    let undo = if chatd.postgres_url().is_some() {
        [
            include_str!("../../../migrations/postgres/2026-12-02-000090_search_batch/down.sql"),
            include_str!("../../../migrations/postgres/2026-12-02-000050_search_speed/down.sql"),
            include_str!("../../../migrations/postgres/2026-12-02-000020_search/down.sql"),
        ]
    } else {
        [
            include_str!("../../../migrations/sqlite/2026-12-02-000090_search_batch/down.sql"),
            include_str!("../../../migrations/sqlite/2026-12-02-000050_search_speed/down.sql"),
            include_str!("../../../migrations/sqlite/2026-12-02-000020_search/down.sql"),
        ]
    };
    let mut chatd = chatd;
    chatd.terminate().await;
    for script in undo {
        sql::batch(&chatd, script);
    }
    sql::execute(
        &chatd,
        "DELETE FROM __diesel_schema_migrations \
         WHERE version IN ('20261202000020', '20261202000050', '20261202000090')",
    );
    let chatd = chatd.restart_stopped().await;
    assert_eq!(found(&chatd, user, "walruses role:user").await, [ids[0]]);
    assert_eq!(
        found(&chatd, user, "海象 role:user").await,
        [ids[0]],
        "two characters at the end of a message stored before the migration"
    );
}

async fn bad_parameters_are_422s() {
    let chatd = Daemon::start().await;
    let (user, _, _) = user_with(&chatd, &["anything"]).await;
    for path in [
        format!("/users/{user}/search"),
        format!("/users/{user}/search?q=a&limit=0"),
        format!("/users/{user}/search?q=a&limit=101"),
        format!("/users/{user}/search?q=a&skip=-1"),
        format!("/users/{user}/search?q=a&skip=x"),
        format!("/users/{user}/search?q=-only+role:user"),
        format!("/users/{user}/search?q=%22%22"),
        "/users/x/search?q=a".to_string(),
        format!("/users/{user}/search?q={}", "a".repeat(1001)),
    ] {
        let (status, body) = chatd.get(&path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body["detail"][0]["loc"].is_array(), "{body}");
    }
    let (status, body) = chatd.get("/users/999999999/search?q=a").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("User not found"))
    );
}

/// Arbitrary strings, and strings built of FTS5 and tsquery syntax, as queries.
fn hostile_queries() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just("\"".to_string()),
        Just("*".to_string()),
        Just("NEAR(".to_string()),
        Just(" NOT ".to_string()),
        Just(" OR ".to_string()),
        Just(":".to_string()),
        Just("&|!".to_string()),
        Just("(".to_string()),
        Just("^".to_string()),
        Just("-".to_string()),
        Just("role:".to_string()),
        Just("before:".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("%_".to_string()),
        Just("数据".to_string()),
        Just("rust".to_string()),
        Just(" ".to_string()),
    ];
    proptest::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
}

async fn arbitrary_queries_never_give_a_server_error() {
    let chatd = Daemon::start().await;
    let (user, _, _) = user_with(&chatd, &["rust 数据库 \"quoted\" a*b NEAR(x y)"]).await;
    let mut runner = TestRunner::deterministic();
    let strategy = hostile_queries();
    for _ in 0..300 {
        let q = strategy.new_tree(&mut runner).expect("a value").current();
        let (status, body) = search(&chatd, user, &q).await;
        assert!(status == 200 || status == 422, "{q:?}: {status} {body}");
        if status == 422 {
            let message = body["detail"][0]["msg"].as_str().unwrap_or_default();
            assert!(!message.contains("syntax"), "{q:?}: {body}");
        }
    }
}

crate::on_both_backends!(
    words_phrases_exclusions_and_roles_narrow_a_search,
    chinese_is_found_by_substrings_of_two_characters_or_more,
    a_deleted_conversation_leaves_nothing_in_the_index,
    the_migration_indexes_messages_stored_before_it,
    bad_parameters_are_422s,
    arbitrary_queries_never_give_a_server_error,
    hits_say_whether_they_are_on_the_active_path,
);

/// (message id, on_active_path) of each hit, sorted by id.
async fn on_path(chatd: &Daemon, user: i64, q: &str) -> Vec<(i64, bool)> {
    let (status, body) = search(chatd, user, q).await;
    assert_eq!(status, 200, "{q}: {body}");
    let mut hits: Vec<(i64, bool)> = body
        .as_array()
        .expect("a list")
        .iter()
        .map(|hit| {
            let on = hit["on_active_path"].as_bool().expect("on_active_path");
            (hit["message_id"].as_i64().expect("message_id"), on)
        })
        .collect();
    hits.sort_unstable();
    hits
}

async fn hits_say_whether_they_are_on_the_active_path() {
    let chatd = Daemon::start().await;
    let (user, conversations, firsts) = user_with(&chatd, &["orchid question"]).await;
    let id = conversations[0];
    read_events(chatd.chat(id, "tulip question").await).await;
    let line = chatd.wait_for_messages(id, 4).await;
    let ids: Vec<i64> = line.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    let response = chatd
        .client
        .post(chatd.url("/chat"))
        .json(&serde_json::json!({"conversation_id": id, "message": "lily question", "edit_of": ids[2]}))
        .send()
        .await
        .expect("POST /chat");
    assert_eq!(response.status(), 200);
    read_events(response).await;
    let edited = chatd.wait_for_messages(id, 4).await;
    let (lily, lily_reply) = (
        edited[2]["id"].as_i64().unwrap(),
        edited[3]["id"].as_i64().unwrap(),
    );
    assert_eq!(edited[2]["content"], "lily question");
    assert_eq!(
        on_path(&chatd, user, "orchid").await,
        [(firsts[0], true), (ids[1], true)]
    );
    assert_eq!(
        on_path(&chatd, user, "tulip").await,
        [(ids[2], false), (ids[3], false)]
    );
    assert_eq!(
        on_path(&chatd, user, "lily").await,
        [(lily, true), (lily_reply, true)]
    );
    // Switching back turns them round.
    let (status, body) = chatd
        .patch(
            &format!("/conversations/{id}"),
            serde_json::json!({"active_leaf_id": ids[3]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        on_path(&chatd, user, "tulip").await,
        [(ids[2], true), (ids[3], true)]
    );
    assert_eq!(
        on_path(&chatd, user, "question").await,
        [
            (firsts[0], true),
            (ids[1], true),
            (ids[2], true),
            (ids[3], true),
            (lily, false),
            (lily_reply, false)
        ]
    );
}
