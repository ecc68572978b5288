//! The daemon's life: restart on the same file keeps everything, and SIGTERM lets replies
//! in flight finish (or stores them as interrupted past the grace period).

use std::time::Duration;

use serde_json::Value;

use crate::support::{Daemon, read_events, reply_text};

async fn everything_is_still_there_after_a_restart() {
    let chatd = Daemon::start().await;
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
