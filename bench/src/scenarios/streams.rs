//! Concurrent streams: thousands of `POST /chat` streams started over one second, each
//! on its own connection, relayed from an upstream sending 20 tokens 100 ms apart;
//! measured first on the upstream alone and then through chatd (goals: no errors, under
//! 10 ms of p99 time to first token added, under 50 kB of RSS per stream). Smaller
//! counts run first, for context.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Plan, TOKENS, chat_body, openai_flags, upstream_body};
use crate::harness::{Env, progress};
use crate::load::{self, StreamPlan};
use crate::process::{self, RssWatch, Server};
use crate::report::{Table, mb, ms};

/// `concurrent_streams` streams started over one second on their own connections,
/// upstream 20 tokens 100 ms apart: first the upstream alone, then through chatd. The
/// smaller counts of `stream_ladder` run first and are reported without a verdict.
pub async fn concurrent(
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
/// whether the figures apply to this count.
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
