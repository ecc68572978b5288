//! Test support: the real chatd binary on an ephemeral loopback port with a temporary
//! SQLite file, an HTTP client for it, a spec-conforming SSE reader, and a fake
//! OpenAI-compatible upstream that speaks the real chunk format with configurable
//! delays, errors and early closes. Everything talks to 127.0.0.1 only, and every wait
//! is bounded.

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use warp::Filter;

/// Runs each named test (an `async fn NAME()` in the same module) once per backend:
/// `NAME::sqlite` always, `NAME::postgres` when `CHATD_TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    $crate::support::Backend::Sqlite.run(super::$name()).await
                }

                #[tokio::test]
                async fn postgres() {
                    match $crate::support::Backend::postgres() {
                        Some(backend) => backend.run(super::$name()).await,
                        None => eprintln!(
                            "skipped {}::postgres: CHATD_TEST_POSTGRES_URL is not set",
                            module_path!()
                        ),
                    }
                }
            }
        )*
    };
}

/// The database backend a test's daemons use.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of a PostgreSQL that tests may create databases on.
    Postgres(String),
}

tokio::task_local! {
    static BACKEND: Backend;
}

impl Backend {
    /// PostgreSQL when `CHATD_TEST_POSTGRES_URL` names a server (as atuin does).
    pub fn postgres() -> Option<Backend> {
        std::env::var("CHATD_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .map(Backend::Postgres)
    }

    pub async fn run(self, test: impl std::future::Future<Output = ()>) {
        BACKEND.scope(self, test).await
    }

    fn current() -> Backend {
        BACKEND.try_with(Clone::clone).unwrap_or(Backend::Sqlite)
    }
}

/// A PostgreSQL database of one test, dropped with it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    fn create(server_url: &str) -> PgDatabase {
        use diesel::prelude::*;
        let name = format!("chatd_test_{}_{}", std::process::id(), unique());
        let mut admin = diesel::PgConnection::establish(server_url).unwrap_or_else(|e| {
            panic!("CHATD_TEST_POSTGRES_URL is set but {server_url} cannot be reached: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create a test database");
        let (without_query, _) = server_url.split_once('?').unwrap_or((server_url, ""));
        let base = match without_query.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('/') {
                Some((authority, _)) => format!("{scheme}://{authority}"),
                None => without_query.to_string(),
            },
            None => panic!("CHATD_TEST_POSTGRES_URL is not a URL: {server_url}"),
        };
        PgDatabase {
            admin_url: server_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::prelude::*;
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running chatd with its own data directory.
pub struct Daemon {
    pub base: String,
    pub client: reqwest::Client,
    child: Child,
    dir: Arc<tempfile::TempDir>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Declared last: dropped after the child is killed.
    pg: Option<Arc<PgDatabase>>,
}

impl Daemon {
    /// chatd on the echo provider.
    pub async fn start() -> Daemon {
        Daemon::start_with(&[]).await
    }

    pub async fn start_with(args: &[&str]) -> Daemon {
        Daemon::start_with_env(args, &[]).await
    }

    /// chatd on its own SQLite file, whatever backend the test runs on.
    pub async fn start_sqlite(args: &[&str]) -> Daemon {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Daemon::spawn(dir, args, Vec::new(), None).await
    }

    /// chatd on a SQLite file in `dir`, which the caller prepared (e.g. mounted a small
    /// file system on it).
    pub async fn start_sqlite_in(dir: Arc<tempfile::TempDir>, args: &[&str]) -> Daemon {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Daemon::spawn(dir, args, Vec::new(), None).await
    }

    /// The URL of this chatd's PostgreSQL database, `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|db| db.url.as_str())
    }

    /// A second chatd process on this one's database (its own data directory).
    pub async fn another_on_same_database(&self, args: &[&str]) -> Daemon {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if self.pg.is_none() {
            args.push("--database".into());
            args.push(self.database().display().to_string());
        }
        Daemon::spawn(dir, args, Vec::new(), self.pg.clone()).await
    }

    /// chatd with extra arguments and environment variables.
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pg = match Backend::current() {
            Backend::Sqlite => None,
            Backend::Postgres(server) => Some(Arc::new(PgDatabase::create(&server))),
        };
        Daemon::spawn(dir, args, env, pg).await
    }

    async fn spawn(
        dir: Arc<tempfile::TempDir>,
        args: Vec<String>,
        env: Vec<(String, String)>,
        pg: Option<Arc<PgDatabase>>,
    ) -> Daemon {
        let database: std::ffi::OsString = match &pg {
            Some(db) => db.url.clone().into(),
            None => dir.path().join("chat.db").into(),
        };
        // Never read the developer's own configuration, data or provider key.
        let mut command = Command::from(testkit::isolated(env!("CARGO_BIN_EXE_chatd"), dir.path()));
        if !args.iter().any(|a| a == "--listen") {
            command.arg("--listen").arg("127.0.0.1:0");
        }
        if !args.iter().any(|a| a == "--database") {
            command.arg("--database").arg(&database);
        }
        let mut child = command
            .args(&args)
            .env("CHATD_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start chatd");
        let stdout = child.stdout.take().expect("chatd stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("chatd announced its address in time")
            .expect("read chatd stdout")
            .expect("chatd printed a line");
        // A wildcard bind is still reached over loopback.
        let base = line
            .strip_prefix("chatd listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .replace("http://0.0.0.0:", "http://127.0.0.1:");
        // Keep reading stdout so chatd never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Daemon {
            base,
            client: reqwest::Client::new(),
            child,
            dir,
            args,
            env,
            pg,
        }
    }

    /// Kills chatd with SIGKILL, as a crash or the OOM killer would.
    pub async fn kill_hard(&mut self) {
        self.child.start_kill().expect("send SIGKILL");
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("chatd died in time")
            .expect("wait for chatd");
    }

    /// Row counts of users, conversations and messages, read from the database directly.
    pub fn row_counts(&self) -> (i64, i64, i64) {
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;
        macro_rules! count {
            ($conn:expr, $table:literal) => {
                diesel::select(diesel::dsl::sql::<BigInt>(concat!(
                    "(SELECT count(*) FROM ",
                    $table,
                    ")"
                )))
                .get_result::<i64>($conn)
                .expect("count rows")
            };
        }
        match &self.pg {
            Some(db) => {
                let mut conn = diesel::PgConnection::establish(&db.url).expect("open the database");
                (
                    count!(&mut conn, "users"),
                    count!(&mut conn, "conversations"),
                    count!(&mut conn, "messages"),
                )
            }
            None => {
                let path = self.database();
                let mut conn =
                    diesel::SqliteConnection::establish(path.to_str().expect("utf-8 path"))
                        .expect("open the database");
                (
                    count!(&mut conn, "users"),
                    count!(&mut conn, "conversations"),
                    count!(&mut conn, "messages"),
                )
            }
        }
    }

    /// The result of `PRAGMA integrity_check` on a SQLite file; `None` on PostgreSQL.
    pub fn integrity_check(&self) -> Option<String> {
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        if self.pg.is_some() {
            return None;
        }
        let path = self.database();
        let mut conn = diesel::SqliteConnection::establish(path.to_str().expect("utf-8 path"))
            .expect("open the database");
        Some(
            diesel::select(diesel::dsl::sql::<Text>(
                "(SELECT group_concat(integrity_check) FROM pragma_integrity_check)",
            ))
            .get_result(&mut conn)
            .expect("integrity check"),
        )
    }

    /// The database as chatd shows it in `/status`.
    pub fn database_shown(&self) -> String {
        match &self.pg {
            Some(db) => db.url.clone(),
            None => self.database().display().to_string(),
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("chat.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for chatd to exit; returns whether it exited cleanly.
    pub async fn terminate(&mut self) -> bool {
        let pid = self.child.id().expect("chatd is running");
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("chatd exited in time")
            .expect("wait for chatd");
        exit.success()
    }

    /// Stops this chatd and starts another on the same database file and arguments.
    pub async fn restart(mut self) -> Daemon {
        assert!(self.terminate().await, "chatd exited cleanly");
        Daemon::restart_stopped(self).await
    }

    /// Starts a new chatd on the files and arguments of one that has exited.
    pub async fn restart_stopped(mut self) -> Daemon {
        let dir = self.dir.clone();
        let args = std::mem::take(&mut self.args);
        let env = std::mem::take(&mut self.env);
        let pg = self.pg.clone();
        drop(self);
        Daemon::spawn(dir, args, env, pg).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("POST");
        read_json(response).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        read_json(request.send().await.expect("POST")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        read_json(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn create_user(&self, name: &str) -> i64 {
        let (status, body) = self.post("/users/", json!({ "username": name })).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_i64().expect("user id")
    }

    pub async fn create_conversation(&self, user_id: i64) -> i64 {
        let (status, body) = self
            .post("/conversations/", json!({ "user_id": user_id }))
            .await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_i64().expect("conversation id")
    }

    /// A new user with one conversation; returns the conversation id.
    pub async fn conversation(&self) -> i64 {
        let user = self.create_user(&format!("user-{}", unique())).await;
        self.create_conversation(user).await
    }

    pub async fn chat(&self, conversation_id: i64, message: &str) -> reqwest::Response {
        self.client
            .post(self.url("/chat"))
            .json(&json!({ "conversation_id": conversation_id, "message": message }))
            .send()
            .await
            .expect("POST /chat")
    }

    pub async fn chat_with_events(&self, conversation_id: i64, message: &str) -> reqwest::Response {
        self.client
            .post(self.url("/chat?events=true"))
            .json(&json!({ "conversation_id": conversation_id, "message": message }))
            .send()
            .await
            .expect("POST /chat?events=true")
    }

    /// The messages of a conversation with their status (extension endpoint).
    pub async fn messages(&self, conversation_id: i64) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/conversations/{conversation_id}/messages"))
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().expect("a list").clone()
    }

    /// Waits until the conversation holds `count` messages; returns them.
    pub async fn wait_for_messages(&self, conversation_id: i64, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let messages = self.messages(conversation_id).await;
            if messages.len() >= count {
                return messages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "conversation {conversation_id} still has {} of {count} messages",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn read_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

/// A number no other caller in this process gets.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One event as a spec-conforming parser reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Reads a whole SSE response with eventsource-stream, which follows the WHATWG spec.
pub async fn read_events(response: reqwest::Response) -> Vec<SseEvent> {
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("stream ended in time")
        {
            None => return events,
            Some(Ok(event)) => events.push(SseEvent {
                event: event.event,
                data: event.data,
            }),
            Some(Err(e)) => panic!("bad event stream: {e}"),
        }
    }
}

/// Like `read_events`, but reads the whole body first and parses it in one piece: a
/// multi-megabyte line then costs one scan, where eventsource-stream rescans its buffer
/// on every chunk that does not end the line.
pub async fn read_events_at_once(response: reqwest::Response) -> Vec<SseEvent> {
    let body = tokio::time::timeout(WAIT, response.bytes())
        .await
        .expect("body read in time")
        .expect("read body");
    futures_util::stream::iter([Ok::<_, std::io::Error>(body)])
        .eventsource()
        .map(|event| {
            let event = event.expect("a valid event stream");
            SseEvent {
                event: event.event,
                data: event.data,
            }
        })
        .collect()
        .await
}

/// The concatenated data of the default (`message`) events: the reply text.
pub fn reply_text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| e.data.as_str())
        .collect()
}

/// How the fake upstream answers `POST /v1/chat/completions`.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// Streams `tokens` as chunks, `delay` apart, then a chunk with this
    /// `finish_reason` if there is one, then `[DONE]` if `done`, and closes.
    Stream {
        tokens: Vec<String>,
        delay: Duration,
        finish_reason: Option<&'static str>,
        done: bool,
    },
    /// Streams `tokens`, then an `error` object, then closes.
    ErrorAfter {
        tokens: Vec<String>,
        message: String,
    },
    /// Streams `tokens`, then stays silent with the connection open.
    StallAfter { tokens: Vec<String> },
    /// Answers with a status, a JSON body and optional headers.
    Status {
        code: u16,
        body: Value,
        retry_after: Option<u32>,
    },
    /// Sends the raw chunk data lines given, each as one SSE event, then `[DONE]`.
    RawChunks(Vec<String>),
    /// Answers 200 with this content type and body, whatever they are.
    Body {
        content_type: &'static str,
        body: String,
    },
    /// Sends these bytes as they are, each piece `delay` after the one before, then closes.
    Raw {
        pieces: Vec<String>,
        delay: Duration,
    },
    /// Streams `tokens`, then starts an event and never ends its line: 64 KiB pieces
    /// without a line break until chatd hangs up (or 256 MiB, so the test is bounded).
    EndlessLineAfter { tokens: Vec<String> },
}

impl Upstream {
    pub fn tokens(tokens: &[&str]) -> Upstream {
        Upstream::Stream {
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            delay: Duration::ZERO,
            finish_reason: Some("stop"),
            done: true,
        }
    }
}

/// What the fake upstream was sent: the `Authorization` header and the JSON body.
pub type Recorded = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A fake OpenAI-compatible server on 127.0.0.1 that records what it was sent.
pub struct FakeUpstream {
    pub base_url: String,
    pub requests: Recorded,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn chunk(content: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
}

fn sse(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

impl FakeUpstream {
    pub async fn start(behaviour: Upstream) -> FakeUpstream {
        let requests: Recorded = Arc::default();
        let recorded = requests.clone();
        let route = warp::post()
            .and(warp::path!("v1" / "chat" / "completions"))
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::json())
            .map(move |auth: Option<String>, body: Value| {
                recorded.lock().expect("requests lock").push((auth, body));
                respond(behaviour.clone())
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(route)
                .incoming(listener)
                .graceful(async {
                    let _ = stopped.await;
                })
                .run(),
        );
        FakeUpstream {
            base_url: format!("http://{addr}/v1"),
            requests,
            stop: Some(stop),
        }
    }

    /// The JSON bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .expect("requests lock")
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.requests
            .lock()
            .expect("requests lock")
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }
}

fn respond(behaviour: Upstream) -> warp::reply::Response {
    use warp::Reply;
    if let Upstream::Status {
        code,
        body,
        retry_after,
    } = &behaviour
    {
        let mut response = warp::reply::with_status(
            warp::reply::json(body),
            warp::http::StatusCode::from_u16(*code).expect("status code"),
        )
        .into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().expect("header"));
        }
        return response;
    }
    if let Upstream::Body { content_type, body } = &behaviour {
        let mut response = warp::reply::Response::new(body.clone().into());
        response
            .headers_mut()
            .insert("content-type", content_type.parse().expect("header"));
        return response;
    }
    let (frames, mut receiver) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    tokio::spawn(async move {
        // A role-only chunk first, as real servers send.
        let role = json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}).to_string();
        if frames.send(Ok(sse(&role))).await.is_err() {
            return;
        }
        match behaviour {
            Upstream::Stream {
                tokens,
                delay,
                finish_reason,
                done,
            } => {
                for token in tokens {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if frames.send(Ok(sse(&chunk(&token)))).await.is_err() {
                        return;
                    }
                }
                if let Some(reason) = finish_reason {
                    let last =
                        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
                    let _ = frames.send(Ok(sse(&last.to_string()))).await;
                }
                if done {
                    let _ = frames.send(Ok(sse("[DONE]"))).await;
                }
            }
            Upstream::ErrorAfter { tokens, message } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                let error = json!({"error": {"message": message, "type": "server_error"}});
                let _ = frames.send(Ok(sse(&error.to_string()))).await;
            }
            Upstream::StallAfter { tokens } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                // Hold the connection open, silent, until chatd gives up on it.
                frames.closed().await;
            }
            Upstream::RawChunks(lines) => {
                for line in lines {
                    let _ = frames.send(Ok(sse(&line))).await;
                }
                let _ = frames.send(Ok(sse("[DONE]"))).await;
            }
            Upstream::Raw { pieces, delay } => {
                for piece in pieces {
                    tokio::time::sleep(delay).await;
                    if frames.send(Ok(Bytes::from(piece))).await.is_err() {
                        return;
                    }
                }
            }
            Upstream::EndlessLineAfter { tokens } => {
                for token in tokens {
                    let _ = frames.send(Ok(sse(&chunk(&token)))).await;
                }
                let piece = Bytes::from(vec![b'x'; 64 << 10]);
                let _ = frames.send(Ok(Bytes::from_static(b"data: "))).await;
                for _ in 0..(256 << 20) / piece.len() {
                    if frames.send(Ok(piece.clone())).await.is_err() {
                        return;
                    }
                }
            }
            Upstream::Status { .. } | Upstream::Body { .. } => {}
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    let mut response = warp::reply::stream(body).into_response();
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().expect("header"));
    response
}

/// chatd pointed at a fake upstream, with a short idle timeout.
pub async fn daemon_for(upstream: &FakeUpstream, extra: &[&str]) -> Daemon {
    let mut args = vec![
        "--provider",
        "openai",
        "--openai-base-url",
        upstream.base_url.as_str(),
        "--model",
        "fake-model",
        "--idle-timeout-secs",
        "2",
        "--connect-timeout-secs",
        "2",
    ];
    args.extend_from_slice(extra);
    Daemon::start_with(&args).await
}

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
