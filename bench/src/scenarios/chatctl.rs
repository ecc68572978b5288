//! chatctl end to end: `chatctl --json conv list` from spawn to exit against a running
//! chatd (goal: a median under 20 ms on the small database; the large one for context).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::Plan;
use crate::harness::Env;
use crate::load::Samples;
use crate::report::{Table, ms};
use crate::seed;

/// The goal's row, against a chatd on the small database.
pub async fn on_small_database(
    env: &Env,
    addr: SocketAddr,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let chatctl = list(env, addr, plan.chatctl_runs).await?;
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
    Ok(())
}

/// A row for context, against a chatd on the database `label` describes.
pub async fn on_large_database(
    env: &Env,
    addr: SocketAddr,
    label: &str,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let chatctl = list(env, addr, plan.chatctl_runs).await?;
    table.info(
        &format!("chatctl, {label}"),
        "`chatctl conv list --json` median",
        ms(chatctl.pct_ms(50)),
    );
    Ok(())
}

/// `chatctl --json conv list` against `addr`, timed from spawn to exit, `runs` times.
async fn list(env: &Env, addr: SocketAddr, runs: usize) -> anyhow::Result<Samples> {
    let home = env.dir.join("chatctl-home");
    std::fs::create_dir_all(&home)?;
    let mut samples = Samples::default();
    for _ in 0..runs {
        let mut command = tokio::process::Command::from(testkit::isolated(&env.chatctl, &home));
        command
            .args([
                "--json",
                "--no-autostart",
                "--user",
                seed::BENCH_USER,
                "--server",
            ])
            .arg(format!("http://{addr}/api/v1"))
            .args(["conv", "list"])
            .kill_on_drop(true);
        let t0 = Instant::now();
        let output = tokio::time::timeout(Duration::from_secs(10), command.output())
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
