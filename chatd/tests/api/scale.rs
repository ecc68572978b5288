//! Scaling out: several chatd processes on one database behave as one service, and
//! `chatd migrate-data` copies a SQLite database into another (PostgreSQL in CI).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Daemon, read_events, reply_text};

async fn two_processes_on_one_database_behave_as_one_service() {
    let a = Daemon::start_with(&["--echo-delay-ms", "20"]).await;
    let b = a.another_on_same_database(&["--echo-delay-ms", "20"]).await;
    let user = a.create_user("shared").await;
    let mut conversations = Vec::new();
    for i in 0..8 {
        // Created on both processes in turn: ids stay unique.
        let daemon = if i % 2 == 0 { &a } else { &b };
        conversations.push(daemon.create_conversation(user).await);
    }
    let mut sorted = conversations.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 8);

    // A reply running on one process is a 409 on the other.
    let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let running = a.chat(conversations[0], &words.join(" ")).await;
    assert_eq!(running.status(), 200);
    let (status, body) = b
        .post(
            "/chat",
            json!({"conversation_id": conversations[0], "message": "me too"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    read_events(running).await;

    // Concurrent chats alternating between the processes, many on the same
    // conversations at once.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..48usize {
        let daemon = if i % 2 == 0 { &a } else { &b };
        let client = daemon.client.clone();
        let url = daemon.url("/chat");
        let conversation = conversations[i % conversations.len()];
        tasks.spawn(async move {
            let message = format!("chat {i} on {conversation}");
            let response = client
                .post(url)
                .json(&json!({"conversation_id": conversation, "message": message}))
                .send()
                .await
                .expect("POST /chat");
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            (conversation, message, status, text)
        });
    }
    let mut accepted = vec![(conversations[0], words.join(" "))];
    let mut conflicts = 0;
    let finished = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(done) = tasks.join_next().await {
            let (conversation, message, status, text) = done.expect("task");
            match status {
                200 => accepted.push((conversation, message)),
                409 => conflicts += 1,
                other => panic!("chat got {other}: {text}"),
            }
        }
    })
    .await;
    assert!(finished.is_ok(), "the chats finished in time");
    assert!(conflicts > 0, "some chats met a reply of the other process");

    let mut stored = Vec::new();
    for conversation in &conversations {
        let from_a = a.messages(*conversation).await;
        let from_b = b.messages(*conversation).await;
        assert_eq!(from_a, from_b, "both processes read the same conversation");
        let (_, documented_a) = a.get(&format!("/conversations/{conversation}")).await;
        let (_, documented_b) = b.get(&format!("/conversations/{conversation}")).await;
        assert_eq!(documented_a, documented_b);
        for pair in from_a.chunks(2) {
            assert_eq!(pair.len(), 2, "every user message has its reply");
            assert_eq!(pair[0]["role"], "user");
            assert_eq!(pair[1]["role"], "assistant");
            assert_eq!(pair[1]["content"], pair[0]["content"]);
            assert_eq!(pair[1]["status"], "complete");
            stored.push((
                *conversation,
                pair[0]["content"].as_str().unwrap().to_string(),
            ));
        }
    }
    stored.sort();
    accepted.sort();
    assert_eq!(stored, accepted, "every accepted chat stored exactly once");
}

async fn migrate_data_copies_a_sqlite_database_exactly() {
    // The source is always a SQLite file; the target is the backend under test.
    let source = Daemon::start_sqlite(&[]).await;
    let mut users = Vec::new();
    for name in ["ada", "张三", "Zoë 😀"] {
        users.push(source.create_user(name).await);
    }
    let mut conversations = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for j in 0..=i {
            let id = source.create_conversation(*user).await;
            let events = read_events(source.chat(id, &format!("hello {j}\nline two")).await).await;
            assert!(!reply_text(&events).is_empty());
            conversations.push(id);
        }
    }
    let mut snapshot: Vec<Value> = Vec::new();
    for name in ["ada", "%E5%BC%A0%E4%B8%89", "Zo%C3%AB%20%F0%9F%98%80"] {
        snapshot.push(source.get(&format!("/users/{name}")).await.1);
    }
    for user in &users {
        snapshot.push(
            source
                .get(&format!("/users/{user}/conversations?limit=1000"))
                .await
                .1,
        );
    }
    for conversation in &conversations {
        snapshot.push(
            source
                .get(&format!("/conversations/{conversation}/messages"))
                .await
                .1,
        );
        snapshot.push(
            source
                .get(&format!("/conversations/{conversation}"))
                .await
                .1,
        );
    }
    let source_file = source.database();
    let mut source = source;
    assert!(source.terminate().await);

    let mut target = Daemon::start().await;
    assert!(target.terminate().await);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"))
        .arg("migrate-data")
        .arg("--from")
        .arg(&source_file)
        .arg("--to")
        .arg(target.database_shown())
        .env("CHATD_LOG", "warn")
        .output()
        .await
        .expect("run chatd migrate-data");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("copied 3 users, 6 conversations and 12 messages"),
        "{stdout}"
    );

    let target = target.restart_stopped().await;
    let mut copied: Vec<Value> = Vec::new();
    for name in ["ada", "%E5%BC%A0%E4%B8%89", "Zo%C3%AB%20%F0%9F%98%80"] {
        copied.push(target.get(&format!("/users/{name}")).await.1);
    }
    for user in &users {
        copied.push(
            target
                .get(&format!("/users/{user}/conversations?limit=1000"))
                .await
                .1,
        );
    }
    for conversation in &conversations {
        copied.push(
            target
                .get(&format!("/conversations/{conversation}/messages"))
                .await
                .1,
        );
        copied.push(
            target
                .get(&format!("/conversations/{conversation}"))
                .await
                .1,
        );
    }
    assert_eq!(
        copied, snapshot,
        "the copy answers byte for byte like the original"
    );
    // New rows continue after the copied ids.
    let next = target.create_conversation(users[0]).await;
    assert!(next > *conversations.iter().max().unwrap());

    // A target that already holds data is refused.
    let again = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"))
        .arg("migrate-data")
        .arg("--from")
        .arg(&source_file)
        .arg("--to")
        .arg(target.database_shown())
        .output()
        .await
        .expect("run chatd migrate-data");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));
}

crate::on_both_backends!(
    two_processes_on_one_database_behave_as_one_service,
    migrate_data_copies_a_sqlite_database_exactly,
);
