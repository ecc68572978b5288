//! A conversation's own settings: `model`, `system_prompt` and `params` at
//! `POST /conversations/`, `PATCH /conversations/{id}` and
//! `GET /conversations/{id}/settings`, with every bad input refused and nothing changed.

use serde_json::{Value, json};

use crate::support::{Daemon, FakeUpstream, Upstream, daemon_for, read_events, sql, unique};

async fn patch(chatd: &Daemon, id: impl std::fmt::Display, body: Value) -> (u16, Value) {
    chatd.patch(&format!("/conversations/{id}"), body).await
}

async fn settings(chatd: &Daemon, id: i64) -> Value {
    let (status, body) = chatd.get(&format!("/conversations/{id}/settings")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The raw bytes of a documented read, to compare them exactly.
async fn raw(chatd: &Daemon, path: &str) -> String {
    let response = chatd.client.get(chatd.url(path)).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    response.text().await.expect("body")
}

async fn settings_given_at_creation_are_kept_and_the_rest_are_defaults() {
    let chatd = Daemon::start_with(&["--system-prompt", "Be brief."]).await;
    let user = chatd.create_user("sven").await;
    let (status, created) = chatd
        .post(
            "/conversations/",
            json!({
                "user_id": user,
                "name": "Tuned",
                "model": "echo/echo",
                "system_prompt": "Answer in French.",
                "params": {"temperature": 0.5, "max_tokens": 64, "seed": 7},
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["user_id", "name", "id", "created_at"],
        "the documented object"
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        settings(&chatd, id).await,
        json!({
            "id": id,
            "name": "Tuned",
            "model": "echo/echo",
            "system_prompt": "Answer in French.",
            "params": {"temperature": 0.5, "max_tokens": 64, "seed": 7},
            "title_source": "user",
            "defaults": [],
        })
    );
    let (status, plain) = chatd
        .post(
            "/conversations/",
            json!({"user_id": user, "model": null, "params": {}}),
        )
        .await;
    assert_eq!(status, 200, "{plain}");
    let plain_id = plain["id"].as_i64().unwrap();
    assert_eq!(
        settings(&chatd, plain_id).await,
        json!({
            "id": plain_id,
            "name": null,
            "model": "echo/echo",
            "system_prompt": "Be brief.",
            "params": {},
            "title_source": null,
            "defaults": ["model", "system_prompt", "params"],
        })
    );
    let (status, body) = chatd.get("/conversations/999999/settings").await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Conversation not found"}))
    );
    let (status, body) = chatd.get("/conversations/abc/settings").await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "conversation_id"]));
}

