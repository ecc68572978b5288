//! What a full run measures, in the order of the table: start-up (`startup`), REST on a
//! small and on a large database against the in-memory reference (`rest`, with
//! `chatctl` end to end in between), `POST /chat` throughput (`chat`) and concurrent
//! streams (`streams`), whether memory comes back after slow clients (`memory`, also
//! runnable alone), the same REST, chat and stream loads on PostgreSQL with one and two
//! chatd processes (`postgres`), the OpenAI front door's history match at a million
//! messages (`front_door`, also runnable alone) and full-text search over a million
//! messages (`search`). `run` seeds the databases, calls each in turn and prints the
//! table (`--repeat N`: the whole run N times, then medians and ranges); `Plan` says how
//! long and how large each part is.

pub mod chat;
pub mod chatctl;
pub mod front_door;
pub mod memory;
pub mod postgres;
pub mod relay;
pub mod rest;
pub mod search;
pub mod startup;
pub mod streams;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::harness::{Env, build_binaries, load_average, machine, progress, started};
use crate::process;
use crate::report::{Table, combine};
use crate::seed;

/// How long each phase of a run lasts; every load loop is also bounded in count.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: Duration,
    pub rest: Duration,
    pub rest_max: usize,
    pub connections: usize,
    pub chat: Duration,
    pub chat_streams: usize,
    pub concurrent_streams: usize,
    /// Smaller stream counts measured first, to show where added latency starts.
    pub stream_ladder: &'static [usize],
    pub bulk_conversations: i64,
    pub bulk_messages_each: i64,
    pub startups: usize,
    pub chatctl_runs: usize,
    /// Messages in each of the search scenario's 10,000 conversations.
    pub search_messages_each: i64,
    /// Concurrent streams of the PostgreSQL scenario.
    pub postgres_streams: usize,
}

/// What a full run does besides its plan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whole runs, whose figures are then combined into medians and ranges.
    pub repeat: usize,
    /// The PostgreSQL server of the PostgreSQL scenario, `None` to leave it out.
    pub postgres: Option<String>,
}

/// The goals' run: `cargo run --release -p chatd-bench`.
pub const FULL: Plan = Plan {
    warmup: Duration::from_millis(500),
    rest: Duration::from_secs(4),
    rest_max: 2_000_000,
    connections: 64,
    chat: Duration::from_secs(5),
    chat_streams: 64,
    concurrent_streams: 10_000,
    stream_ladder: &[1_000, 2_500, 5_000],
    bulk_conversations: 10_000,
    bulk_messages_each: 100,
    startups: 7,
    chatctl_runs: 21,
    search_messages_each: 100,
    postgres_streams: 1_000,
};

/// `--quick`: the same scenarios, shorter and smaller.
pub const QUICK: Plan = Plan {
    warmup: Duration::from_millis(200),
    rest: Duration::from_secs(1),
    rest_max: 500_000,
    connections: 64,
    chat: Duration::from_secs(1),
    chat_streams: 64,
    concurrent_streams: 1_000,
    stream_ladder: &[250],
    bulk_conversations: 10_000,
    bulk_messages_each: 10,
    startups: 3,
    chatctl_runs: 5,
    search_messages_each: 10,
    postgres_streams: 250,
};

/// Content chunks in every answer of the fake upstream.
pub const TOKENS: usize = 20;

/// Every scenario in turn on freshly seeded databases, `options.repeat` times, then the
/// table on stdout.
pub async fn run(plan: Plan, options: Options) -> anyhow::Result<()> {
    started();
    let release = build_binaries()?;
    let files = process::raise_open_files();
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let load_before = load_average();
    progress(&format!(
        "machine: {}; load average {load_before}; open files {files}",
        machine()
    ));
    let runs = options.repeat.max(1);
    let mut tables = Vec::with_capacity(runs);
    for round in 1..=runs {
        if runs > 1 {
            progress(&format!("run {round} of {runs}"));
        }
        // Each run in a directory of its own, removed after it: the databases of one
        // run take a few hundred MB.
        let env = Env {
            chatd: release.join("chatd"),
            chatctl: release.join("chatctl"),
            dir: temp.path().join(format!("run-{round}")),
        };
        std::fs::create_dir_all(&env.dir)?;
        let mut table = run_once(&env, plan, &options, files).await?;
        table.info(
            "machine",
            "load average (1, 5, 15 min) at the end of the run",
            load_average(),
        );
        tables.push(table);
        let _ = std::fs::remove_dir_all(&env.dir);
    }

    let load_after = load_average();
    println!("\nchatd-bench: {}", machine());
    println!("load average before: {load_before}; after: {load_after}");
    let table = if runs == 1 {
        tables.pop().unwrap_or_default()
    } else {
        println!(
            "{runs} runs: each figure is the median of the runs [lowest–highest]; a goal is \
             met only if met in every run"
        );
        combine(&tables)
    };
    println!("\n{}", table.render());
    Ok(())
}

