//! Concurrent streams: thousands of `POST /chat` streams started over one second, each
//! on its own connection, relayed from an upstream sending 20 tokens 100 ms apart;
//! measured first on the upstream alone and then through chatd (goals: no errors, under
//! 10 ms of p99 time to first token added, at most 16 kB of RSS per stream; chatd's CPU at
//! most twice the upstream's for the same streams). Smaller counts run first, for
//! context. Every level runs `WAVES` times on the upstream alone and `WAVES` times
//! through one warm chatd; the table gives the median and the range of each figure,
//! with the load average before the level and the CPU other processes used meanwhile.

use std::path::Path;
use std::time::Duration;

use super::{Plan, TOKENS, chat_body, openai_flags, upstream_body};
use crate::harness::{CpuUse, CpuWindow, Env, load_average, progress};
use crate::load::{self, StreamPlan, StreamResult};
use crate::process::{self, RssWatch, Server};
use crate::report::{Table, mb, median_range, ms, spread};

/// chatd's RSS above idle per open stream at the top level (issue 19; issue 5 had 50 kB).
const RSS_GOAL_KB: f64 = 16.0;

/// Measured waves per level, on the upstream alone and through chatd each.
pub const WAVES: usize = 3;

/// What the ladder measured at each count: the median added p99 time to first token,
/// for the PostgreSQL scenario's comparison.
pub type Levels = Vec<(usize, f64)>;

/// `concurrent_streams` streams started over one second on their own connections,
/// upstream 20 tokens 100 ms apart: first the upstream alone, then through chatd. The
/// smaller counts of `stream_ladder` run first and are reported without a verdict.
pub async fn concurrent(
    env: &Env,
    database: &Path,
    plan: Plan,
    files: u64,
    table: &mut Table,
) -> anyhow::Result<Levels> {
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
    let mut levels = Levels::new();
    for &step in plan.stream_ladder.iter().filter(|&&step| step < n) {
        let added = stream_level(env, database, &upstream, step, false, table).await?;
        levels.push((step, added));
    }
    let added = stream_level(env, database, &upstream, n, true, table).await?;
    levels.push((n, added));
    drop(upstream);
    Ok(levels)
}

/// One measured wave through chatd.
struct Wave {
    result: StreamResult,
    cpu: CpuUse,
    /// Peak RSS above idle, kB.
    above_idle: u64,
}

impl Wave {
    fn chatd_cpu(&self) -> f64 {
        self.cpu.ours[0]
    }
    fn upstream_cpu(&self) -> f64 {
        self.cpu.ours[1]
    }
    fn harness_cpu(&self) -> f64 {
        self.cpu.ours[2]
    }
}

