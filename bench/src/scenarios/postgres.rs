//! The REST reads, `POST /chat` throughput and concurrent streams again on PostgreSQL,
//! with one chatd process and then two sharing the database and the load (issue 19;
//! goals with two processes: complete chats/s at least 60% of one process on SQLite,
//! reads at least 50% of SQLite's). What a chat costs the database is counted twice:
//! by the server (`pg_stat_database`'s transactions and rows, `pg_stat_activity`
//! sampled for busy connections and their waits) and on the wire, through a counting
//! proxy (`pg_wire`) in a separate run so its cost stays out of the throughput figures.
//! Skipped with one line saying why when no PostgreSQL answers.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::future::join_all;

use super::rest::Paths;
use super::streams::Levels;
use super::{Plan, TOKENS, chat_body, openai_flags, upstream_body};
use crate::harness::{Env, progress};
use crate::load::{self, RestResult, StreamPlan, StreamResult};
use crate::pg_server::Database;
use crate::pg_wire::Proxy;
use crate::process::{self, Server};
use crate::report::{Table, ms, rate};

/// What the SQLite scenarios measured, for the ratios.
pub struct SqliteFigures {
    pub chats_per_sec: f64,
    /// Requests/s per labelled REST path.
    pub reads: Vec<(&'static str, f64)>,
    pub levels: Levels,
}

const SCENARIO: &str = "PostgreSQL";

/// The scenario on a database of its own on `server`.
pub async fn measure(
    env: &Env,
    server: &str,
    plan: Plan,
    sqlite: &SqliteFigures,
    table: &mut Table,
) -> anyhow::Result<()> {
    let shown = chatd::store::Location::Postgres(server.to_string()).to_string();
    let connecting = server.to_string();
    let database = match tokio::task::spawn_blocking(move || Database::create(&connecting)).await? {
        Ok(database) => database,
        Err(e) => {
            progress(&format!(
                "PostgreSQL: skipped, {shown} did not answer: {e:#}"
            ));
            table.info(
                SCENARIO,
                "skipped",
                format!("no PostgreSQL answered at {shown}: {}", first_line(&e)),
            );
            return Ok(());
        }
    };
    let database = std::sync::Arc::new(database);
    let conversations = (plan.chat_streams * 2).max(plan.postgres_streams) as i64;
    progress(&format!("PostgreSQL: seeding {}", database.name));
    let seeding = database.clone();
    let version = tokio::task::spawn_blocking(move || {
        seeding.seed(conversations).and_then(|()| seeding.version())
    })
    .await??;
    crate::seed::fill_path_hashes(chatd::store::Location::Postgres(database.url.clone())).await?;
    table.info(
        SCENARIO,
        "server; database",
        format!(
            "{}; {} (created and dropped by the run), chatd's default pool per process",
            version.split(" on ").next().unwrap_or(&version),
            database.name
        ),
    );

    let fast = process::helper(&["upstream".into(), TOKENS.to_string(), "0".into()]).await?;
    let slow = process::helper(&["upstream".into(), TOKENS.to_string(), "100".into()]).await?;
    let paths = Paths::new();
    // The goals are checked on the server's default durability; the last run shows
    // what `--postgres-synchronous-commit off` buys for writes (reads do not commit).
    for (processes, synchronous) in [(1, true), (2, true), (2, false)] {
        let mut label = if processes == 1 {
            "1 chatd".to_string()
        } else {
            format!("{processes} chatd processes")
        };
        let flags: &[&str] = if synchronous {
            &[]
        } else {
            label.push_str(", --postgres-synchronous-commit off");
            &["--postgres-synchronous-commit", "off"]
        };
        let checked = processes == 2 && synchronous;
        if synchronous {
            let chatds = start(env, &database.url, &fast, processes, flags, "pg").await?;
            let addrs: Vec<SocketAddr> = chatds.iter().map(|c| c.addr).collect();
            for (path_label, path) in paths.labelled() {
                progress(&format!("PostgreSQL, {label}: REST {path_label}"));
                let _ = rest(&addrs, path, plan, plan.warmup).await;
                let result = rest(&addrs, path, plan, plan.rest).await;
                let sqlite_rate = sqlite
                    .reads
                    .iter()
                    .find(|(l, _)| *l == path_label)
                    .map_or(f64::NAN, |(_, r)| *r);
                let share = result.per_sec() / sqlite_rate;
                let scenario = format!(
                    "GET {path_label}, {} connections, PostgreSQL, {label}",
                    plan.connections
                );
                let measured = format!(
                    "{} (SQLite, 1 chatd: {}); p50 / p99 {} / {}; errors {}",
                    rate(result.per_sec()),
                    rate(sqlite_rate),
                    ms(result.latency.pct_ms(50)),
                    ms(result.latency.pct_ms(99)),
                    result.errors
                );
                let ratio = format!("{:.0}%", share * 100.0);
                if checked {
                    table.check(
                        &scenario,
                        "throughput (share of SQLite's)",
                        ">= 50% of SQLite",
                        measured,
                        ratio,
                        share >= 0.5 && result.errors == 0,
                    );
                } else {
                    table.info(
                        &scenario,
                        "throughput (share of SQLite's)",
                        format!("{measured}; {ratio}"),
                    );
                }
            }

            for chatd in chatds {
                chatd.stop().await;
            }
        }

        // Fresh processes for the chats, counted from before they take any load: a
        // backend reports its counters at most once a second while busy, so the reads
        // above would otherwise land in this window. The warm-up's chats are in the
        // counts too, and divided by with the others.
        progress(&format!(
            "PostgreSQL, {label}: POST /chat, zero-delay upstream"
        ));
        let chatds = start(env, &database.url, &fast, processes, flags, "pg-chat").await?;
        let addrs: Vec<SocketAddr> = chatds.iter().map(|c| c.addr).collect();
        let n = plan.chat_streams as i64;
        let counting = database.clone();
        let (before, (replies_before, _)) = tokio::task::spawn_blocking(move || {
            anyhow::Ok((counting.counters()?, counting.replies()?))
        })
        .await??;
        let sampler = database.sample_activity();
        let _ = chats(&addrs, (11 + n..11 + 2 * n).collect(), plan.warmup).await;
        let result = chats(&addrs, (11..11 + n).collect(), plan.chat).await;
        let activity = sampler.finish().await;
        for chatd in chatds {
            chatd.stop().await;
        }
        // The backends have exited, and with that reported their counters.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let counting = database.clone();
        let (after, (replies_after, _)) = tokio::task::spawn_blocking(move || {
            anyhow::Ok((counting.counters()?, counting.replies()?))
        })
        .await??;
        let per_sec = result.complete as f64 / result.elapsed.as_secs_f64();
        let share = per_sec / sqlite.chats_per_sec;
        // Warm-up included, as in the counters.
        let stored = replies_after - replies_before;
        let scenario = format!(
            "POST /chat, {} streams, upstream {TOKENS} tokens, no delay, PostgreSQL, {label}",
            plan.chat_streams
        );
        let measured = format!(
            "{} ({} in {:.1} s; SQLite, 1 chatd: {}); errors {}; replies stored (warm-up included) {stored}",
            rate(per_sec),
            result.complete,
            result.elapsed.as_secs_f64(),
            rate(sqlite.chats_per_sec),
            result.errors
        );
        let ratio = format!("{:.0}%", share * 100.0);
        let stored_ok = stored >= result.complete as i64 && result.errors == 0;
        if checked {
            table.check(
                &scenario,
                "complete chats/s (share of SQLite's)",
                ">= 60% of SQLite",
                measured,
                ratio,
                share >= 0.6 && stored_ok,
            );
        } else {
            table.info(
                &scenario,
                "complete chats/s (share of SQLite's)",
                format!("{measured}; {ratio}"),
            );
        }
        let delta = after.since(&before);
        let chats_done = stored.max(1) as f64;
        table.info(
            &scenario,
            "per stored chat, from pg_stat_database (start-up and shutdown included)",
            format!(
                "{:.2} transactions; rows inserted {:.2}, updated {:.2}, deleted {:.2}, read {:.1}",
                delta.transactions as f64 / chats_done,
                delta.inserted as f64 / chats_done,
                delta.updated as f64 / chats_done,
                delta.deleted as f64 / chats_done,
                delta.returned as f64 / chats_done,
            ),
        );
        table.info(
            &scenario,
            "chatd's connections, pg_stat_activity every 20 ms",
            activity.describe(),
        );

        let chatds = start(env, &database.url, &slow, processes, flags, "pg-streams").await?;
        let addrs: Vec<SocketAddr> = chatds.iter().map(|c| c.addr).collect();
        streams(
            &addrs,
            slow.addr,
            plan.postgres_streams,
            &label,
            sqlite,
            table,
        )
        .await;
        for chatd in chatds {
            chatd.stop().await;
        }
    }
    if let Err(e) = round_trips(env, &database, &fast, plan, table).await {
        table.info(
            SCENARIO,
            "round trips per chat: not counted",
            first_line(&e),
        );
    }
    drop(fast);
    drop(slow);
    tokio::task::spawn_blocking(move || drop(database)).await?;
    Ok(())
}

/// `processes` chatd processes on `url`, relaying from `upstream`.
async fn start(
    env: &Env,
    url: &str,
    upstream: &Server,
    processes: usize,
    flags: &[&str],
    log: &str,
) -> anyhow::Result<Vec<Server>> {
    let mut chatds = Vec::with_capacity(processes);
    let mut args = openai_flags(upstream.addr);
    args.extend(flags.iter().map(|flag| flag.to_string()));
    for i in 0..processes {
        let chatd = env
            .chatd(Path::new(url), &args, &format!("{log}-{i}"))
            .await?;
        load::get(chatd.addr, "/api/v1/status").await?;
        chatds.push(chatd);
    }
    Ok(chatds)
}

/// `GET path` on `plan.connections` connections shared out over `addrs`.
async fn rest(addrs: &[SocketAddr], path: &str, plan: Plan, duration: Duration) -> RestResult {
    let each = (plan.connections / addrs.len()).max(1);
    let max = plan.rest_max / addrs.len();
    RestResult::merge_all(
        join_all(
            addrs
                .iter()
                .map(|&a| load::rest(a, path, each, max, duration)),
        )
        .await,
    )
}

/// Back-to-back chats, one task per conversation, the conversations dealt out over
/// `addrs` in turn.
async fn chats(addrs: &[SocketAddr], conversations: Vec<i64>, duration: Duration) -> StreamResult {
    spread(addrs, conversations, |conversations| {
        super::chat::back_to_back(conversations, duration)
    })
    .await
}

async fn spread(
    addrs: &[SocketAddr],
    conversations: Vec<i64>,
    plan: impl Fn(Vec<i64>) -> StreamPlan,
) -> StreamResult {
    let loads = addrs.iter().enumerate().map(|(i, &addr)| {
        let mine: Vec<i64> = conversations
            .iter()
            .copied()
            .skip(i)
            .step_by(addrs.len())
            .collect();
        load::streams(addr, plan(mine))
    });
    StreamResult::merge_all(join_all(loads).await)
}

/// `n` streams started over one second, upstream tokens 100 ms apart, dealt out over
/// `addrs`: a first wave, then the measured one, against the upstream alone's p99.
async fn streams(
    addrs: &[SocketAddr],
    upstream: SocketAddr,
    n: usize,
    label: &str,
    sqlite: &SqliteFigures,
    table: &mut Table,
) {
    let conversations: Vec<i64> = (11..11 + n as i64).collect();
    let plan = |path: &'static str, body: fn(i64) -> String| {
        move |conversations| StreamPlan {
            path: path.to_string(),
            body,
            tokens: TOKENS,
            conversations,
            per_task: 1,
            ramp: Duration::from_secs(1),
            duration: Duration::from_secs(30),
        }
    };
    progress(&format!("PostgreSQL, {label}: {n} streams"));
    let direct = spread(
        &[upstream],
        conversations.clone(),
        plan("/v1/chat/completions", upstream_body),
    )
    .await;
    let _first = spread(
        addrs,
        conversations.clone(),
        plan("/api/v1/chat", chat_body),
    )
    .await;
    let result = spread(addrs, conversations, plan("/api/v1/chat", chat_body)).await;
    let added = result.ttft.pct_ms(99) - direct.ttft.pct_ms(99);
    let on_sqlite = sqlite
        .levels
        .iter()
        .find(|(count, _)| *count == n)
        .map_or("not measured at this count".to_string(), |(_, a)| {
            format!("+{}", ms(*a))
        });
    table.info(
        &format!("{n} concurrent streams, upstream {TOKENS} tokens 100 ms apart, PostgreSQL, {label}"),
        "complete / errors; time to first token p50 / p99 (upstream alone p99); p99 added (SQLite, 1 chatd, median)",
        format!(
            "{} / {}; {} / {} ({}); +{} ({on_sqlite})",
            result.complete,
            result.errors,
            ms(result.ttft.pct_ms(50)),
            ms(result.ttft.pct_ms(99)),
            ms(direct.ttft.pct_ms(99)),
            ms(added)
        ),
    );
}