/// One run of every scenario; its table.
async fn run_once(env: &Env, plan: Plan, options: &Options, files: u64) -> anyhow::Result<Table> {
    let small_db = env.dir.join("small.db");
    let scale_db = env.dir.join("scale.db");
    let chat_db = env.dir.join("chat.db");
    let seeding = Instant::now();
    seed::base(&small_db)?;
    seed::base(&scale_db)?;
    seed::bulk(&scale_db, plan.bulk_conversations, plan.bulk_messages_each)?;
    seed::base(&chat_db)?;
    seed::bulk(&chat_db, chat_conversations(plan), 0)?;
    for db in [&small_db, &scale_db, &chat_db] {
        seed::path_hashes(db).await?;
    }
    progress(&format!(
        "seeded the databases ({} messages in the large one) in {:.1} s",
        plan.bulk_conversations * plan.bulk_messages_each + 50,
        seeding.elapsed().as_secs_f64()
    ));

    let mut table = Table::default();
    let paths = rest::Paths::new();
    for (db, label) in [(&small_db, "small database"), (&scale_db, "1M messages")] {
        startup::measure(env, db, label, &paths.user, plan, &mut table).await?;
    }
    let small = rest::small_database(env, &small_db, &paths, plan, &mut table).await?;
    rest::large_database(env, &scale_db, &paths, &small, plan, &mut table).await?;
    let chats = chat::throughput(env, &chat_db, plan, &mut table).await?;
    let levels = streams::concurrent(env, &chat_db, plan, files, &mut table).await?;
    memory::never_read(env, &chat_db, &mut table).await?;
    let sqlite = postgres::SqliteFigures {
        chats_per_sec: chats,
        reads: small.iter().map(|(l, r)| (*l, r.per_sec())).collect(),
        levels,
    };
    match &options.postgres {
        Some(server) => postgres::measure(env, server, plan, &sqlite, &mut table).await?,
        None => table.info("PostgreSQL", "skipped", "--no-postgres was given".into()),
    }
    front_door::history_match(env, &mut table).await?;
    let search_db = search::Backend::Sqlite(env.dir.join("search.db"));
    search::measure(env, search_db, plan.search_messages_each, &mut table).await?;
    Ok(table)
}

/// Conversations seeded for the chat, stream and memory scenarios (ids 11 onwards).
pub fn chat_conversations(plan: Plan) -> i64 {
    plan.concurrent_streams
        .max(plan.chat_streams * 2)
        .max(memory::CLIENTS) as i64
}

/// Only the PostgreSQL scenario (`chatd-bench postgres`), then its table.
pub async fn postgres_only(server: String) -> anyhow::Result<()> {
    started();
    let release = build_binaries()?;
    process::raise_open_files();
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let env = Env {
        chatd: release.join("chatd"),
        chatctl: release.join("chatctl"),
        dir: temp.path().to_path_buf(),
    };
    let sqlite = postgres::SqliteFigures {
        chats_per_sec: f64::NAN,
        reads: Vec::new(),
        levels: Vec::new(),
    };
    let mut table = Table::default();
    postgres::measure(&env, &server, FULL, &sqlite, &mut table).await?;
    println!("\nchatd-bench: {}", machine());
    println!("load average: {}", load_average());
    println!("{}", table.render());
    Ok(())
}

/// Only the memory scenario (`chatd-bench memory`), with `chatd` instead of the
/// release build when given; then its table.
pub async fn memory_only(chatd: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    started();
    let release = build_binaries()?;
    process::raise_open_files();
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let env = Env {
        chatd: chatd.unwrap_or_else(|| release.join("chatd")),
        chatctl: release.join("chatctl"),
        dir: temp.path().to_path_buf(),
    };
    let database = env.dir.join("memory.db");
    seed::base(&database)?;
    seed::bulk(&database, memory::CLIENTS as i64, 0)?;
    seed::path_hashes(&database).await?;
    let mut table = Table::default();
    memory::never_read(&env, &database, &mut table).await?;
    println!(
        "\nchatd-bench: {}; chatd {}",
        machine(),
        env.chatd.display()
    );
    println!("load average: {}", load_average());
    println!("{}", table.render());
    Ok(())
}

/// Only the front door's scenario (`chatd-bench front-door`), then its table.
pub async fn front_door_only() -> anyhow::Result<()> {
    started();
    let release = build_binaries()?;
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let env = Env {
        chatd: release.join("chatd"),
        chatctl: release.join("chatctl"),
        dir: temp.path().to_path_buf(),
    };
    let mut table = Table::default();
    front_door::history_match(&env, &mut table).await?;
    println!("\nchatd-bench: {}", machine());
    println!("{}", table.render());
    Ok(())
}

/// The body of one `POST /chat` on `conversation`.
pub fn chat_body(conversation: i64) -> String {
    format!(r#"{{"conversation_id":{conversation},"message":"Why is the sky blue?"}}"#)
}

/// The request chatd would send the upstream for `chat_body`, for the upstream-alone runs.
pub fn upstream_body(_: i64) -> String {
    r#"{"model":"bench","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true}"#.into()
}

/// chatd's flags to relay from the fake upstream at `upstream`.
pub fn openai_flags(upstream: SocketAddr) -> Vec<String> {
    [
        "--provider",
        "openai",
        "--model",
        "bench",
        "--max-replies",
        "20000",
        "--openai-base-url",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("http://{upstream}/v1")])
    .collect()
}
