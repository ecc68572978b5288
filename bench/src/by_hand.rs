//! The subcommands that run one scenario against a chatd started by hand (e.g. under
//! `perf record -p`): `seed` its database, then `rest` or `streams` against it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::load::{self, StreamPlan};
use crate::process;
use crate::report::{ms, rate};
use crate::scenarios::{self, FULL, Plan, TOKENS};
use crate::seed;

/// `seed DB [CONVERSATIONS MESSAGES_EACH]`: the benchmark database.
pub fn seed(db: &Path, conversations: i64, messages_each: i64) -> anyhow::Result<()> {
    seed::base(db)?;
    seed::bulk(db, conversations, messages_each)
}

/// `rest ADDR PATH [SECONDS]`: one REST scenario, warm-up first, against a running server.
pub async fn rest(addr: SocketAddr, path: &str, seconds: u64) -> anyhow::Result<()> {
    let plan = Plan {
        rest: Duration::from_secs(seconds),
        ..FULL
    };
    let result = scenarios::rest::measure(addr, path, plan).await?;
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
/// 11 onwards, one each.
pub async fn streams(addr: SocketAddr, n: i64, ramp_ms: u64) -> anyhow::Result<()> {
    process::raise_open_files();
    let result = load::streams(
        addr,
        StreamPlan {
            path: "/api/v1/chat".into(),
            body: scenarios::chat_body,
            tokens: TOKENS,
            conversations: (11..11 + n).collect(),
            per_task: 1,
            ramp: Duration::from_millis(ramp_ms),
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

/// The release binaries, built as in a full run, and a temporary directory to run them
/// in (removed when the first is dropped).
fn built() -> anyhow::Result<(tempfile::TempDir, crate::harness::Env)> {
    crate::harness::started();
    let release = crate::harness::build_binaries()?;
    let temp = tempfile::Builder::new().prefix("chatd-bench").tempdir()?;
    let env = crate::harness::Env {
        chatd: release.join("chatd"),
        chatctl: release.join("chatctl"),
        dir: temp.path().to_path_buf(),
    };
    Ok((temp, env))
}

/// `relay --postgres URL`: the relay scenario alone, with chatd built and started by
/// the harness as in a full run.
pub async fn relay(postgres: &str) -> anyhow::Result<()> {
    let (_temp, env) = built()?;
    let mut table = crate::report::Table::default();
    scenarios::relay::measure(&env, postgres, &mut table).await?;
    println!("\nchatd-bench: {}\n", crate::harness::machine());
    println!("{}", table.render());
    Ok(())
}

/// `search [--postgres URL] [--messages-each N]`: the search scenario alone, with chatd
/// built and started by the harness as in a full run.
pub async fn search(postgres: Option<String>, messages_each: i64) -> anyhow::Result<()> {
    let (_temp, env) = built()?;
    let backend = match postgres {
        Some(url) => scenarios::search::Backend::Postgres(url),
        None => scenarios::search::Backend::Sqlite(env.dir.join("search.db")),
    };
    let mut table = crate::report::Table::default();
    scenarios::search::measure(&env, backend, messages_each, &mut table).await?;
    println!("\nchatd-bench: {}\n", crate::harness::machine());
    println!("{}", table.render());
    Ok(())
}
