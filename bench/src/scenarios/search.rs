//! Full-text search over a million messages (goal: p99 under 50 ms): one user's
//! 10,000 conversations of 100 messages each, with text drawn from a 5,000-word
//! vocabulary whose word frequencies fall off like a natural language's (the rank-r word
//! about 1/r as often as the first), and a Chinese sentence in one message in twenty.
//! Each kind of query is asked one at a time (latency, not throughput) after a warm-up;
//! the table gives the p50 and p99 of each kind and the p99 of them all together, and
//! the size of the index on disk, and how long seeding took.
//!
//! The same scenario runs on SQLite (the full run, or `chatd-bench search`) and on
//! PostgreSQL (`chatd-bench search --postgres URL`, which creates and drops a database
//! of its own on that server).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use http_body_util::BodyExt;
use hyper::Method;

use crate::harness::{Env, progress};
use crate::load::{self, Samples};
use crate::report::{Table, mb, ms};
use crate::seed::BENCH_USER_ID;

/// Conversations of the searched user, and messages in each.
const CONVERSATIONS: i64 = 10_000;
/// Words of the vocabulary.
const VOCABULARY: usize = 5_000;
/// Rows per INSERT statement while seeding.
const ROWS_PER_INSERT: usize = 1_000;
/// One in this many messages also holds a Chinese sentence.
const CHINESE_EVERY: u64 = 20;
const CHINESE: [&str; 6] = [
    "数据库的全文检索需要索引",
    "我们明天去京都看寺庙",
    "这个模型的回答很有意思",
    "请把这段代码翻译成中文",
    "今天的天气非常好",
    "机器学习和自然语言处理",
];
/// Timed requests of each query kind, after `WARMUP` untimed ones; a kind stops early
/// after `BUDGET` of timed requests (at least `MIN_ROUNDS`), so that a slow kind still
/// lets the scenario end.
const ROUNDS: usize = 200;
const MIN_ROUNDS: usize = 20;
const BUDGET: Duration = Duration::from_secs(15);
const WARMUP: usize = 10;
const GOAL_MS: f64 = 50.0;

/// Which database the scenario seeds and searches.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The file to create.
    Sqlite(PathBuf),
    /// A server URL whose user may create databases; the scenario makes its own.
    Postgres(String),
}

/// A deterministic generator (xorshift64*): the same database on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A vocabulary rank, log-uniform: rank r about 1/r as often as rank 0.
    fn rank(&mut self) -> usize {
        let r = (self.unit() * (VOCABULARY as f64).ln()).exp() as usize;
        r.saturating_sub(1).min(VOCABULARY - 1)
    }
}

/// The `rank`-th word: two to four syllables, every rank a different word.
fn word(rank: usize) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ren", "sa", "tu", "vo", "zel", "pra", "quo", "ni", "bar", "te", "dor",
        "fi", "gus", "ha", "jun", "wex", "yol", "cri", "ost", "ume", "eth",
    ];
    let n = SYLLABLES.len();
    let mut word = String::new();
    let mut k = rank + n;
    while k > 0 {
        word.push_str(SYLLABLES[k % n]);
        k /= n;
    }
    word
}

/// Message `i`'s text: 8 to 30 words, and now and then a Chinese sentence.
fn content(rng: &mut Rng, i: u64, words: &[String]) -> String {
    let count = 8 + (rng.next() % 23) as usize;
    let mut text = String::with_capacity(count * 8);
    for w in 0..count {
        if w > 0 {
            text.push(' ');
        }
        text.push_str(&words[rng.rank()]);
    }
    if i.is_multiple_of(CHINESE_EVERY) {
        text.push(' ');
        text.push_str(CHINESE[(i / CHINESE_EVERY) as usize % CHINESE.len()]);
    }
    text
}

