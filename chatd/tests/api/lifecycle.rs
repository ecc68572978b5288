//! The daemon's life: restart on the same file keeps everything, and SIGTERM lets replies
//! in flight finish (or stores them as interrupted past the grace period).

use std::time::Duration;

use serde_json::Value;

use crate::support::{Daemon, read_events, reply_text};

async fn everything_is_still_there_after_a_restart() {
    // Without titles, so that no title lands between the reads compared.
    let chatd = Daemon::start_with(&["--titles", "off"]).await;
    let user = chatd.create_user("persistent 张").await;
    let id = chatd.create_conversation(user).await;
    read_events(chatd.chat(id, "remember this\nplease 😀").await).await;
    let (_, before_user) = chatd
        .get(&format!("/users/{}", "persistent%20%E5%BC%A0"))
        .await;
    let (_, before_conversation) = chatd.get(&format!("/conversations/{id}")).await;
    let (_, before_list) = chatd.get(&format!("/users/{user}/conversations")).await;

    let chatd = chatd.restart().await;
    let (status, after_user) = chatd
        .get(&format!("/users/{}", "persistent%20%E5%BC%A0"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(after_user, before_user);
    let (_, after_conversation) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(after_conversation, before_conversation);
    assert_eq!(after_conversation["messages"].as_array().unwrap().len(), 2);
    let (_, after_list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(after_list, before_list);
    // And new ids continue after the old ones.
    let next = chatd.create_conversation(user).await;
    assert!(next > id);
}

async fn sigterm_lets_a_reply_in_flight_finish_and_stores_it() {
    let mut chatd =
        Daemon::start_with(&["--echo-delay-ms", "50", "--shutdown-grace-secs", "20"]).await;
    let id = chatd.conversation().await;
    let text = "one two three four five six seven eight nine ten";
    let response = chatd.chat(id, text).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events(response));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(chatd.terminate().await, "clean exit");
    let events = reader.await.unwrap();
    assert_eq!(reply_text(&events), text, "the client got the whole reply");

    let chatd = Daemon::restart_stopped(chatd).await;
    let messages = chatd.messages(id).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"], text);
    assert_eq!(messages[1]["status"], "complete");
}

async fn past_the_grace_period_a_reply_is_stored_as_interrupted() {
    let mut chatd =
        Daemon::start_with(&["--echo-delay-ms", "200", "--shutdown-grace-secs", "1"]).await;
    let id = chatd.conversation().await;
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    let response = chatd.chat_with_events(id, &words.join(" ")).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events(response));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(chatd.terminate().await, "clean exit");
    let events = reader.await.unwrap();
    let end: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(end["status"], "interrupted");

    let chatd = Daemon::restart_stopped(chatd).await;
    let messages = chatd.messages(id).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["status"], "interrupted");
    assert_eq!(messages[1]["content"], reply_text(&events).as_str());
    assert!(!reply_text(&events).is_empty());
}

crate::on_both_backends!(
    everything_is_still_there_after_a_restart,
    sigterm_lets_a_reply_in_flight_finish_and_stores_it,
    past_the_grace_period_a_reply_is_stored_as_interrupted,
);

/// SQLite only: chatd's checkpoint thread copies the WAL back into the database file
/// within about a second, rather than leaving it to a commit that crosses 1000 pages.
/// So the file alone, copied while chatd runs (a naive backup), holds recent writes.
#[tokio::test]
async fn a_running_chatd_checkpoints_its_writes_into_the_database_file() {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    let chatd = Daemon::start_sqlite(&[]).await;
    let user = chatd.create_user("checkpointed").await;
    let id = chatd.create_conversation(user).await;
    read_events(chatd.chat(id, "into the main file").await).await;

    let copy_dir = tempfile::tempdir().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let messages_in_copy = loop {
        let copy = copy_dir.path().join("copy.db");
        // The main file only: no -wal or -shm beside the copy.
        std::fs::copy(chatd.database(), &copy).unwrap();
        let mut conn = diesel::SqliteConnection::establish(copy.to_str().unwrap()).unwrap();
        let count: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
            "(SELECT count(*) FROM messages)",
        ))
        .get_result(&mut conn)
        .unwrap();
        drop(conn);
        std::fs::remove_file(&copy).unwrap();
        if count == 2 || std::time::Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        messages_in_copy, 2,
        "the question and the reply reached the database file"
    );
}
