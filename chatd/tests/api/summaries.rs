//! Extension `GET /users/{user_id}/conversations/summaries`: counts, last activity,
//! both orders, paging with the total, and 422s like the documented list's.

use serde_json::{Value, json};

use crate::support::Daemon;

fn ids(page: &Value) -> Vec<i64> {
    page["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}

async fn summaries_count_messages_and_order_by_last_activity() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("sam").await;
    let first = chatd.create_conversation(user).await;
    let second = chatd.create_conversation(user).await;
    let third = chatd.create_conversation(user).await;
    // The oldest conversation becomes the most recently active one.
    let response = chatd.chat(first, "hello").await;
    assert_eq!(response.status(), 200);
    let _ = response.text().await;
    let messages = chatd.wait_for_messages(first, 2).await;

    let (status, newest) = chatd
        .get(&format!("/users/{user}/conversations/summaries"))
        .await;
    assert_eq!(status, 200, "{newest}");
    assert_eq!(newest["total"], 3);
    assert_eq!(ids(&newest), [first, third, second]);
    let top = &newest["conversations"][0];
    let keys: Vec<&str> = top
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "user_id",
            "name",
            "created_at",
            "message_count",
            "last_activity_at"
        ]
    );
    assert_eq!(top["message_count"], 2);
    assert_eq!(top["user_id"], user);
    assert_eq!(top["last_activity_at"], messages[1]["created_at"]);
    let idle = &newest["conversations"][1];
    assert_eq!(idle["message_count"], 0);
    assert_eq!(idle["last_activity_at"], idle["created_at"]);

    let (_, oldest) = chatd
        .get(&format!(
            "/users/{user}/conversations/summaries?order=oldest"
        ))
        .await;
    assert_eq!(ids(&oldest), [second, third, first]);

    let (_, page) = chatd
        .get(&format!(
            "/users/{user}/conversations/summaries?skip=1&limit=1"
        ))
        .await;
    assert_eq!(page["total"], 3, "the total counts every conversation");
    assert_eq!(ids(&page), [third]);
    let (_, past_the_end) = chatd
        .get(&format!("/users/{user}/conversations/summaries?skip=5"))
        .await;
    assert_eq!(past_the_end, json!({"total": 3, "conversations": []}));

    // Only this user's conversations; an unknown user has none.
    let other = chatd.create_user("tess").await;
    chatd.create_conversation(other).await;
    let (_, again) = chatd
        .get(&format!("/users/{user}/conversations/summaries"))
        .await;
    assert_eq!(again["total"], 3);
    let (status, nobody) = chatd.get("/users/999/conversations/summaries").await;
    assert_eq!(status, 200);
    assert_eq!(nobody, json!({"total": 0, "conversations": []}));
}

async fn bad_summary_queries_are_422s_naming_the_parameter() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user("uma").await;
    for (query, kind, name) in [
        ("?order=recent", "literal_error", "order"),
        ("?limit=1001", "less_than_equal", "limit"),
        ("?skip=-1", "greater_than_equal", "skip"),
        ("?limit=abc", "int_parsing", "limit"),
    ] {
        let (status, body) = chatd
            .get(&format!("/users/{user}/conversations/summaries{query}"))
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["detail"][0]["type"], kind, "{query}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", name]));
    }
    let (status, body) = chatd
        .get("/users/abc/conversations/summaries?order=x&limit=-1")
        .await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["path", "user_id"]),
            &json!(["query", "limit"]),
            &json!(["query", "order"])
        ],
        "every problem at once: {body}"
    );
    let (status, body) = chatd
        .post(&format!("/users/{user}/conversations/summaries"), json!({}))
        .await;
    assert_eq!(status, 405, "{body}");
}

crate::on_both_backends!(
    summaries_count_messages_and_order_by_last_activity,
    bad_summary_queries_are_422s_naming_the_parameter,
);