/// `n` streams, `WAVES` times on the upstream alone and then `WAVES` times through a
/// fresh chatd (after a first wave reported on its own); `goal` says whether the
/// issue's figures apply to this count. Returns the median added p99 time to first
/// token.
async fn stream_level(
    env: &Env,
    database: &Path,
    upstream: &Server,
    n: usize,
    goal: bool,
    table: &mut Table,
) -> anyhow::Result<f64> {
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
    let scenario = format!("{n} concurrent streams, upstream {TOKENS} tokens 100 ms apart");
    let load_before = load_average();
    let mut direct_p99 = Vec::new();
    let mut direct_p50 = Vec::new();
    let mut direct_last = None;
    let mut direct_others = Vec::new();
    for wave in 1..=WAVES {
        progress(&format!(
            "{n} streams straight from the upstream ({wave} of {WAVES}); load average {}",
            load_average()
        ));
        let window = CpuWindow::start(&[upstream_pid, std::process::id()]);
        let direct =
            load::streams(upstream, stream_plan("/v1/chat/completions", upstream_body)).await;
        direct_others.push(window.finish().others);
        direct_p99.push(direct.ttft.pct_ms(99));
        direct_p50.push(direct.ttft.pct_ms(50));
        direct_last = Some(direct);
    }
    let direct_p99_median = median_range(&direct_p99).map_or(f64::NAN, |m| m.0);

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
    // The measured waves follow, as the REST and chat scenarios measure after a warm-up.
    progress(&format!("{n} streams through chatd, first wave"));
    let first_wave = load::streams(chatd.addr, stream_plan("/api/v1/chat", chat_body)).await;
    let mut waves = Vec::with_capacity(WAVES);
    for wave in 1..=WAVES {
        progress(&format!(
            "{n} streams through chatd ({wave} of {WAVES}); load average {}",
            load_average()
        ));
        let watch = RssWatch::start(chatd.pid());
        // Wall time over the same span as the CPU times, connection set-up included.
        let window = CpuWindow::start(&[chatd.pid(), upstream_pid, std::process::id()]);
        let result = load::streams(chatd.addr, stream_plan("/api/v1/chat", chat_body)).await;
        let cpu = window.finish();
        let peak = watch.finish().await;
        waves.push(Wave {
            result,
            cpu,
            above_idle: peak.saturating_sub(idle),
        });
    }
    chatd.stop().await;

    let figure = |f: &dyn Fn(&Wave) -> f64| waves.iter().map(f).collect::<Vec<f64>>();
    let added = figure(&|w| w.result.ttft.pct_ms(99) - direct_p99_median);
    let added_median = median_range(&added).map_or(f64::NAN, |m| m.0);
    let ms_unit = |v: f64| ms(v);
    let seconds = |v: f64| format!("{v:.2} s");
    let ratio = figure(&|w| w.chatd_cpu() / w.upstream_cpu());
    let streams_done = |w: &Wave| w.result.complete.max(1) as f64;
    let per_token = figure(&|w| w.chatd_cpu() * 1e6 / (streams_done(w) * TOKENS as f64));
    let upstream_per_stream = figure(&|w| w.upstream_cpu() * 1e6 / streams_done(w));
    let per_stream_kb = figure(&|w| w.above_idle as f64 / n as f64);
    let complete: usize = waves.iter().map(|w| w.result.complete).sum();
    let errors: usize = waves.iter().map(|w| w.result.errors).sum();
    let peak_open = waves.iter().map(|w| w.result.peak_open).max().unwrap_or(0);

    table.info(
        &scenario,
        "load average before the level; other processes' CPU per wave, upstream alone / through chatd",
        format!(
            "{load_before}; {} / {}",
            spread(&direct_others, seconds),
            spread(&figure(&|w| w.cpu.others), seconds)
        ),
    );
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
    let outcome =
        format!("{complete} / {errors} over {WAVES} waves (peak open at once {peak_open})");
    let ttft = format!(
        "{} / {} ({} / {})",
        spread(&figure(&|w| w.result.ttft.pct_ms(50)), ms_unit),
        spread(&figure(&|w| w.result.ttft.pct_ms(99)), ms_unit),
        spread(&direct_p50, ms_unit),
        spread(&direct_p99, ms_unit),
    );
    let cpu = format!(
        "chatd {}, upstream {}, load generator {} in {} ({} of the cores busy, others included)",
        spread(&figure(&|w| w.chatd_cpu()), seconds),
        spread(&figure(&|w| w.upstream_cpu()), seconds),
        spread(&figure(&|w| w.harness_cpu()), seconds),
        spread(&figure(&|w| w.cpu.wall), seconds),
        spread(&figure(&|w| w.cpu.busy_percent()), |v| format!("{v:.0}%")),
    );
    let per_token_text = format!(
        "{}; upstream {} per stream",
        spread(&per_token, |v| format!("{v:.1} µs")),
        spread(&upstream_per_stream, |v| format!("{v:.0} µs")),
    );
    let ratio_median = median_range(&ratio).map_or(f64::NAN, |m| m.0);
    let memory_median = median_range(&per_stream_kb).map_or(f64::NAN, |m| m.0);
    let ratio_text = spread(&ratio, |v| format!("{v:.2}x"));
    if !goal {
        table.info(&scenario, "complete / errors", outcome);
        table.info(
            &scenario,
            "time to first token p50 / p99 (upstream alone p50 / p99); p99 added",
            format!("{ttft}; +{}", spread(&added, ms_unit)),
        );
        table.info(&scenario, "CPU time per wave", cpu);
        table.info(
            &scenario,
            "chatd CPU / upstream CPU, same streams; chatd CPU per token",
            format!("{ratio_text}; {per_token_text}"),
        );
        table.info(
            &scenario,
            "chatd peak RSS above idle per stream",
            spread(&per_stream_kb, |v| format!("{v:.1} kB")),
        );
        return Ok(added_median);
    }
    table.check(
        &scenario,
        "complete / errors",
        "0 errors",
        outcome,
        String::new(),
        errors == 0 && complete == n * WAVES,
    );
    if let Some(e) = waves.iter().find_map(|w| w.result.first_error.as_ref()) {
        table.info(&scenario, "first error", e.clone());
    }
    table.check(
        &scenario,
        "time to first token p50 / p99 (upstream alone p50 / p99)",
        "p99 added < 10 ms",
        ttft,
        format!("+{}", spread(&added, ms_unit)),
        added_median < 10.0,
    );
    // The gap and rate of the last wave: medians of percentiles say little more.
    if let (Some(last), Some(direct)) = (waves.last(), direct_last.as_ref()) {
        let result = &last.result;
        table.info(
            &scenario,
            "inter-token gap p50 / p99 (upstream alone), last wave",
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
            "tokens/s per stream p50 / p99-low (upstream alone), last wave",
            format!(
                "{:.1} / {:.1} ({:.1} / {:.1})",
                result.rate_pct(50),
                result.rate_pct(1),
                direct.rate_pct(50),
                direct.rate_pct(1)
            ),
        );
    }
    table.info(&scenario, "CPU time per wave", cpu);
    table.check(
        &scenario,
        "chatd CPU / upstream CPU, same streams; chatd CPU per token",
        "<= 2x",
        format!("{ratio_text}; {per_token_text}"),
        format!("{ratio_median:.2}x"),
        ratio_median <= 2.0,
    );
    table.check(
        &scenario,
        "chatd peak RSS above idle per stream (idle RSS)",
        &format!("<= {RSS_GOAL_KB} kB per stream"),
        format!(
            "{} ({})",
            spread(&per_stream_kb, |v| format!("{v:.1} kB")),
            mb(idle)
        ),
        format!("{:.0}%", memory_median / RSS_GOAL_KB * 100.0),
        memory_median <= RSS_GOAL_KB,
    );
    Ok(added_median)
}