/// The rows to insert, in statements of `ROWS_PER_INSERT`, handed to `each`.
fn seed_statements(
    messages_each: i64,
    mut each: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let words: Vec<String> = (0..VOCABULARY).map(word).collect();
    each(&format!(
        "INSERT INTO users (id, username, email, created_at) \
         VALUES ({BENCH_USER_ID}, 'bench', NULL, '2025-01-01 00:00:00')"
    ))?;
    for chunk in (1..=CONVERSATIONS)
        .collect::<Vec<_>>()
        .chunks(ROWS_PER_INSERT)
    {
        let values: Vec<String> = chunk
            .iter()
            .map(|id| {
                format!("({id}, {BENCH_USER_ID}, 'conversation {id}', '2025-01-01 00:00:00')")
            })
            .collect();
        each(&format!(
            "INSERT INTO conversations (id, user_id, name, created_at) VALUES {}",
            values.join(", ")
        ))?;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let total = CONVERSATIONS as u64 * messages_each as u64;
    let mut values = Vec::with_capacity(ROWS_PER_INSERT);
    for i in 0..total {
        let conversation = 1 + i % CONVERSATIONS as u64;
        let role = if (i / CONVERSATIONS as u64).is_multiple_of(2) {
            "user"
        } else {
            "assistant"
        };
        // A conversation's messages a minute apart, the conversations spread over
        // the year, so `after:` has a range to cut.
        let seconds = (i % CONVERSATIONS as u64) * 3_000 + (i / CONVERSATIONS as u64) * 60;
        let text = content(&mut rng, i, &words).replace('\'', "''");
        values.push(format!(
            "({conversation}, '{role}', '{text}', 'complete', {})",
            time_literal(seconds)
        ));
        if values.len() == ROWS_PER_INSERT || i + 1 == total {
            each(&format!(
                "INSERT INTO messages (conversation_id, role, content, status, created_at) \
                 VALUES {}",
                values.join(", ")
            ))?;
            values.clear();
        }
    }
    each(crate::seed::LINE)
}

/// 2025-01-01 plus `seconds`, as a literal both backends read as a timestamp.
fn time_literal(seconds: u64) -> String {
    let days_in_month = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = seconds / 86_400;
    let rest = seconds % 86_400;
    let mut year = 2025;
    let mut month = 0;
    loop {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let length = days_in_month[month] + u64::from(month == 1 && leap);
        if day < length {
            break;
        }
        day -= length;
        month += 1;
        if month == 12 {
            month = 0;
            year += 1;
        }
    }
    format!(
        "'{year}-{:02}-{:02} {:02}:{:02}:{:02}'",
        month + 1,
        day + 1,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct NamedSize {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// Creates the database with chatd's own store (its migrations, its index), seeds it
/// and returns what chatd's `--database` takes, with the index size in bytes.
fn seed(backend: &Backend, messages_each: i64) -> anyhow::Result<(String, String, i64)> {
    match backend {
        Backend::Sqlite(path) => {
            let location = chatd::store::Location::Sqlite(path.to_path_buf());
            drop(chatd::store::Store::open(&location, 1)?);
            let url = path.to_string_lossy().into_owned();
            let mut conn = SqliteConnection::establish(&url)?;
            conn.batch_execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF;")?;
            conn.transaction::<_, anyhow::Error, _>(|conn| {
                seed_statements(messages_each, |sql| Ok(conn.batch_execute(sql)?))
            })?;
            // The insert trigger only queued the messages, which chatd's writer would
            // index in rounds of 2,000 while idle (store/sqlite.rs): six minutes for a
            // million on this machine, a third of the whole run, for a figure no goal
            // asks for. FTS5 builds both indexes from the same view in one pass each,
            // as the migration that made them does; the queue is then empty.
            conn.batch_execute(
                "BEGIN; \
                 INSERT INTO messages_fts (messages_fts) VALUES ('rebuild'); \
                 INSERT INTO messages_words (messages_words) VALUES ('rebuild'); \
                 DELETE FROM messages_unindexed; \
                 COMMIT;",
            )?;
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
            // The FTS5 tables' shadow tables are the whole index (external content: no
            // copy of the text).
            let size: Size = diesel::sql_query(
                "SELECT CAST(SUM(pgsize) AS BIGINT) AS bytes FROM dbstat \
                 WHERE name LIKE 'messages_fts%' OR name LIKE 'messages_words%'",
            )
            .get_result(&mut conn)
            .or_else(|_| sqlite_index_size(path))?;
            let parts: Vec<String> = diesel::sql_query(
                "SELECT CASE WHEN name LIKE 'messages_fts%' THEN 'trigrams' ELSE 'words' END \
                 AS name, CAST(SUM(pgsize) AS BIGINT) AS bytes FROM dbstat \
                 WHERE name LIKE 'messages_fts%' OR name LIKE 'messages_words%' GROUP BY 1",
            )
            .load::<NamedSize>(&mut conn)
            .map(|rows| {
                rows.into_iter()
                    .map(|row| format!("{} {}", row.name, mb(row.bytes.max(0) as u64 / 1024)))
                    .collect()
            })
            .unwrap_or_default();
            Ok((
                url,
                format!("FTS5 trigrams + words ({})", parts.join(", ")),
                size.bytes,
            ))
        }
        Backend::Postgres(server) => {
            let url = postgres_database(server, true)?;
            let location = chatd::store::Location::Postgres(url.clone());
            drop(chatd::store::Store::open(&location, 1)?);
            let mut conn = PgConnection::establish(&url)?;
            conn.transaction::<_, anyhow::Error, _>(|conn| {
                seed_statements(messages_each, |sql| Ok(conn.batch_execute(sql)?))
            })?;
            // Every table: without statistics of `conversations` the planner takes the
            // user for a small one and loops over the conversations.
            conn.batch_execute("ANALYZE")?;
            let size: Size = diesel::sql_query(
                "SELECT (pg_relation_size('messages_content_search') \
                  + pg_relation_size('messages_content_trigrams') \
                  + (SELECT COALESCE(SUM(pg_column_size(content_search)), 0) FROM messages) \
                 )::BIGINT AS bytes",
            )
            .get_result(&mut conn)?;
            Ok((
                url,
                "GIN tsvector + GIN pg_trgm + the tsvector column".into(),
                size.bytes,
            ))
        }
    }
}

/// Without SQLite's `dbstat` table: the file's size less that of a copy without the
/// index.
fn sqlite_index_size(path: &Path) -> anyhow::Result<Size> {
    let copy = path.with_extension("noindex.db");
    std::fs::copy(path, &copy)?;
    let url = copy.to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&url)?;
    conn.batch_execute(
        "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete; \
         DROP TRIGGER messages_fts_update; DROP TABLE messages_fts_terms; \
         DROP TABLE messages_fts; DROP TABLE messages_words; VACUUM;",
    )?;
    drop(conn);
    let with = std::fs::metadata(path)?.len() as i64;
    let without = std::fs::metadata(&copy)?.len() as i64;
    let _ = std::fs::remove_file(&copy);
    Ok(Size {
        bytes: with - without,
    })
}

/// The URL of the scenario's own database on `server`, created afresh (`create`) or
/// dropped.
fn postgres_database(server: &str, create: bool) -> anyhow::Result<String> {
    scenario_database(server, "chatd_bench_search", create)
}

/// The URL of a scenario's database `name` on the PostgreSQL `server`, created afresh
/// (`create`) or dropped.
pub fn scenario_database(server: &str, name: &str, create: bool) -> anyhow::Result<String> {
    let base = server
        .rsplit_once('/')
        .map(|(base, _)| base)
        .context("a PostgreSQL URL ends with /DATABASE")?;
    let mut admin = PgConnection::establish(server)
        .with_context(|| format!("could not connect to {base}/…"))?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    if create {
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
    }
    Ok(format!("{base}/{name}"))
}

/// The queries asked, by kind: what each kind tests.
fn queries(words: &dyn Fn(usize) -> String) -> Vec<(&'static str, String)> {
    vec![
        ("a rare word (rank 3000)", words(3000)),
        ("a middling word (rank 100)", words(100)),
        ("a frequent word (rank 3)", words(3)),
        ("two words", format!("{} {}", words(40), words(700))),
        ("a phrase", format!("\"{} {}\"", words(5), words(9))),
        (
            "a word, one excluded",
            format!("{} -{}", words(200), words(2)),
        ),
        ("role:user and a word", format!("role:user {}", words(150))),
        (
            "after: a date and a word",
            format!("after:2025-03-01 {}", words(60)),
        ),
        ("Chinese, 2 characters", "京都".into()),
        ("Chinese, 2 characters, in no message", "猫狗".into()),
        ("Chinese, 3 characters", "数据库".into()),
        ("Chinese, 4 characters", "全文检索".into()),
        ("no match", "qqqxqqq".into()),
        (
            "part of a word (no whole word: substrings)",
            words(3000)[1..].to_string(),
        ),
    ]
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Seeds the database, starts chatd on it and times every kind of query.
pub async fn measure(
    env: &Env,
    backend: Backend,
    messages_each: i64,
    table: &mut Table,
) -> anyhow::Result<()> {
    let label = match backend {
        Backend::Sqlite(_) => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    let messages = CONVERSATIONS * messages_each;
    let seeding = Instant::now();
    progress(&format!("search ({label}): seeding {messages} messages"));
    let seeding_backend = backend.clone();
    let (database, index_kind, index_bytes) =
        tokio::task::spawn_blocking(move || seed(&seeding_backend, messages_each)).await??;
    let seeded = seeding.elapsed().as_secs_f64();
    progress(&format!("search ({label}): seeded in {seeded:.1} s"));
    let scenario = format!("search, {label}, {messages} messages of one user");
    table.info(
        &scenario,
        "seeding (bulk INSERTs in one transaction; on SQLite then both FTS5 indexes rebuilt)",
        format!("{seeded:.1} s"),
    );
    table.info(
        &scenario,
        &format!("index size: {index_kind}"),
        mb(index_bytes.max(0) as u64 / 1024),
    );
    let chatd = env
        .chatd(Path::new(&database), &[], &format!("search-{label}"))
        .await?;
    let mut all = Samples::default();
    let mut connection = load::connect(chatd.addr).await?;
    for (kind, query) in queries(&word) {
        let path = format!(
            "/api/v1/users/{BENCH_USER_ID}/search?q={}&limit=20",
            encode(&query)
        );
        let mut samples = Samples::default();
        let mut hits = 0;
        let mut timed = Duration::ZERO;
        let mut rounds = 0;
        for round in 0..WARMUP + ROUNDS {
            if round >= WARMUP + MIN_ROUNDS && timed >= BUDGET {
                break;
            }
            // hyper's connection takes the next request only once it says it is ready.
            connection.ready().await?;
            let started = Instant::now();
            let response = tokio::time::timeout(
                Duration::from_secs(30),
                connection.send_request(load::request(chatd.addr, Method::GET, &path, None)),
            )
            .await
            .context("no answer within 30 s")??;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            let took = started.elapsed();
            if status != 200 {
                bail!("chatd answered {status} to GET {path}");
            }
            if round == 0 {
                hits = serde_json::from_slice::<serde_json::Value>(&body)?
                    .as_array()
                    .map_or(0, Vec::len);
            }
            if round >= WARMUP {
                samples.push(took);
                timed += took;
                rounds += 1;
            }
        }
        samples.sort();
        table.info(
            &scenario,
            &format!("{kind}: `{query}` ({hits} hits), p50 / p99 of {rounds}"),
            format!("{} / {}", ms(samples.pct_ms(50)), ms(samples.pct_ms(99))),
        );
        all.extend(samples);
    }
    all.sort();
    let p99 = all.pct_ms(99);
    table.check(
        &scenario,
        "p99 of every query above, one at a time",
        "< 50 ms",
        ms(p99),
        String::new(),
        p99 < GOAL_MS,
    );
    drop(connection);
    chatd.stop().await;
    if let Backend::Postgres(server) = backend {
        tokio::task::spawn_blocking(move || postgres_database(&server, false)).await??;
    }
    Ok(())
}
