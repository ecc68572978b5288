//! `POST /users/` and `GET /users/{username}`.

use serde_json::json;

use crate::support::Daemon;

async fn a_user_is_created_and_read_back_by_name() {
    let chatd = Daemon::start().await;
    let (status, created) = chatd
        .post(
            "/users/",
            json!({"username": "alice", "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["username", "email", "id", "created_at"]);
    assert_eq!(created["username"], "alice");
    assert_eq!(created["email"], "alice@example.com");
    assert!(created["id"].is_i64());
    let at = created["created_at"].as_str().unwrap();
    assert_eq!(at.len(), "2026-11-24T05:39:12.123456Z".len(), "{at}");
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "{at}");

    let (status, read) = chatd.get("/users/alice").await;
    assert_eq!(status, 200);
    assert_eq!(read, created);
}

async fn email_is_optional_and_null_when_absent() {
    let chatd = Daemon::start().await;
    let (status, body) = chatd.post("/users", json!({"username": "bob"})).await;
    assert_eq!(
        status, 200,
        "POST /users without the slash works too: {body}"
    );
    assert_eq!(body["email"], serde_json::Value::Null);
    let (status, body) = chatd
        .post("/users/", json!({"username": "carol", "email": null}))
        .await;
    assert_eq!(status, 200);
    assert!(body.as_object().unwrap().contains_key("email"));
    assert_eq!(body["email"], serde_json::Value::Null);
}

async fn a_taken_username_is_a_400_and_stores_nothing() {
    let chatd = Daemon::start().await;
    chatd.create_user("dave").await;
    let (status, body) = chatd.post("/users/", json!({"username": "dave"})).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"detail": "Username already registered"}));
    // Case-sensitive: another user.
    let (status, _) = chatd.post("/users/", json!({"username": "Dave"})).await;
    assert_eq!(status, 200);
}

async fn an_unknown_user_is_a_404() {
    let chatd = Daemon::start().await;
    let (status, body) = chatd.get("/users/nobody").await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"detail": "User not found"}));
    let long = "x".repeat(10_000);
    let (status, body) = chatd.get(&format!("/users/{long}")).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"detail": "User not found"}));
}

async fn unicode_usernames_work_in_paths_percent_encoded() {
    let chatd = Daemon::start().await;
    for name in ["张三", "Zoë 😀", "a+b c", "100%"] {
        let (status, created) = chatd.post("/users/", json!({"username": name})).await;
        assert_eq!(status, 200, "{name}: {created}");
        let encoded: String = percent_encode(name);
        let (status, read) = chatd.get(&format!("/users/{encoded}")).await;
        assert_eq!(status, 200, "{name} as {encoded}");
        assert_eq!(read["username"], name);
        assert_eq!(read["id"], created["id"]);
    }
    let (status, _) = chatd.get("/users/%E5%BC%A0%E4%B8%89").await;
    assert_eq!(status, 200);
}

async fn usernames_are_nfc_normalised() {
    let chatd = Daemon::start().await;
    // "é" written as e + combining acute accent, stored as the single code point.
    let (status, created) = chatd
        .post("/users/", json!({"username": "re\u{301}my"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(created["username"], "r\u{e9}my");
    let (status, _) = chatd
        .post("/users/", json!({"username": "r\u{e9}my"}))
        .await;
    assert_eq!(status, 400, "the composed spelling is the same user");
    let (status, read) = chatd
        .get(&format!("/users/{}", percent_encode("re\u{301}my")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["id"], created["id"]);
}

async fn bad_usernames_and_emails_are_422s() {
    let chatd = Daemon::start().await;
    let cases = [
        (json!({}), "missing", json!(["body", "username"])),
        (
            json!({"username": ""}),
            "string_too_short",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "   "}),
            "value_error",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "a/b"}),
            "value_error",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "tab\there"}),
            "value_error",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "nul\u{0}"}),
            "value_error",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "x".repeat(65)}),
            "string_too_long",
            json!(["body", "username"]),
        ),
        (
            json!({"username": 42}),
            "string_type",
            json!(["body", "username"]),
        ),
        (
            json!({"username": null}),
            "string_type",
            json!(["body", "username"]),
        ),
        (
            json!({"username": "ok", "email": "e".repeat(255)}),
            "string_too_long",
            json!(["body", "email"]),
        ),
        (
            json!({"username": "ok", "email": 7}),
            "string_type",
            json!(["body", "email"]),
        ),
    ];
    for (body, kind, loc) in cases {
        let (status, answer) = chatd.post("/users/", body.clone()).await;
        assert_eq!(status, 422, "{body} → {answer}");
        let item = &answer["detail"][0];
        assert_eq!(item["type"], kind, "{body} → {answer}");
        assert_eq!(item["loc"], loc, "{body} → {answer}");
        assert!(item["msg"].is_string());
        assert!(item.get("input").is_some());
    }
    // 64 characters is the limit, counted after NFC, in any script.
    let (status, _) = chatd
        .post("/users/", json!({"username": "名".repeat(64)}))
        .await;
    assert_eq!(status, 200);
    // None of the bad requests stored anything.
    let (status, _) = chatd.get("/users/ok").await;
    assert_eq!(status, 404);
}

async fn a_missing_field_reports_the_whole_body_as_input() {
    let chatd = Daemon::start().await;
    let (status, answer) = chatd.post("/users/", json!({"email": "x@y.z"})).await;
    assert_eq!(status, 422);
    assert_eq!(
        answer,
        json!({"detail": [{"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": {"email": "x@y.z"}}]})
    );
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Many sign-ups at once, each name asked for twice: writes are committed in batches
/// (group commit on SQLite), and one refused insert must not take the rest of its batch
/// down with it, nor let a duplicate through.
async fn concurrent_sign_ups_with_duplicates_store_each_name_once() {
    let chatd = Daemon::start().await;
    let (users_before, _, _) = chatd.row_counts();
    let names: Vec<String> = (0..100).map(|i| format!("racer{i}")).collect();
    let attempts = names.iter().chain(names.iter()).map(|name| {
        let chatd = &chatd;
        async move {
            let (status, body) = chatd.post("/users/", json!({ "username": name })).await;
            (name.clone(), status, body)
        }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let mut created = std::collections::BTreeMap::new();
    for (name, status, body) in outcomes {
        match status {
            200 => {
                assert_eq!(body["username"], name.as_str(), "{body}");
                assert!(
                    created.insert(name.clone(), body).is_none(),
                    "{name} was created twice"
                );
            }
            400 => assert_eq!(body, json!({"detail": "Username already registered"})),
            other => panic!("{name}: unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), names.len(), "every name was created once");
    assert_eq!(chatd.row_counts().0, users_before + names.len() as i64);
    for (name, body) in &created {
        let (status, read) = chatd.get(&format!("/users/{name}")).await;
        assert_eq!(status, 200);
        assert_eq!(&read, body, "what was answered is what was stored");
    }
}

crate::on_both_backends!(
    a_user_is_created_and_read_back_by_name,
    concurrent_sign_ups_with_duplicates_store_each_name_once,
    email_is_optional_and_null_when_absent,
    a_taken_username_is_a_400_and_stores_nothing,
    an_unknown_user_is_a_404,
    unicode_usernames_work_in_paths_percent_encoded,
    usernames_are_nfc_normalised,
    bad_usernames_and_emails_are_422s,
    a_missing_field_reports_the_whole_body_as_input,
);
