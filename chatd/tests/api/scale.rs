//! Scaling out: several chatd processes on one database behave as one service, and
//! `chatd migrate-data` copies a SQLite database into another (PostgreSQL in CI).

use serde_json::{Value, json};

use crate::support::{ChatJob, Daemon, read_events, reply_text, run_chats, stored_chats};

async fn two_processes_on_one_database_behave_as_one_service() {
    // Without titles, so that no title lands between the reads compared.
    let a = Daemon::start_with(&["--echo-delay-ms", "20", "--titles", "off"]).await;
    let b = a
        .another_on_same_database(&["--echo-delay-ms", "20", "--titles", "off"])
        .await;
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
    let jobs = (0..48usize)
        .map(|i| {
            let daemon = if i % 2 == 0 { &a } else { &b };
            let conversation = conversations[i % conversations.len()];
            ChatJob {
                client: daemon.client.clone(),
                url: daemon.url("/chat"),
                conversation,
                message: format!("chat {i} on {conversation}"),
            }
        })
        .collect();
    let (mut accepted, conflicts) = run_chats(jobs).await;
    accepted.push((conversations[0], words.join(" ")));
    assert!(conflicts > 0, "some chats met a reply of the other process");
    for conversation in &conversations {
        assert_eq!(
            a.messages(*conversation).await,
            b.messages(*conversation).await,
            "both processes read the same conversation"
        );
        let (_, documented_a) = a.get(&format!("/conversations/{conversation}")).await;
        let (_, documented_b) = b.get(&format!("/conversations/{conversation}")).await;
        assert_eq!(documented_a, documented_b);
    }
    accepted.sort();
    assert_eq!(
        stored_chats(&a, &conversations).await,
        accepted,
        "every accepted chat stored exactly once"
    );
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
    // An AI SDK chat keeps its chat id (`conversations.chat_key`).
    let ui_chat = json!({
        "id": "ui-1",
        "messages": [{"id": "m", "role": "user", "parts": [{"type": "text", "text": "hi ui"}]}],
    });
    let streamed = source
        .client
        .post(source.url("/ui/chat"))
        .header("x-chatd-user", "ada")
        .json(&ui_chat)
        .send()
        .await
        .expect("POST /ui/chat");
    assert!(streamed.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    let (_, listed) = source
        .get(&format!("/users/{}/conversations", users[0]))
        .await;
    conversations.push(listed[1]["id"].as_i64().unwrap());
    // Settings and titles are copied too: one conversation has its own settings, and
    // every title is written before the snapshot.
    let tuned = source
        .client
        .patch(source.url(&format!("/conversations/{}", conversations[0])))
        .json(&json!({"model": "echo/x", "system_prompt": "p", "params": {"seed": 1}}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(tuned.status(), 200);
    for id in &conversations {
        let deadline = tokio::time::Instant::now() + crate::support::WAIT;
        while source.get(&format!("/conversations/{id}/settings")).await.1["title_source"].is_null()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "conversation {id} got no title"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    // A branch (issue 18): an edit of the first message, so the copy must keep the
    // parents and the active leaf, not only the rows.
    let first = source.messages(conversations[1]).await[0]["id"].clone();
    let edited = source
        .client
        .post(source.url("/chat"))
        .json(&json!({"conversation_id": conversations[1], "message": "hello again", "edit_of": first}))
        .send()
        .await
        .expect("POST /chat");
    assert!(!reply_text(&read_events(edited).await).is_empty());
    let snapshot = answers(&source, &users, &conversations).await;
    let source_file = source.database();
    let mut source = source;
    assert!(source.terminate().await);

    let mut target = Daemon::start().await;
    assert!(target.terminate().await);
    let home = tempfile::tempdir().unwrap();
    let chatd = || testkit::isolated(env!("CARGO_BIN_EXE_chatd"), home.path());
    let output = tokio::process::Command::from(chatd())
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
        stdout.contains("copied 3 users, 7 conversations and 16 messages"),
        "{stdout}"
    );

    let target = target.restart_stopped().await;
    let copied = answers(&target, &users, &conversations).await;
    assert_eq!(
        copied, snapshot,
        "the copy answers byte for byte like the original"
    );
    // New rows continue after the copied ids.
    let next = target.create_conversation(users[0]).await;
    assert!(next > *conversations.iter().max().unwrap());

    // A target that already holds data is refused.
    let again = tokio::process::Command::from(chatd())
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

/// What every read endpoint answers for these users and conversations.
async fn answers(daemon: &Daemon, users: &[i64], conversations: &[i64]) -> Vec<Value> {
    let mut all = Vec::new();
    for name in ["ada", "%E5%BC%A0%E4%B8%89", "Zo%C3%AB%20%F0%9F%98%80"] {
        all.push(daemon.get(&format!("/users/{name}")).await.1);
    }
    let ui_chat = daemon
        .client
        .get(daemon.url("/ui/chat/ui-1/messages"))
        .header("x-chatd-user", "ada")
        .send()
        .await
        .expect("GET /ui/chat/ui-1/messages");
    all.push(crate::support::read_json(ui_chat).await.1);
    for user in users {
        all.push(
            daemon
                .get(&format!("/users/{user}/conversations?limit=1000"))
                .await
                .1,
        );
    }
    for conversation in conversations {
        all.push(
            daemon
                .get(&format!("/conversations/{conversation}/messages"))
                .await
                .1,
        );
        all.push(
            daemon
                .get(&format!("/conversations/{conversation}"))
                .await
                .1,
        );
        all.push(
            daemon
                .get(&format!("/conversations/{conversation}/settings"))
                .await
                .1,
        );
        // Branches: every parent and the active leaf.
        all.push(
            daemon
                .get(&format!("/conversations/{conversation}/tree"))
                .await
                .1,
        );
    }
    all
}

crate::on_both_backends!(
    two_processes_on_one_database_behave_as_one_service,
    migrate_data_copies_a_sqlite_database_exactly,
);
