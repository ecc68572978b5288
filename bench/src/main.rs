//! `chatd-bench`: measures the release chatd against this machine's limit and prints
//! one Markdown table of figures, goals and verdicts (issue 5). Run it with
//! `cargo run --release -p chatd-bench`; it builds chatd and chatctl in release mode
//! itself, seeds temporary databases, starts every server as a child process on
//! 127.0.0.1 and removes everything when done. `--quick` runs a shorter smoke version
//! whose figures are not the goals' figures.
//!
//! The same executable also plays the helper servers, so that each runs in its own
//! process like chatd: `chatd-bench upstream TOKENS DELAY_MS` (the fake OpenAI-compatible
//! provider) and `chatd-bench reference DIR` (the in-memory warp server).

mod load;
mod process;
mod reference;
mod report;
mod seed;
mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use load::{Samples, StreamPlan};
use process::{RssWatch, Server};
use report::{Table, mb, ms, rate};

/// How long each phase of a run lasts; every load loop is also bounded in count.
#[derive(Debug, Clone, Copy)]
struct Plan {
    warmup: Duration,
    rest: Duration,
    rest_max: usize,
    connections: usize,
    chat: Duration,
    chat_streams: usize,
    concurrent_streams: usize,
    /// Smaller stream counts measured first, to show where added latency starts.
    stream_ladder: &'static [usize],
    bulk_conversations: i64,
    bulk_messages_each: i64,
    startups: usize,
    chatctl_runs: usize,
}

const FULL: Plan = Plan {
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
};

const QUICK: Plan = Plan {
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
};

fn main() -> ExitCode {
    // Before anything can rebuild this executable (see `own_executable`).
    let _ = process::own_executable();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("upstream") => helper_runtime(1).and_then(|rt| {
            let tokens = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(20);
            let delay = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
            rt.block_on(upstream::serve(tokens, Duration::from_millis(delay)))
        }),
        Some("reference") => helper_runtime(0).and_then(|rt| {
            let dir = PathBuf::from(args.get(1).cloned().unwrap_or_default());
            rt.block_on(reference::serve(&dir))
        }),
        Some("seed") => seed_only(&args[1..]),
        Some("rest") => helper_runtime(0).and_then(|rt| rt.block_on(rest_only(&args[1..]))),
        Some("streams") => helper_runtime(0).and_then(|rt| rt.block_on(streams_only(&args[1..]))),
        Some("-h" | "--help") => {
            println!(
                "usage: cargo run --release -p chatd-bench [-- --quick]\n\n\
                 One scenario at a time, for profiling a chatd started by hand:\n  \
                 chatd-bench seed DB [CONVERSATIONS MESSAGES_EACH]\n  \
                 chatd-bench rest ADDR PATH [SECONDS]\n  \
                 chatd-bench streams ADDR STREAMS [RAMP_MS]   (conversations 11..)"
            );
            Ok(())
        }
        Some("--quick") => main_runtime().and_then(|rt| rt.block_on(run(QUICK))),
        None => main_runtime().and_then(|rt| rt.block_on(run(FULL))),
        Some(other) => Err(anyhow::anyhow!("unknown argument {other:?}; try --help")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `seed DB [CONVERSATIONS MESSAGES_EACH]`: the benchmark database, for a chatd run by hand.
fn seed_only(args: &[String]) -> anyhow::Result<()> {
    let db = PathBuf::from(args.first().context("seed needs a database path")?);
    seed::base(&db)?;
    let conversations = number(args.get(1), 10_000)?;
    let each = number(args.get(2), 0)?;
    seed::bulk(&db, conversations as i64, each as i64)
}

fn number(arg: Option<&String>, default: u64) -> anyhow::Result<u64> {
    arg.map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{v:?} is not a number"))
    })
}

fn address(arg: Option<&String>) -> anyhow::Result<SocketAddr> {
    let text = arg.context("an address (127.0.0.1:PORT) is needed")?;
    text.parse()
        .with_context(|| format!("{text:?} is not an address"))
}

