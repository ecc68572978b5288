//! Titles chatd gives conversations nobody named: from the first line of the user's
//! first message by default, or by asking the model (a fake upstream that answers title
//! requests apart from chats), and never over a name the user set, even while the
//! title was being made.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Daemon, FakeUpstream, Upstream, WAIT, daemon_for, is_title_request, read_events, read_json,
};

async fn settings(chatd: &Daemon, id: i64) -> Value {
    let (status, body) = chatd.get(&format!("/conversations/{id}/settings")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the conversation has a title source; returns its settings.
async fn wait_for_title(chatd: &Daemon, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let settings = settings(chatd, id).await;
        if !settings["title_source"].is_null() {
            return settings;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no title: {settings}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rename(chatd: &Daemon, id: i64, name: Value) -> Value {
    let response = chatd
        .client
        .patch(chatd.url(&format!("/conversations/{id}")))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("PATCH");
    let (status, body) = read_json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn chat_tokens() -> Box<Upstream> {
    Box::new(Upstream::tokens(&["Sure", ", here", " it is."]))
}

async fn an_unnamed_conversation_is_titled_by_its_first_line() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    read_events(
        chatd
            .chat(id, "\n  Plan a   trip to Kyoto in spring, with temples, gardens and food markets\nDetails follow.")
            .await,
    )
    .await;
    let titled = wait_for_title(&chatd, id).await;
    assert_eq!(titled["title_source"], "first_line");
    assert_eq!(
        titled["name"],
        "Plan a trip to Kyoto in spring, with temples, gardens and…"
    );
    let (_, documented) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(
        documented["name"], titled["name"],
        "the title is the conversation's name"
    );

    // Only while it has no name: cleared, the next complete reply titles it again.
    rename(&chatd, id, Value::Null).await;
    read_events(chatd.chat(id, "Second message").await).await;
    let again = wait_for_title(&chatd, id).await;
    assert_eq!(
        again["name"], titled["name"],
        "still the first message's first line"
    );

    let user = chatd.create_user("named-one").await;
    let (_, named) = chatd
        .post("/conversations/", json!({"user_id": user, "name": "Mine"}))
        .await;
    let named = named["id"].as_i64().unwrap();
    read_events(chatd.chat(named, "Something else").await).await;
    // A titled conversation of the same daemon shows titles are made; this one is named.
    let other = chatd.conversation().await;
    read_events(chatd.chat(other, "Other").await).await;
    wait_for_title(&chatd, other).await;
    let kept = settings(&chatd, named).await;
    assert_eq!(
        (&kept["name"], &kept["title_source"]),
        (&json!("Mine"), &json!("user"))
    );
}

async fn titles_can_be_turned_off() {
    let chatd = Daemon::start_with(&["--titles", "off"]).await;
    let id = chatd.conversation().await;
    read_events(chatd.chat(id, "No title please").await).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let untitled = settings(&chatd, id).await;
    assert_eq!(
        (&untitled["name"], &untitled["title_source"]),
        (&Value::Null, &Value::Null)
    );
}

async fn a_conversation_is_titled_by_the_model() {
    let upstream = FakeUpstream::start(Upstream::Titling {
        chat: chat_tokens(),
        title: Box::new(Upstream::tokens(&[
            "<think>The user wants",
            " a trip plan.</think>",
            "\n\"Kyoto in",
            " Spring.\"\nExtra line",
        ])),
        gate: None,
    })
    .await;
    let chatd = daemon_for(&upstream, &["--titles", "model"]).await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat(id, "Plan a trip to Kyoto").await).await;
    assert_eq!(crate::support::reply_text(&events), "Sure, here it is.");
    let titled = wait_for_title(&chatd, id).await;
    assert_eq!(
        (&titled["name"], &titled["title_source"]),
        (&json!("Kyoto in Spring"), &json!("model"))
    );
    let bodies = upstream.bodies();
    let asked: Vec<&Value> = bodies
        .iter()
        .filter(|body| is_title_request(body))
        .collect();
    assert_eq!(asked.len(), 1, "one title request: {bodies:?}");
    assert_eq!(asked[0]["model"], "fake-model");
    assert_eq!(
        asked[0]["messages"][1],
        json!({"role": "user", "content": "Plan a trip to Kyoto"})
    );
    // A second reply asks for no second title.
    read_events(chatd.chat(id, "And Osaka?").await).await;
    let titles = upstream
        .bodies()
        .iter()
        .filter(|body| is_title_request(body))
        .count();
    assert_eq!(titles, 1);
}

async fn a_model_that_gives_no_title_leaves_the_first_line() {
    let upstream = FakeUpstream::start(Upstream::Titling {
        chat: chat_tokens(),
        title: Box::new(Upstream::Status {
            code: 500,
            body: json!({"error": {"message": "no titles today"}}),
            retry_after: None,
        }),
        gate: None,
    })
    .await;
    let chatd = daemon_for(
        &upstream,
        &["--titles", "model", "--title-model", "tiny-model"],
    )
    .await;
    let id = chatd.conversation().await;
    read_events(chatd.chat(id, "Why is the sky blue?").await).await;
    let titled = wait_for_title(&chatd, id).await;
    assert_eq!(
        (&titled["name"], &titled["title_source"]),
        (&json!("Why is the sky blue?"), &json!("first_line"))
    );
    let bodies = upstream.bodies();
    let asked: Vec<&Value> = bodies
        .iter()
        .filter(|body| is_title_request(body))
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0]["model"], "tiny-model",
        "--title-model is the model asked"
    );
}

async fn a_name_set_while_the_title_is_made_wins() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let upstream = FakeUpstream::start(Upstream::Titling {
        chat: chat_tokens(),
        title: Box::new(Upstream::tokens(&["Model title"])),
        gate: Some(gate.clone()),
    })
    .await;
    let chatd = daemon_for(&upstream, &["--titles", "model"]).await;
    let renamed = chatd.conversation().await;
    read_events(chatd.chat(renamed, "First question").await).await;
    // The title request is in and held at the gate: now the user names it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !upstream.bodies().iter().any(is_title_request) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no title request came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = rename(&chatd, renamed, json!("The user's name")).await;
    assert_eq!(body["title_source"], "user");
    // Another conversation's title, let through after the first one, shows the titles
    // held at the gate were answered and written.
    let control = chatd.conversation().await;
    read_events(chatd.chat(control, "Second question").await).await;
    gate.add_permits(2);
    let titled = wait_for_title(&chatd, control).await;
    assert_eq!(titled["name"], "Model title");
    for _ in 0..25 {
        let kept = settings(&chatd, renamed).await;
        assert_eq!(
            (&kept["name"], &kept["title_source"]),
            (&json!("The user's name"), &json!("user")),
            "the user's name wins"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        upstream
            .bodies()
            .iter()
            .filter(|b| is_title_request(b))
            .count(),
        2
    );
}

crate::on_both_backends!(
    an_unnamed_conversation_is_titled_by_its_first_line,
    titles_can_be_turned_off,
    a_conversation_is_titled_by_the_model,
    a_model_that_gives_no_title_leaves_the_first_line,
    a_name_set_while_the_title_is_made_wins,
);
