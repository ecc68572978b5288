//! Replies across processes (issue 15, "attach from any process"): two real chatd
//! processes on one real PostgreSQL; a client attaches to, resumes, waits for and
//! cancels on one a reply the other generates, also while the relay's LISTEN
//! connection is killed. PostgreSQL only: on SQLite there is one process.

use serde_json::Value;

use crate::resume::{Event, attach, read_some, resume_200_replies, text_of, thinking_upstream};
use crate::support::{Backend, Daemon, daemon_for, read_json};

/// Runs a test on PostgreSQL, or says it was skipped.
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                match Backend::postgres() {
                    Some(backend) => backend.run(tests::$name()).await,
                    None => eprintln!(
                        "skipped {}: CHATD_TEST_POSTGRES_URL is not set",
                        stringify!($name)
                    ),
                }
            }
        )*
    };
}

on_postgres!(
    an_attach_on_another_process_reads_the_stored_reply_and_resumes_across,
    a_killed_listener_leaves_no_gap_and_no_repeat,
    seeded_disconnects_of_200_replies_resume_on_the_other_process,
    a_cancel_on_one_process_stops_the_reply_of_the_other_once,
    a_wait_on_one_process_sees_a_reply_start_on_the_other,
    reasoning_resumes_across_processes,
);

/// Kills the relay connection of `chatd` (found by its `application_name`); how many
/// connections were killed.
pub(crate) fn kill_listener(chatd: &Daemon) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        killed: i64,
    }
    let admin_url = std::env::var("CHATD_TEST_POSTGRES_URL").expect("a PostgreSQL server");
    let mut admin = diesel::PgConnection::establish(&admin_url).expect("connect as admin");
    let name = format!("chatd-relay/{}", chatd.pid().expect("a running chatd"));
    diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS killed FROM pg_stat_activity \
         WHERE application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result::<Killed>(&mut admin)
    .expect("terminate the relay connection")
    .killed
}

