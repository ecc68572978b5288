//! Storage faults, made for real: a SQLite file on a small tmpfs that the test fills, a
//! lock held by another process past chatd's busy wait, an immutable database file, and
//! a PostgreSQL database whose connections are cut and refused. Every write answers the
//! documented 503/507, and a reply whose final write fails is kept, reported as not
//! stored, and stored once storage is back: once, with nothing lost.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::support::{Daemon, FakeUpstream, SseEvent, Upstream, WAIT, end_event, read_json};

/// A tmpfs of `size` mounted on a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: Arc<tempfile::TempDir>,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root): {status}"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0x5a_u8; 64 * 1024];
        // Bounded: a 64 MiB tmpfs fills in at most 1024 blocks.
        for _ in 0..1024 {
            if file.write_all(&block).is_err() {
                break;
            }
        }
        // Whatever partial block is left goes too.
        while file.write(&[0x5a; 512]).map(|n| n > 0).unwrap_or(false) {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A fake upstream whose reply is far larger than anything stored before it, so that
/// storing it needs new space in the WAL, and that takes about `tokens × 10 ms`.
async fn big_slow_reply(tokens: usize) -> (FakeUpstream, String) {
    let token: String = "0123456789abcdef".repeat(128);
    let tokens: Vec<String> = (0..tokens).map(|i| format!("{i:04}{token}")).collect();
    let text = tokens.concat();
    let upstream = FakeUpstream::start(Upstream::Stream {
        tokens,
        delay: Duration::from_millis(10),
        done: true,
        finish_reason: None,
    })
    .await;
    (upstream, text)
}

fn upstream_args(upstream: &FakeUpstream) -> Vec<String> {
    [
        "--provider",
        "openai",
        "--openai-base-url",
        &upstream.base_url,
        "--model",
        "fake-model",
        // Only the leases are refreshed: content checkpoints would grow the WAL while
        // the reply streams and blur which write meets the full disk.
        "--checkpoint-interval-ms",
        "0",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// Reads an SSE body to its end (bounded).
async fn events_of(response: reqwest::Response) -> Vec<SseEvent> {
    tokio::time::timeout(
        Duration::from_secs(60),
        crate::support::read_events(response),
    )
    .await
    .expect("the stream ended in time")
}

/// The end event without the message's text, for assertion messages.
fn brief(end: &Value) -> Value {
    let mut end = end.clone();
    if let Some(content) = end.pointer_mut("/message/content") {
        *content = json!("…");
    }
    end
}

fn text_of(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| e.data.as_str())
        .collect()
}

/// Polls the conversation until it holds `count` messages; returns them and how long
/// that took.
async fn messages_once_stored(chatd: &Daemon, id: i64, count: usize) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let messages = chatd.wait_for_messages(id, count).await;
    (messages, started.elapsed())
}

/// Starts a chat that streams for a while, and waits until its user message is stored.
async fn start_long_chat(chatd: &Daemon, id: i64) -> reqwest::Response {
    let response = chatd.chat_with_events(id, "tell me everything").await;
    assert_eq!(response.status(), 200);
    response
}

fn sqlite_integrity(path: &Path) -> String {
    use diesel::sql_types::Text;
    let mut conn =
        diesel::SqliteConnection::establish(path.to_str().expect("utf-8")).expect("open");
    diesel::select(diesel::dsl::sql::<Text>(
        "(SELECT group_concat(integrity_check) FROM pragma_integrity_check)",
    ))
    .get_result(&mut conn)
    .expect("integrity check")
}

#[tokio::test]
async fn a_full_disk_answers_507_and_a_reply_finishing_on_it_is_stored_once_space_returns() {
    let disk = SmallDisk::mount("6m");
    let (upstream, text) = big_slow_reply(300).await;
    let args = upstream_args(&upstream);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let chatd = Daemon::start_sqlite_in(disk.dir.clone(), &args).await;
    let user = chatd.create_user("ada").await;
    let first = chatd.create_conversation(user).await;
    let second = chatd.create_conversation(user).await;

    let stream = start_long_chat(&chatd, first).await;
    let filler = disk.fill();

    // Writes that need space are refused with the documented answer; reads go on.
    let big = "x".repeat(90_000);
    let (status, body) = read_json(chatd.chat(second, &big).await).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(
        body["detail"],
        "The database's disk is full: free some space, then try again"
    );
    assert!(
        !body
            .to_string()
            .contains(&disk.path().display().to_string()),
        "no path in {body}"
    );
    let (status, _) = chatd.get("/users/ada").await;
    assert_eq!(status, 200, "reads go on while the disk is full");

    // The reply ends while the disk is still full: the client hears the truth.
    let events = events_of(stream).await;
    assert_eq!(text_of(&events), text, "the whole reply was streamed");
    let end = end_event(&events);
    assert_eq!(end["status"], "complete", "{}", brief(&end));
    assert_eq!(end["stored"], false, "{}", brief(&end));
    assert_eq!(end["message"], Value::Null);
    let error = end["error"].as_str().expect("an error says why");
    assert!(
        error.contains("not stored yet") && error.contains("disk is full"),
        "{error}"
    );
    let (_, status) = chatd.get("/status").await;
    assert_eq!(status["replies_unstored"], 1, "{status}");
    assert_eq!(status["replies_in_flight"], 0, "{status}");
    // A new chat on that conversation would be stored before its last reply.
    let response = chatd.chat(first, "and then?").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );

    std::fs::remove_file(filler).expect("free the space");
    let (messages, took) = messages_once_stored(&chatd, first, 2).await;
    eprintln!(
        "a reply stored late landed {} ms after space returned",
        took.as_millis()
    );
    assert_eq!(messages.len(), 2, "stored once: {messages:?}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["status"], "complete");
    assert_eq!(messages[1]["content"].as_str(), Some(text.as_str()));

    // The conversation is free again right after, and nothing was stored twice.
    let events = events_of(start_long_chat(&chatd, first).await).await;
    assert_eq!(end_event(&events)["stored"], true);
    let messages = chatd.messages(first).await;
    assert_eq!(messages.len(), 4, "{messages:?}");
    // The history that chat sent is what was stored before it, though chatd keeps the
    // texts of histories in memory (`store/known_texts.rs`) and the refused chat's
    // message was rolled back, so SQLite could give its id to a later message.
    let bodies = upstream.bodies();
    let sent: Vec<&str> = bodies
        .last()
        .and_then(|body| body["messages"].as_array())
        .expect("the last request's messages")
        .iter()
        .filter(|m| m["role"] != "system")
        .filter_map(|m| m["content"].as_str())
        .collect();
    let stored: Vec<&str> = messages[..3]
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        sent == stored,
        "sent {} messages, not the stored 3",
        sent.len()
    );
    assert_eq!(
        chatd.messages(second).await.len(),
        0,
        "the refused chat left nothing"
    );
    let (_, status) = chatd.get("/status").await;
    assert_eq!(status["replies_unstored"], 0, "{status}");
    drop(chatd);
    assert_eq!(sqlite_integrity(&disk.path().join("chat.db")), "ok");
}

