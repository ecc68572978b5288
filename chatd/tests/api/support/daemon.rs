//! One chatd process of a test: started isolated on an ephemeral port, and the
//! requests tests send it.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::postgres::{Backend, PgDatabase};
use super::{WAIT, read_json, unique};

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
        Daemon::start_sqlite_in_with_env(dir, args, &[]).await
    }

    /// The same, with extra environment variables.
    pub async fn start_sqlite_in_with_env(
        dir: Arc<tempfile::TempDir>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Daemon::spawn(dir, args, env, None).await
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
                let mut conn = super::sql::sqlite_beside(&self.database());
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
        let mut conn = super::sql::sqlite_beside(&self.database());
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

    /// The chatd process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
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

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("PATCH");
        read_json(response).await
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