fn words(n: usize) -> String {
    (0..n)
        .map(|i| format!("w{i}é"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn stored_reply(chatd: &Daemon, id: i64) -> Value {
    let messages = chatd.wait_for_messages(id, 2).await;
    messages.last().expect("the reply").clone()
}

fn end_of(events: &[Event]) -> Value {
    let end = events.last().expect("events");
    assert_eq!(end.event, "end", "{events:?}");
    serde_json::from_str(&end.data).expect("the end's JSON")
}

mod tests {
    use super::*;

    pub async fn an_attach_on_another_process_reads_the_stored_reply_and_resumes_across() {
        let args = ["--echo-delay-ms", "15", "--titles", "off"];
        let a = Daemon::start_with(&args).await;
        let b = a.another_on_same_database(&args).await;
        let id = a.conversation().await;
        let message = words(60);
        let owner = b.chat_with_events(id, &message).await;
        assert_eq!(owner.status(), 200);
        // Read a little on the owner, then attach on the other process from the start
        // and, with the owner's cursor, from where the owner's reader stopped.
        let seen = read_some(owner, Some(6)).await;
        let cursor = seen.last().expect("events").id.clone();
        let whole = read_some(attach(&a, id, "", None).await, None).await;
        let resumed = read_some(attach(&a, id, "", Some(&cursor)).await, None).await;
        let stored = stored_reply(&a, id).await;
        assert_eq!(stored["status"], "complete");
        assert_eq!(
            text_of(&whole),
            stored["content"],
            "attached on a from the start"
        );
        assert_eq!(text_of(&whole), message);
        assert_eq!(
            format!("{}{}", text_of(&seen), text_of(&resumed)),
            message,
            "resumed on a after the cursor of b"
        );
        assert_eq!(end_of(&whole)["message"]["id"], stored["id"]);
        assert!(resumed.iter().all(|e| e.event != "start"));

        // The other way round, mid-reply: read on a (mirror) a while, resume on b.
        let second = words(40);
        let owner = a.chat_with_events(id, &second).await;
        let on_b = read_some(attach(&b, id, "", None).await, Some(8)).await;
        let cursor = on_b.last().expect("events").id.clone();
        let rest = read_some(attach(&a, id, "", Some(&cursor)).await, None).await;
        read_some(owner, None).await;
        assert_eq!(format!("{}{}", text_of(&on_b), text_of(&rest)), second);
        assert_eq!(end_of(&rest)["status"], "complete");
    }

    pub async fn a_killed_listener_leaves_no_gap_and_no_repeat() {
        let args = ["--echo-delay-ms", "20", "--titles", "off"];
        let a = Daemon::start_with(&args).await;
        let b = a.another_on_same_database(&args).await;
        let id = a.conversation().await;
        let message = words(120);
        let owner = b.chat(id, &message).await;
        let follower = attach(&a, id, "", None).await;
        assert_eq!(follower.status(), 200);
        let reading = tokio::spawn(read_some(follower, None));
        // Kill the follower's listener, then the owner's, then the follower's again,
        // each while the reply streams.
        for (at, chatd) in [(300, &a), (500, &b), (400, &a)] {
            tokio::time::sleep(std::time::Duration::from_millis(at)).await;
            assert_eq!(kill_listener(chatd), 1, "the relay connection was found");
        }
        let events = reading.await.expect("the reader");
        owner.text().await.expect("the owner's stream");
        let stored = stored_reply(&a, id).await;
        assert_eq!(stored["content"], message);
        assert_eq!(text_of(&events), message, "no gap, no repeat");
        let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "no event twice");
        // Both reconnected: a reply after the kills is relayed too.
        let again = b.chat(id, "after the kills").await;
        let follower = read_some(attach(&a, id, "", None).await, None).await;
        again.text().await.expect("the owner's stream");
        assert_eq!(text_of(&follower), "after the kills");
    }

    pub async fn seeded_disconnects_of_200_replies_resume_on_the_other_process() {
        let args = ["--echo-delay-ms", "2", "--titles", "off"];
        let a = Daemon::start_with(&args).await;
        let b = a.another_on_same_database(&args).await;
        resume_200_replies(&[&a, &b]).await;
    }

    pub async fn a_cancel_on_one_process_stops_the_reply_of_the_other_once() {
        let args = ["--echo-delay-ms", "40", "--titles", "off"];
        let a = Daemon::start_with(&args).await;
        let b = a.another_on_same_database(&args).await;
        let id = a.conversation().await;
        let owner = b.chat_with_events(id, &words(200)).await;
        let seen = read_some(owner, Some(4)).await;
        assert_eq!(seen.len(), 4);
        let (status, body) = a
            .post(
                &format!("/conversations/{id}/cancel"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["cancelled"], true);
        assert_eq!(body["conversation_id"], id);
        let messages = a.wait_for_messages(id, 2).await;
        assert_eq!(messages.len(), 2, "one reply stored: {messages:?}");
        assert_eq!(messages[1]["status"], "cancelled");
        // Nothing streams any more on either process.
        let (status, _) = a
            .post(
                &format!("/conversations/{id}/cancel"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 404);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(b.messages(id).await.len(), 2, "stored once");
    }

    pub async fn a_wait_on_one_process_sees_a_reply_start_on_the_other() {
        let args = ["--echo-delay-ms", "10", "--titles", "off"];
        let a = Daemon::start_with(&args).await;
        let b = a.another_on_same_database(&args).await;
        let id = a.conversation().await;
        let (status, _) = read_json(attach(&a, id, "", None).await).await;
        assert_eq!(status, 404, "nothing streams yet");
        let waiting = attach(&a, id, "&wait=10", None);
        let sending = async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            b.chat(id, "started elsewhere").await
        };
        let (waited, sent) = tokio::join!(waiting, sending);
        assert_eq!(waited.status(), 200);
        let (events, _) = tokio::join!(read_some(waited, None), sent.text());
        assert_eq!(text_of(&events), "started elsewhere");
        assert_eq!(end_of(&events)["status"], "complete");
    }

    pub async fn reasoning_resumes_across_processes() {
        let (upstream, reasoning, tokens) = thinking_upstream(30).await;
        let a = daemon_for(&upstream, &["--titles", "off"]).await;
        let b = a
            .another_on_same_database(&[
                "--provider",
                "openai",
                "--openai-base-url",
                upstream.base_url.as_str(),
                "--model",
                "fake-model",
                "--titles",
                "off",
            ])
            .await;
        let id = a.conversation().await;
        // Cut within the reasoning, at its end and within the content: the cursor
        // carries a reasoning offset the other process resumes after.
        for cut in [2, 4, 7, 9] {
            let owner = b.chat_with_events(id, "why?").await;
            let mut seen = read_some(owner, Some(cut)).await;
            let last = seen.last().expect("an event").id.clone();
            if cut > 2 && cut < 8 {
                assert_eq!(last.split(':').count(), 3, "a reasoning offset: {last}");
            }
            seen.extend(read_some(attach(&a, id, "", Some(&last)).await, None).await);
            let thought: String = seen
                .iter()
                .filter(|e| e.event == "reasoning")
                .map(|e| serde_json::from_str::<String>(&e.data).expect("a JSON string"))
                .collect();
            assert_eq!(thought, reasoning.concat(), "cut {cut}");
            assert_eq!(text_of(&seen), tokens.concat(), "cut {cut}");
            assert_eq!(end_of(&seen)["status"], "complete");
        }
    }
}
