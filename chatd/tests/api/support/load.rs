//! Many chats at once, and checking what they stored.

use std::time::Duration;

use serde_json::json;

use super::Daemon;

/// One chat of a load test: the daemon to send it to, the conversation and the message.
pub struct ChatJob {
    pub client: reqwest::Client,
    pub url: String,
    pub conversation: i64,
    pub message: String,
}

/// Sends all chats at once and reads every answer to its end (bounded in time).
/// Returns the accepted (conversation, message) pairs and how many were 409s; any other
/// status fails the test.
pub async fn run_chats(jobs: Vec<ChatJob>) -> (Vec<(i64, String)>, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        tasks.spawn(async move {
            let response = job
                .client
                .post(job.url)
                .json(&json!({"conversation_id": job.conversation, "message": job.message}))
                .send()
                .await
                .expect("POST /chat");
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            (job.conversation, job.message, status, text)
        });
    }
    let mut accepted = Vec::new();
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
    (accepted, conflicts)
}

/// The (conversation, user message) pairs stored in `conversations`, sorted, checking
/// that each user message is followed by its complete echo reply.
pub async fn stored_chats(daemon: &Daemon, conversations: &[i64]) -> Vec<(i64, String)> {
    let mut stored = Vec::new();
    for conversation in conversations {
        let messages = daemon.messages(*conversation).await;
        for pair in messages.chunks(2) {
            assert_eq!(pair.len(), 2, "every user message has its reply");
            assert_eq!(pair[0]["role"], "user");
            assert_eq!(pair[1]["role"], "assistant");
            assert_eq!(pair[1]["content"], pair[0]["content"]);
            assert_eq!(pair[1]["status"], "complete");
            stored.push((
                *conversation,
                pair[0]["content"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    stored.sort();
    stored
}