/// `rest ADDR PATH [SECONDS]`: one REST scenario against a running server.
async fn rest_only(args: &[String]) -> anyhow::Result<()> {
    let addr = address(args.first())?;
    let path = args.get(1).context("rest needs a path")?;
    let seconds = number(args.get(2), 4)?;
    let plan = Plan {
        rest: Duration::from_secs(seconds),
        ..FULL
    };
    let result = rest(addr, path, plan).await?;
    println!(
        "{} ok, {} errors: {}; p50 {} p99 {}",
        result.ok,
        result.errors,
        rate(result.per_sec()),
        ms(result.latency.pct_ms(50)),
        ms(result.latency.pct_ms(99))
    );
    Ok(())
}

/// `streams ADDR STREAMS [RAMP_MS]`: concurrent `POST /chat` streams on conversations
/// 11 onwards (seeded by `seed`), one each, against a running chatd.
async fn streams_only(args: &[String]) -> anyhow::Result<()> {
    let addr = address(args.first())?;
    let n = number(args.get(1), 1000)? as i64;
    let ramp = number(args.get(2), 1000)?;
    process::raise_open_files();
    let result = load::streams(
        addr,
        StreamPlan {
            path: "/api/v1/chat".into(),
            body: chat_body,
            tokens: TOKENS,
            conversations: (11..11 + n).collect(),
            per_task: 1,
            ramp: Duration::from_millis(ramp),
            duration: Duration::from_secs(30),
        },
    )
    .await;
    println!(
        "{} complete, {} errors ({:?}); ttft p50 {} p99 {}; gap p50 {} p99 {}",
        result.complete,
        result.errors,
        result.first_error,
        ms(result.ttft.pct_ms(50)),
        ms(result.ttft.pct_ms(99)),
        ms(result.gap.pct_ms(50)),
        ms(result.gap.pct_ms(99))
    );
    Ok(())
}

/// `workers` 0 means one per core, as chatd itself runs.
fn helper_runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    Ok(builder.enable_all().build()?)
}

fn main_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    helper_runtime(0)
}

fn progress(text: &str) {
    eprintln!("[{:>7.1} s] {text}", started().elapsed().as_secs_f64());
}