#[tokio::test]
async fn a_reply_unstored_at_exit_on_a_full_disk_is_kept_elsewhere_and_stored_at_the_next_start() {
    let disk = SmallDisk::mount("6m");
    // chatd's temporary directory, on another file system than the full one.
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let elsewhere_path = elsewhere.path().to_str().expect("utf-8").to_string();
    let (upstream, text) = big_slow_reply(150).await;
    let mut args = upstream_args(&upstream);
    args.extend(["--shutdown-grace-secs".to_string(), "1".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut chatd = Daemon::start_sqlite_in_with_env(
        disk.dir.clone(),
        &args,
        &[("TMPDIR", elsewhere_path.as_str())],
    )
    .await;
    let id = chatd.conversation().await;
    let stream = start_long_chat(&chatd, id).await;
    let filler = disk.fill();
    let end = end_event(&events_of(stream).await);
    assert_eq!(end["stored"], false, "{}", brief(&end));

    assert!(chatd.terminate().await, "chatd exited cleanly");
    let kept: Vec<_> = std::fs::read_dir(elsewhere.path())
        .expect("list the temporary directory")
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("chatd-unstored-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the reply went to the fallback file");

    std::fs::remove_file(filler).expect("free the space");
    let chatd = chatd.restart_stopped().await;
    let messages = chatd.wait_for_messages(id, 2).await;
    assert_eq!(messages.len(), 2, "stored once");
    assert_eq!(messages[1]["content"].as_str(), Some(text.as_str()));
    assert!(
        std::fs::read_dir(elsewhere.path())
            .expect("list")
            .filter_map(Result::ok)
            .all(|e| !e
                .file_name()
                .to_string_lossy()
                .starts_with("chatd-unstored-")),
        "the fallback file is gone once stored"
    );
    drop(chatd);
    assert_eq!(sqlite_integrity(&disk.path().join("chat.db")), "ok");
}

/// Holds SQLite's write lock from this process, as another program would.
fn hold_exclusive_lock(path: &Path, for_how_long: Duration) -> std::thread::JoinHandle<()> {
    use diesel::connection::SimpleConnection;
    let mut conn =
        diesel::SqliteConnection::establish(path.to_str().expect("utf-8")).expect("open");
    conn.batch_execute("BEGIN EXCLUSIVE")
        .expect("take the lock");
    std::thread::spawn(move || {
        std::thread::sleep(for_how_long);
        let _ = conn.batch_execute("COMMIT");
    })
}

#[tokio::test]
async fn a_lock_held_past_the_busy_wait_answers_503_and_the_reply_lands_after_it() {
    let (upstream, text) = big_slow_reply(100).await;
    let args = upstream_args(&upstream);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let chatd = Daemon::start_sqlite(&args).await;
    let id = chatd.conversation().await;
    let stream = start_long_chat(&chatd, id).await;

    // A write queued now waits out chatd's 10 s busy wait and fails; the reply's final
    // write, queued behind it in the next batch, fails 10 s later; the lock outlasts
    // both.
    let lock = hold_exclusive_lock(&chatd.database(), Duration::from_secs(22));
    let client = chatd.client.clone();
    let url = chatd.url("/users/");
    let write = tokio::spawn(async move {
        let response = client
            .post(url)
            .json(&json!({"username": "grace"}))
            .send()
            .await
            .expect("POST /users/");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok().map(str::to_owned));
        let (status, body) = read_json(response).await;
        (status, body, retry_after)
    });
    let (status, body, retry_after) = write.await.expect("the write answered");
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(
        body["detail"],
        "The database is locked by another program: try again shortly"
    );

    let events = events_of(stream).await;
    let end = end_event(&events);
    assert_eq!(end["stored"], false, "{}", brief(&end));
    assert!(
        end["error"]
            .as_str()
            .is_some_and(|e| e.contains("locked by another program")),
        "{}",
        brief(&end)
    );

    lock.join().expect("the lock holder ends");
    let (messages, took) = messages_once_stored(&chatd, id, 2).await;
    eprintln!("after the lock: stored in {} ms", took.as_millis());
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"].as_str(), Some(text.as_str()));
    let (status, body) = chatd.post("/users/", json!({"username": "grace"})).await;
    assert_eq!(status, 200, "writes recover: {body}");
}

/// `chattr` on the database and its WAL files, as the hostile tester did.
fn set_immutable(database: &Path, immutable: bool) {
    let flag = if immutable { "+i" } else { "-i" };
    // Not the `-shm` index: SQLite maps it into memory, and a write to an immutable
    // mapped file is a SIGBUS that no program can answer (see the session note).
    for suffix in ["", "-wal"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        let status = std::process::Command::new("chattr")
            .arg(flag)
            .arg(&path)
            .status()
            .expect("run chattr");
        assert!(status.success(), "chattr {flag} {path:?}");
    }
}

#[tokio::test]
async fn a_read_only_database_answers_503_keeps_the_reply_and_a_restart_stores_it() {
    let (upstream, text) = big_slow_reply(100).await;
    let mut args = upstream_args(&upstream);
    args.extend(["--shutdown-grace-secs".to_string(), "1".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut chatd = Daemon::start_sqlite(&args).await;
    let id = chatd.conversation().await;
    let stream = start_long_chat(&chatd, id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    set_immutable(&chatd.database(), true);

    let (status, body) = chatd.post("/users/", json!({"username": "linus"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["detail"],
        "The database is read-only: make the database file and its directory writable by \
         chatd, then try again"
    );
    let end = end_event(&events_of(stream).await);
    assert_eq!(end["stored"], false, "{}", brief(&end));

    // chatd stops while the reply is still unstored: it goes to the recovery file.
    assert!(chatd.terminate().await, "chatd exited cleanly");
    let mut recovery = chatd.database().into_os_string();
    recovery.push(".unstored.jsonl");
    let kept = std::fs::read_to_string(&recovery).expect("the recovery file exists");
    assert_eq!(kept.lines().count(), 1, "{kept}");
    set_immutable(&chatd.database(), false);

    let chatd = chatd.restart_stopped().await;
    let messages = chatd.wait_for_messages(id, 2).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1]["content"].as_str(), Some(text.as_str()));
    assert_eq!(messages[1]["status"], "complete");
    assert!(
        !Path::new(&recovery).exists(),
        "the recovery file is gone once stored"
    );
    assert_eq!(chatd.chat(id, "next").await.status(), 200);
    assert_eq!(sqlite_integrity(&chatd.database()), "ok");
}

/// PostgreSQL: `ALLOW_CONNECTIONS false` refuses new connections to the test's database
/// (superusers included) and `pg_terminate_backend` cuts the open ones, as a server
/// restart would, without touching the other tests' databases.
fn cut_postgres(database_url: &str, refuse: bool) {
    let admin_url = std::env::var("CHATD_TEST_POSTGRES_URL").expect("a PostgreSQL server");
    let name = database_url.rsplit('/').next().expect("a database name");
    let mut admin = diesel::PgConnection::establish(&admin_url).expect("connect as admin");
    diesel::sql_query(format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS {}",
        !refuse
    ))
    .execute(&mut admin)
    .expect("alter the database");
    if refuse {
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut admin)
        .expect("terminate chatd's connections");
    }
}

#[tokio::test]
async fn postgres_cut_mid_stream_answers_503_and_the_reply_lands_once_it_is_back() {
    let Some(server) = crate::support::Backend::postgres() else {
        eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
        return;
    };
    server
        .run(async {
            let (upstream, text) = big_slow_reply(200).await;
            let args = upstream_args(&upstream);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let chatd = Daemon::start_with(&args).await;
            let url = chatd.postgres_url().expect("on PostgreSQL").to_string();
            let id = chatd.conversation().await;
            let stream = start_long_chat(&chatd, id).await;
            cut_postgres(&url, true);

            let (status, body) = chatd.post("/users/", json!({"username": "edgar"})).await;
            assert_eq!(status, 503, "{body}");
            assert_eq!(
                body["detail"],
                "The database server cannot be reached: try again shortly"
            );
            let (status, body) = chatd.get("/users/edgar").await;
            assert_eq!(status, 503, "reads too, never a 500: {body}");

            let end = end_event(&events_of(stream).await);
            assert_eq!(end["stored"], false, "{}", brief(&end));
            assert_eq!(end["status"], "complete", "{}", brief(&end));

            cut_postgres(&url, false);
            let (messages, took) = messages_once_stored(&chatd, id, 2).await;
            eprintln!("PostgreSQL back: stored in {} ms", took.as_millis());
            assert_eq!(messages.len(), 2, "{messages:?}");
            assert_eq!(messages[1]["content"].as_str(), Some(text.as_str()));
            assert_eq!(chatd.chat(id, "again").await.status(), 200);
        })
        .await;
}

/// The owner name chatd writes into the lease of a reply in flight.
fn lease_owner(chatd: &Daemon) -> Option<String> {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Owner {
        #[diesel(sql_type = Text)]
        owner: String,
    }
    let query = "SELECT owner FROM reply_checkpoints";
    let rows: Vec<Owner> = match chatd.postgres_url() {
        Some(url) => diesel::sql_query(query)
            .load(&mut diesel::PgConnection::establish(url).expect("connect"))
            .expect("read leases"),
        None => diesel::sql_query(query)
            .load(&mut crate::support::sql::sqlite_beside(&chatd.database()))
            .expect("read leases"),
    };
    rows.into_iter().next().map(|row| row.owner)
}

fn insert_lease(chatd: &Daemon, conversation_id: i64, user_message_id: i64, owner: &str) {
    let statement = format!(
        "INSERT INTO reply_checkpoints (conversation_id, user_message_id, owner, content, \
         updated_at) VALUES ({conversation_id}, {user_message_id}, '{owner}', '', \
         CURRENT_TIMESTAMP)"
    );
    // The shared helper's SQLite connection waits out chatd's write lock.
    crate::support::sql::execute(chatd, &statement);
}

/// A lease in this very process's name with no reply in memory behind it (what the
/// failed release of the old bug left) is stale at once: the next chat takes it over.
async fn a_lease_of_this_process_without_a_reply_heals_itself() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "100"]).await;
    let id = chatd.conversation().await;
    let response = chatd.chat(id, "one two three four").await;
    assert_eq!(response.status(), 200);
    let deadline = Instant::now() + WAIT;
    let owner = loop {
        if let Some(owner) = lease_owner(&chatd) {
            break owner;
        }
        assert!(Instant::now() < deadline, "the lease appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    response.text().await.expect("the reply");
    let stuck = chatd.conversation().await;
    let response = chatd.chat(stuck, "first").await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("the reply");
    let messages = chatd.wait_for_messages(stuck, 2).await;
    let user_message_id = messages[0]["id"].as_i64().expect("id");
    insert_lease(&chatd, stuck, user_message_id, &owner);

    let response = chatd.chat(stuck, "second").await;
    assert_eq!(response.status(), 200, "no 409 for a lease nobody holds");
    response.text().await.expect("the reply");
    let messages = chatd.wait_for_messages(stuck, 4).await;
    assert_eq!(messages[3]["content"], "second");
    let (_, status) = chatd.get("/status").await;
    assert_eq!(status["replies_in_flight"], 0);
}

crate::on_both_backends!(a_lease_of_this_process_without_a_reply_heals_itself);
