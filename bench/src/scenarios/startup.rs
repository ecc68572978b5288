//! Start-up: from spawning chatd on an existing database to its first successful answer,
//! the median of several starts (goal: under 100 ms).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::Plan;
use crate::harness::{Env, progress};
use crate::load::{self, Samples};
use crate::report::{Table, ms};

/// `plan.startups` starts of chatd on `database` (described as `label`), each timed to
/// its first answered `GET path`; one row.
pub async fn measure(
    env: &Env,
    database: &Path,
    label: &str,
    path: &str,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let startup = times(env, database, path, plan.startups).await?;
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
    Ok(())
}

/// From spawning chatd to its first successful answer to `path`, `runs` times.
async fn times(env: &Env, database: &Path, path: &str, runs: usize) -> anyhow::Result<Samples> {
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