/// One chatd through the counting proxy: round trips, parses and executes per chat, and
/// the statements a chat sends most.
async fn round_trips(
    env: &Env,
    database: &Database,
    upstream: &Server,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let server: SocketAddr = tokio::net::lookup_host(&database.host)
        .await?
        .find(|a| a.ip().is_loopback())
        .ok_or_else(|| anyhow::anyhow!("{} is not on this machine", database.host))?;
    let proxy = Proxy::start(server).await?;
    let url = database
        .url
        .replacen(&database.host, &proxy.addr.to_string(), 1)
        // The proxy reads the protocol: no TLS inside it.
        + "?sslmode=disable";
    progress("PostgreSQL: round trips per chat, through a counting proxy");
    let chatds = start(env, &url, upstream, 1, &[], "pg-count").await?;
    let addrs = [chatds[0].addr];
    let n = plan.chat_streams as i64;
    let _ = chats(&addrs, (11 + n..11 + 2 * n).collect(), plan.warmup).await;
    let (replies_before, _) = database.replies()?;
    proxy.take(true);
    let result = chats(&addrs, (11..11 + n).collect(), plan.chat).await;
    let tally = proxy.take(false);
    let (replies_after, _) = database.replies()?;
    for chatd in chatds {
        chatd.stop().await;
    }
    let stored = (replies_after - replies_before).max(1) as f64;
    let scenario = "POST /chat on PostgreSQL, 1 chatd, counted on the wire";
    table.info(
        scenario,
        "per stored chat: round trips (Sync + simple Query); Parse; Execute",
        format!(
            "{:.2}; {:.2}; {:.2} ({} chats, {} errors)",
            tally.round_trips() as f64 / stored,
            tally.parses as f64 / stored,
            tally.executes as f64 / stored,
            replies_after - replies_before,
            result.errors
        ),
    );
    let mut texts: Vec<(String, u64)> = tally.texts.into_iter().collect();
    texts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (text, count) in texts.into_iter().take(8) {
        table.info(
            scenario,
            "statement parsed or sent as a query, times per chat",
            format!("{:.2}: `{}`", count as f64 / stored, text.replace('|', "/")),
        );
    }
    Ok(())
}

fn first_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