async fn patch_changes_what_it_names_and_nothing_else() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let (status, body) = patch(&chatd, id, json!({"name": "Renamed"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Renamed");
    assert_eq!(body["title_source"], "user");
    assert_eq!(
        body["defaults"],
        json!(["model", "system_prompt", "params"])
    );

    let (status, body) = patch(
        &chatd,
        id,
        json!({"system_prompt": "", "params": {"top_p": 0.9}, "model": "echo/other"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Renamed", "a name left out is kept");
    assert_eq!(body["system_prompt"], "", "an empty prompt is a prompt");
    assert_eq!(body["params"], json!({"top_p": 0.9}));
    assert_eq!(body["model"], "echo/other");
    assert_eq!(body["defaults"], json!([]));
    assert_eq!(
        settings(&chatd, id).await,
        body,
        "what PATCH answers is what is stored"
    );

    let (status, same) = patch(&chatd, id, json!({})).await;
    assert_eq!(
        (status, &same),
        (200, &body),
        "an empty PATCH changes nothing"
    );

    let (status, body) = patch(&chatd, id, json!({"model": null, "params": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "echo/echo");
    assert_eq!(body["params"], json!({}));
    assert_eq!(body["system_prompt"], "");
    assert_eq!(body["defaults"], json!(["model", "params"]));

    let (status, body) = patch(&chatd, id, json!({"name": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], Value::Null);
    assert_eq!(body["title_source"], Value::Null);

    let (status, body) = patch(&chatd, 999_999, json!({"name": "x"})).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Conversation not found"}))
    );
}

async fn the_documented_reads_do_not_change_with_settings_set() {
    let chatd = Daemon::start_with(&["--titles", "off"]).await;
    let user = chatd.create_user(&format!("doc-{}", unique())).await;
    let id = chatd.create_conversation(user).await;
    read_events(chatd.chat(id, "hello there").await).await;
    let conversation = raw(&chatd, &format!("/conversations/{id}")).await;
    let list = raw(&chatd, &format!("/users/{user}/conversations")).await;
    let (status, _) = patch(
        &chatd,
        id,
        json!({"model": "echo/x", "system_prompt": "p", "params": {"seed": 1}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        raw(&chatd, &format!("/conversations/{id}")).await,
        conversation
    );
    assert_eq!(
        raw(&chatd, &format!("/users/{user}/conversations")).await,
        list
    );
}

async fn bad_settings_are_422s_that_change_nothing() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("bad-{}", unique())).await;
    let id = chatd.create_conversation(user).await;
    let (status, _) = patch(&chatd, id, json!({"name": "Kept", "params": {"seed": 3}})).await;
    assert_eq!(status, 200);
    let before = settings(&chatd, id).await;
    let cases = [
        (json!({"name": 5}), "string_type", json!(["body", "name"])),
        (
            json!({"name": "n".repeat(201)}),
            "string_too_long",
            json!(["body", "name"]),
        ),
        (
            json!({"model": ""}),
            "string_too_short",
            json!(["body", "model"]),
        ),
        (
            json!({"model": "m".repeat(201)}),
            "string_too_long",
            json!(["body", "model"]),
        ),
        (
            json!({"model": "echo/\u{7}"}),
            "value_error",
            json!(["body", "model"]),
        ),
        (
            json!({"model": ["echo"]}),
            "string_type",
            json!(["body", "model"]),
        ),
        (
            json!({"system_prompt": "p".repeat(100_001)}),
            "string_too_long",
            json!(["body", "system_prompt"]),
        ),
        (
            json!({"system_prompt": "a\u{0}b"}),
            "value_error",
            json!(["body", "system_prompt"]),
        ),
        (
            json!({"params": [1]}),
            "model_type",
            json!(["body", "params"]),
        ),
        (
            json!({"params": {"temperature": -0.5}}),
            "greater_than_equal",
            json!(["body", "params", "temperature"]),
        ),
        (
            json!({"params": {"temperature": 2.5}}),
            "less_than_equal",
            json!(["body", "params", "temperature"]),
        ),
        (
            json!({"params": {"top_p": "lots"}}),
            "float_parsing",
            json!(["body", "params", "top_p"]),
        ),
        (
            json!({"params": {"max_tokens": 0}}),
            "greater_than_equal",
            json!(["body", "params", "max_tokens"]),
        ),
        (
            json!({"params": {"max_tokens": 1_000_000_000_000_i64}}),
            "less_than_equal",
            json!(["body", "params", "max_tokens"]),
        ),
        (
            json!({"params": {"seed": 1.5}}),
            "int_from_float",
            json!(["body", "params", "seed"]),
        ),
        (
            json!({"params": {"frequency_penalty": 1}}),
            "extra_forbidden",
            json!(["body", "params", "frequency_penalty"]),
        ),
        (
            json!({"colour": "blue"}),
            "extra_forbidden",
            json!(["body", "colour"]),
        ),
    ];
    for (body, kind, loc) in &cases {
        // Each bad field beside a good one: nothing of the request may be applied.
        let mut sent = body.clone();
        sent["system_prompt"] = sent
            .get("system_prompt")
            .cloned()
            .unwrap_or(json!("changed"));
        let (status, answer) = patch(&chatd, id, sent.clone()).await;
        assert_eq!(status, 422, "{sent} → {answer}");
        assert_eq!(answer["detail"][0]["type"], *kind, "{sent} → {answer}");
        assert_eq!(answer["detail"][0]["loc"], *loc, "{sent} → {answer}");
        assert_eq!(
            settings(&chatd, id).await,
            before,
            "{sent} changed something"
        );
    }
    // At creation: the same checks, and no row is stored.
    let conversations = || sql::count(&chatd, "SELECT count(*) AS n FROM conversations");
    let stored = conversations();
    for (body, kind, loc) in cases.iter().filter(|(_, _, loc)| loc[1] != "colour") {
        let mut sent = body.clone();
        sent["user_id"] = json!(user);
        let (status, answer) = chatd.post("/conversations/", sent.clone()).await;
        assert_eq!(status, 422, "{sent} → {answer}");
        assert_eq!(answer["detail"][0]["type"], *kind, "{sent} → {answer}");
        assert_eq!(answer["detail"][0]["loc"], *loc, "{sent} → {answer}");
    }
    assert_eq!(conversations(), stored, "no bad POST stored a conversation");
    // Every problem of a request at once, the path's with the body's.
    let (status, answer) = patch(&chatd, "x", json!({"name": 1, "params": {"seed": "s"}})).await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = answer["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["path", "conversation_id"]),
            &json!(["body", "name"]),
            &json!(["body", "params", "seed"]),
        ]
    );
    let response = chatd
        .client
        .patch(chatd.url(&format!("/conversations/{id}")))
        .header("content-type", "text/plain")
        .body(r#"{"name": "sneaky"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "a PATCH must be JSON");
    assert_eq!(settings(&chatd, id).await, before);
}

async fn a_chat_keeps_the_settings_it_started_with() {
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens: ["a", " b", " c", " d"].map(String::from).to_vec(),
        delay: std::time::Duration::from_millis(200),
        finish_reason: Some("stop"),
        done: true,
    })
    .await;
    let chatd = daemon_for(
        &upstream,
        &["--system-prompt", "default prompt", "--titles", "off"],
    )
    .await;
    let id = chatd.conversation().await;
    let first = chatd.chat(id, "one").await;
    assert_eq!(first.status(), 200);
    let (status, body) = patch(&chatd, id, json!({"system_prompt": "own prompt"})).await;
    assert_eq!(status, 200, "a PATCH during a reply is allowed: {body}");
    read_events(first).await;
    read_events(chatd.chat(id, "two").await).await;
    let prompts: Vec<Value> = upstream
        .bodies()
        .iter()
        .map(|body| body["messages"][0].clone())
        .collect();
    assert_eq!(
        prompts,
        [
            json!({"role": "system", "content": "default prompt"}),
            json!({"role": "system", "content": "own prompt"}),
        ]
    );
}

crate::on_both_backends!(
    settings_given_at_creation_are_kept_and_the_rest_are_defaults,
    patch_changes_what_it_names_and_nothing_else,
    the_documented_reads_do_not_change_with_settings_set,
    bad_settings_are_422s_that_change_nothing,
    a_chat_keeps_the_settings_it_started_with,
);