fn started() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Builds chatd and chatctl in release mode into this executable's target directory and
/// returns that directory.
fn build_binaries() -> anyhow::Result<PathBuf> {
    if cfg!(debug_assertions) {
        bail!("the load generator must be optimised: run `cargo run --release -p chatd-bench`");
    }
    let exe = process::own_executable()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("cannot find the harness's own executable: {e}"))?;
    let release = exe
        .parent()
        .context("the harness's executable has no directory")?
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    progress("building chatd and chatctl (release)");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "chatd",
            "-p",
            "chatctl",
            // Built together with the harness (already up to date), so cargo unifies
            // the same features and does not rebuild reqwest and chatd on every run.
            "-p",
            "chatd-bench",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", release.parent().unwrap_or(&release))
        .status()
        .context("could not run cargo")?;
    if !status.success() {
        bail!("building chatd and chatctl failed");
    }
    Ok(release)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split(':')
                    .nth(1)
                    .map(|s| s.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores, {cpu}, {:.1} GiB",
        mem as f64 / 1024.0 / 1024.0
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Everything a scenario needs to start chatd.
struct Env {
    chatd: PathBuf,
    chatctl: PathBuf,
    dir: PathBuf,
}

impl Env {
    async fn chatd(&self, database: &Path, extra: &[String], log: &str) -> anyhow::Result<Server> {
        process::chatd(&self.chatd, &self.dir, database, extra, log).await
    }
}

async fn run(plan: Plan) -> anyhow::Result<()> {
    started();
    let release = build_binaries()?;
    let files = process::raise_open_files();
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let env = Env {
        chatd: release.join("chatd"),
        chatctl: release.join("chatctl"),
        dir: temp.path().to_path_buf(),
    };
    let load_before = load_average();
    progress(&format!(
        "machine: {}; load average {load_before}; open files {files}",
        machine()
    ));

    let small_db = env.dir.join("small.db");
    let scale_db = env.dir.join("scale.db");
    let chat_db = env.dir.join("chat.db");
    let seeding = Instant::now();
    seed::base(&small_db)?;
    seed::base(&scale_db)?;
    seed::bulk(&scale_db, plan.bulk_conversations, plan.bulk_messages_each)?;
    seed::base(&chat_db)?;
    seed::bulk(
        &chat_db,
        plan.concurrent_streams.max(plan.chat_streams * 2) as i64,
        0,
    )?;
    progress(&format!(
        "seeded the databases ({} messages in the large one) in {:.1} s",
        plan.bulk_conversations * plan.bulk_messages_each + 50,
        seeding.elapsed().as_secs_f64()
    ));

    let mut table = Table::default();
    let paths = RestPaths::new();

    // Start-up on an existing database, small and large.
    for (db, label) in [(&small_db, "small database"), (&scale_db, "1M messages")] {
        let startup = startup(&env, db, &paths.user, plan.startups).await?;
        table.check(
            "start-up",
            &format!(
                "spawn to first answered GET /users/{{name}}, {label} (median of {})",
                plan.startups
            ),
            "< 100 ms",
            ms(startup.pct_ms(50)),
            String::new(),
            startup.pct_ms(50) < 100.0,
        );
    }

    // REST on the small database, against the in-memory reference.
    let chatd = env.chatd(&small_db, &[], "rest").await?;
    for path in paths.all() {
        let (status, _) = load::get(chatd.addr, path).await?;
        if status != 200 {
            bail!("chatd answered {status} to GET {path}");
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = process::status_kb(chatd.pid(), "VmRSS").unwrap_or(0);
    table.check(
        "idle",
        "chatd RSS after start-up and one request each",
        "< 20 MB",
        mb(idle),
        String::new(),
        idle < 20 * 1024,
    );

    let reference_dir = env.dir.join("reference");
    std::fs::create_dir_all(&reference_dir)?;
    for path in paths.all() {
        let (_, body) = load::get(chatd.addr, path).await?;
        std::fs::write(reference_dir.join(reference::file_name(path)), &body)?;
    }
    let reference =
        process::helper(&["reference".into(), reference_dir.display().to_string()]).await?;

    let watch = RssWatch::start(chatd.pid());
    let mut small = Vec::new();
    let mut reference_rates = Vec::new();
    for (label, path) in paths.labelled() {
        progress(&format!("REST {label}: chatd, then the reference"));
        let ours = rest(chatd.addr, path, plan).await?;
        let limit = rest(reference.addr, path, plan).await?;
        reference_rates.push((path, limit.per_sec()));
        let ratio = ours.per_sec() / limit.per_sec();
        let scenario = format!("GET {label}, {} connections", plan.connections);
        table.check(
            &scenario,
            "throughput (reference's in ratio)",
            ">= 50% of reference",
            format!("{} (ref {})", rate(ours.per_sec()), rate(limit.per_sec())),
            format!("{:.0}%", ratio * 100.0),
            ratio >= 0.5,
        );
        table.check(
            &scenario,
            "latency p50 / p99",
            "p99 < 5 ms",
            format!(
                "{} / {}",
                ms(ours.latency.pct_ms(50)),
                ms(ours.latency.pct_ms(99))
            ),
            format!("ref p99 {}", ms(limit.latency.pct_ms(99))),
            ours.latency.pct_ms(99) < 5.0 && ours.errors == 0,
        );
        if ours.errors > 0 {
            table.info(
                &scenario,
                "errors",
                format!(
                    "{} ({})",
                    ours.errors,
                    ours.first_error.clone().unwrap_or_default()
                ),
            );
        }
        small.push((label, ours));
    }
    let peak = watch.finish().await;
    table.info("REST, small database", "chatd peak RSS", mb(peak));

    // The conversation read again with nothing kept rendered: every read renders all
    // 50 messages, as a first read of each conversation does.
    let uncached = env
        .chatd(
            &small_db,
            &["--rendered-cache-mb".into(), "0".into()],
            "rest-uncached",
        )
        .await?;
    progress("REST /conversations/{id} with --rendered-cache-mb 0");
    let cold = rest(uncached.addr, &paths.conversation, plan).await?;
    uncached.stop().await;
    let reference_rate = reference_rates
        .iter()
        .find(|(path, _)| **path == paths.conversation)
        .map_or(f64::NAN, |(_, rate)| *rate);
    table.info(
        &format!(
            "GET /conversations/{{id}} (50 messages), {} connections, --rendered-cache-mb 0",
            plan.connections
        ),
        "throughput (share of reference); latency p50 / p99",
        format!(
            "{} ({:.0}%); {} / {}",
            rate(cold.per_sec()),
            cold.per_sec() / reference_rate * 100.0,
            ms(cold.latency.pct_ms(50)),
            ms(cold.latency.pct_ms(99))
        ),
    );

    let chatctl = chatctl_list(&env, chatd.addr, plan.chatctl_runs).await?;
    table.check(
        "chatctl",
        &format!(
            "`chatctl conv list --json` end to end (median of {})",
            plan.chatctl_runs
        ),
        "< 20 ms",
        ms(chatctl.pct_ms(50)),
        format!("p90 {}", ms(chatctl.pct_ms(90))),
        chatctl.pct_ms(50) < 20.0,
    );
    drop(reference);
    chatd.stop().await;

    // The same reads with a million messages stored.
    let chatd = env.chatd(&scale_db, &[], "scale").await?;
    let scale_label = format!(
        "{} messages in {} conversations",
        plan.bulk_conversations * plan.bulk_messages_each + 50,
        plan.bulk_conversations + 10
    );
    for (label, before) in &small {
        let path = paths.path_of(label);
        progress(&format!("REST {label} with {scale_label}"));
        let after = rest(chatd.addr, path, plan).await?;
        let slowdown = before.per_sec() / after.per_sec();
        let p50 = after.latency.pct_ms(50) / before.latency.pct_ms(50);
        table.check(
            &format!("GET {label}, {scale_label}"),
            "throughput; p50 latency (ratio to small database)",
            "within 1.5x",
            format!(
                "{}; {}",
                rate(after.per_sec()),
                ms(after.latency.pct_ms(50))
            ),
            format!("{slowdown:.2}x; {p50:.2}x"),
            slowdown <= 1.5 && p50 <= 1.5 && after.errors == 0,
        );
    }
    let chatctl = chatctl_list(&env, chatd.addr, plan.chatctl_runs).await?;
    table.info(
        &format!("chatctl, {scale_label}"),
        "`chatctl conv list --json` median",
        ms(chatctl.pct_ms(50)),
    );
    chatd.stop().await;

    chat_throughput(&env, &chat_db, plan, &mut table).await?;
    concurrent_streams(&env, &chat_db, plan, files, &mut table).await?;

    let load_after = load_average();
    println!("\nchatd-bench: {}", machine());
    println!("load average before: {load_before}; after: {load_after}\n");
    println!("{}", table.render());
    Ok(())
}

/// The REST paths measured, with the ids the seed gave them.
struct RestPaths {
    conversation: String,
    user: String,
    list: String,
}

impl RestPaths {
    fn new() -> Self {
        RestPaths {
            conversation: format!("/api/v1/conversations/{}", seed::BENCH_CONVERSATION),
            user: format!("/api/v1/users/{}", seed::BENCH_USER),
            list: format!("/api/v1/users/{}/conversations", seed::BENCH_USER_ID),
        }
    }

    fn all(&self) -> [&String; 3] {
        [&self.conversation, &self.user, &self.list]
    }

    fn labelled(&self) -> [(&'static str, &String); 3] {
        [
            ("/conversations/{id} (50 messages)", &self.conversation),
            ("/users/{username}", &self.user),
            ("/users/{id}/conversations (10)", &self.list),
        ]
    }

    fn path_of(&self, label: &str) -> &String {
        self.labelled()
            .into_iter()
            .find(|(l, _)| *l == label)
            .map(|(_, p)| p)
            .unwrap_or(&self.user)
    }
}

/// A warm-up, then the measured run.
async fn rest(addr: SocketAddr, path: &str, plan: Plan) -> anyhow::Result<load::RestResult> {
    load::rest(addr, path, plan.connections, plan.rest_max, plan.warmup).await;
    let result = load::rest(addr, path, plan.connections, plan.rest_max, plan.rest).await;
    if result.ok == 0 {
        bail!(
            "no request to {path} succeeded: {}",
            result.first_error.unwrap_or_default()
        );
    }
    Ok(result)
}

/// From spawning chatd to its first successful answer to `path`, `runs` times.
async fn startup(env: &Env, database: &Path, path: &str, runs: usize) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    let mut announced = Samples::default();
    for _ in 0..runs {
        let server = env.chatd(database, &[], "startup").await?;
        announced.push(server.announced_after);
        let deadline = server.spawned_at + Duration::from_secs(10);
        loop {
            if let Ok((200, _)) = load::get(server.addr, path).await {
                samples.push(server.spawned_at.elapsed());
                break;
            }
            if Instant::now() > deadline {
                bail!("chatd did not answer GET {path} within 10 s of starting");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.stop().await;
    }
    samples.sort();
    announced.sort();
    progress(&format!(
        "start-up on {}: median {} (stdout line after {})",
        database.display(),
        ms(samples.pct_ms(50)),
        ms(announced.pct_ms(50))
    ));
    Ok(samples)
}

/// `chatctl --json conv list` against `addr`, timed from spawn to exit.
async fn chatctl_list(env: &Env, addr: SocketAddr, runs: usize) -> anyhow::Result<Samples> {
    let home = env.dir.join("chatctl-home");
    std::fs::create_dir_all(&home)?;
    let mut samples = Samples::default();
    for _ in 0..runs {
        let t0 = Instant::now();
        let output = tokio::process::Command::from(testkit::isolated(&env.chatctl, &home))
            .args([
                "--json",
                "--no-autostart",
                "--user",
                seed::BENCH_USER,
                "--server",
            ])
            .arg(format!("http://{addr}/api/v1"))
            .args(["conv", "list"])
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(10), output)
            .await
            .context("chatctl took over 10 s")??;
        let elapsed = t0.elapsed();
        let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        if !output.status.success() || listed.as_array().is_none_or(Vec::is_empty) {
            bail!(
                "chatctl conv list failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        samples.push(elapsed);
    }
    samples.sort();
    Ok(samples)
}

fn chat_body(conversation: i64) -> String {
    format!(r#"{{"conversation_id":{conversation},"message":"Why is the sky blue?"}}"#)
}

fn upstream_body(_: i64) -> String {
    r#"{"model":"bench","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true}"#.into()
}

fn openai_flags(upstream: SocketAddr) -> Vec<String> {
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

const TOKENS: usize = 20;

/// `POST /chat` back to back on `chat_streams` conversations, zero-delay upstream; then
/// every conversation is read back to check that each chat left both its messages.
async fn chat_throughput(
    env: &Env,
    database: &Path,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let upstream = process::helper(&["upstream".into(), TOKENS.to_string(), "0".into()]).await?;
    let chatd = env
        .chatd(database, &openai_flags(upstream.addr), "chat")
        .await?;
    let first = 11;
    let n = plan.chat_streams as i64;
    let stream_plan = |conversations: Vec<i64>, duration| StreamPlan {
        path: "/api/v1/chat".into(),
        body: chat_body,
        tokens: TOKENS,
        conversations,
        per_task: 1_000_000,
        ramp: Duration::ZERO,
        duration,
    };
    progress("POST /chat, zero-delay upstream: warm-up");
    load::streams(
        chatd.addr,
        stream_plan((first + n..first + 2 * n).collect(), plan.warmup),
    )
    .await;
    progress("POST /chat, zero-delay upstream");
    let watch = RssWatch::start(chatd.pid());
    let result = load::streams(
        chatd.addr,
        stream_plan((first..first + n).collect(), plan.chat),
    )
    .await;
    let peak = watch.finish().await;
    let per_sec = result.complete as f64 / result.elapsed.as_secs_f64();

    let mut stored_ok = 0;
    let mut missing = 0;
    for (conversation, done) in &result.per_conversation {
        let (_, body) =
            load::get(chatd.addr, &format!("/api/v1/conversations/{conversation}")).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).context("conversation body")?;
        let messages = value["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let replies = messages
            .iter()
            .filter(|m| m["role"] == "assistant" && m["content"] == "tok".repeat(TOKENS))
            .count();
        let asked = messages.iter().filter(|m| m["role"] == "user").count();
        // A chat cut off by the deadline may have stored its question and not yet its
        // answer; it is not counted as complete, so it cannot count as missing either.
        if replies >= *done && asked >= *done {
            stored_ok += done;
        } else {
            missing += done - replies.min(asked).min(*done);
        }
    }
    let scenario = format!(
        "POST /chat, {} streams, upstream {TOKENS} tokens, no delay",
        plan.chat_streams
    );
    table.check(
        &scenario,
        "complete chats/s",
        ">= 3000/s",
        format!(
            "{} ({} in {:.1} s)",
            rate(per_sec),
            result.complete,
            result.elapsed.as_secs_f64()
        ),
        format!("{:.0}%", per_sec / 3000.0 * 100.0),
        per_sec >= 3000.0,
    );
    table.check(
        &scenario,
        "errors; chats stored (both messages)",
        "0; all",
        format!("{}; {stored_ok} of {}", result.errors, result.complete),
        String::new(),
        result.errors == 0 && missing == 0,
    );
    if let Some(e) = &result.first_error {
        table.info(&scenario, "first error", e.clone());
    }
    table.info(
        &scenario,
        "time to first token p50 / p99; tokens/s per stream p50",
        format!(
            "{} / {}; {:.0}",
            ms(result.ttft.pct_ms(50)),
            ms(result.ttft.pct_ms(99)),
            result.rate_pct(50)
        ),
    );
    table.info(&scenario, "chatd peak RSS", mb(peak));
    chatd.stop().await;
    drop(upstream);
    Ok(())
}

/// `concurrent_streams` streams started over one second on their own connections,
/// upstream 20 tokens 100 ms apart: first the upstream alone, then through chatd. The
/// smaller counts of `stream_ladder` run first and are reported without a verdict.
async fn concurrent_streams(
    env: &Env,
    database: &Path,
    plan: Plan,
    files: u64,
    table: &mut Table,
) -> anyhow::Result<()> {
    // chatd holds two sockets per stream (client and upstream); where the hard
    // open-file limit cannot be raised that far, run as many streams as it allows and
    // say so in the table rather than count refused connections as chatd's errors.
    let n = plan
        .concurrent_streams
        .min((files.saturating_sub(100) / 2) as usize);
    if n < plan.concurrent_streams {
        table.info(
            "concurrent streams",
            "capped by the open-file limit",
            format!(
                "{n} streams instead of {} (limit {files}, not raisable here)",
                plan.concurrent_streams
            ),
        );
    }
    let upstream = process::helper(&["upstream".into(), TOKENS.to_string(), "100".into()]).await?;
    for &step in plan.stream_ladder.iter().filter(|&&step| step < n) {
        stream_level(env, database, &upstream, step, false, table).await?;
    }
    stream_level(env, database, &upstream, n, true, table).await?;
    drop(upstream);
    Ok(())
}

/// `n` streams, on the upstream alone and then through a fresh chatd; `goal` says
/// whether the issue's figures apply to this count.
async fn stream_level(
    env: &Env,
    database: &Path,
    upstream: &Server,
    n: usize,
    goal: bool,
    table: &mut Table,
) -> anyhow::Result<()> {
    let upstream_pid = upstream.pid();
    let upstream = upstream.addr;
    let conversations: Vec<i64> = (11..11 + n as i64).collect();
    let stream_plan = |path: &str, body: fn(i64) -> String| StreamPlan {
        path: path.into(),
        body,
        tokens: TOKENS,
        conversations: conversations.clone(),
        per_task: 1,
        ramp: Duration::from_secs(1),
        duration: Duration::from_secs(30),
    };
    progress(&format!("{n} streams straight from the upstream"));
    let direct = load::streams(upstream, stream_plan("/v1/chat/completions", upstream_body)).await;

    let chatd = env
        .chatd(database, &openai_flags(upstream), "streams")
        .await?;
    // One request first so the idle figure is of a chatd that has answered.
    load::get(chatd.addr, "/api/v1/status").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = process::status_kb(chatd.pid(), "VmRSS").unwrap_or(0);
    // A first wave on a chatd that has just started, reported on its own: it also pays
    // for opening every connection to the upstream (the upstream-alone run opens its
    // connections before its clock starts) and for first touches of the database.
    // The measured wave is the second, as the REST and chat scenarios measure after a
    // warm-up.
    progress(&format!("{n} streams through chatd, first wave"));
    let first_wave = load::streams(chatd.addr, stream_plan("/api/v1/chat", chat_body)).await;
    progress(&format!("{n} streams through chatd"));
    let watch = RssWatch::start(chatd.pid());
    let before = [chatd.pid(), upstream_pid, std::process::id()].map(process::cpu_seconds);
    // Wall time over the same span as the CPU times, connection set-up included.
    let wall = Instant::now();
    let result = load::streams(chatd.addr, stream_plan("/api/v1/chat", chat_body)).await;
    let wall = wall.elapsed().as_secs_f64();
    let after = [chatd.pid(), upstream_pid, std::process::id()].map(process::cpu_seconds);
    let peak = watch.finish().await;
    chatd.stop().await;
    let [cpu, upstream_cpu, harness_cpu] = [0, 1, 2].map(|i| after[i] - before[i]);
    // Whether the machine itself was the limit: all three processes share its cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let machine = format!(
        "chatd {cpu:.2} s, upstream {upstream_cpu:.2} s, load generator {harness_cpu:.2} s \
         in {wall:.2} s of {cores:.0} cores ({:.0}% busy)",
        (cpu + upstream_cpu + harness_cpu) / (wall * cores) * 100.0
    );

    let scenario = format!("{n} concurrent streams, upstream {TOKENS} tokens 100 ms apart");
    table.info(
        &scenario,
        "first wave after start-up: complete / errors; time to first token p50 / p99",
        format!(
            "{} / {}; {} / {}",
            first_wave.complete,
            first_wave.errors,
            ms(first_wave.ttft.pct_ms(50)),
            ms(first_wave.ttft.pct_ms(99))
        ),
    );
    let added = result.ttft.pct_ms(99) - direct.ttft.pct_ms(99);
    let ttft = format!(
        "{} / {} ({} / {})",
        ms(result.ttft.pct_ms(50)),
        ms(result.ttft.pct_ms(99)),
        ms(direct.ttft.pct_ms(50)),
        ms(direct.ttft.pct_ms(99))
    );
    let outcome = format!(
        "{} / {} ({})",
        result.complete, result.errors, result.peak_open
    );
    let per_stream = peak.saturating_sub(idle) as f64 / n as f64;
    let memory = format!("{} (idle {}); {per_stream:.1} kB", mb(peak), mb(idle));
    if !goal {
        table.info(&scenario, "complete / errors (peak open at once)", outcome);
        table.info(
            &scenario,
            "time to first token p50 / p99 (upstream alone p50 / p99); p99 added",
            format!("{ttft}; +{}", ms(added)),
        );
        table.info(&scenario, "CPU time while streaming", machine);
        table.info(
            &scenario,
            "chatd peak RSS above idle per stream",
            format!("{per_stream:.1} kB"),
        );
        return Ok(());
    }
    table.check(
        &scenario,
        "complete / errors (peak open at once)",
        "0 errors",
        outcome,
        String::new(),
        result.errors == 0 && result.complete == n,
    );
    if let Some(e) = &result.first_error {
        table.info(&scenario, "first error", e.clone());
    }
    table.check(
        &scenario,
        "time to first token p50 / p99 (upstream alone p50 / p99)",
        "p99 added < 10 ms",
        ttft,
        format!("+{}", ms(added)),
        added < 10.0,
    );
    table.info(
        &scenario,
        "inter-token gap p50 / p99 (upstream alone)",
        format!(
            "{} / {} ({} / {})",
            ms(result.gap.pct_ms(50)),
            ms(result.gap.pct_ms(99)),
            ms(direct.gap.pct_ms(50)),
            ms(direct.gap.pct_ms(99))
        ),
    );
    table.info(
        &scenario,
        "tokens/s per stream p50 / p99-low (upstream alone)",
        format!(
            "{:.1} / {:.1} ({:.1} / {:.1})",
            result.rate_pct(50),
            result.rate_pct(1),
            direct.rate_pct(50),
            direct.rate_pct(1)
        ),
    );
    table.info(&scenario, "CPU time while streaming", machine);
    table.check(
        &scenario,
        "chatd peak RSS; above idle per stream",
        "< 50 kB per stream",
        memory,
        format!("{:.0}%", per_stream / 50.0 * 100.0),
        per_stream < 50.0,
    );
    Ok(())
}
