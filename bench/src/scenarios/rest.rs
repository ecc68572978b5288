//! REST reads: each measured path on the small database against the in-memory reference
//! serving the same bytes (goal: at least half its throughput, p99 under 5 ms), chatd's
//! idle and peak RSS, the conversation read with nothing kept rendered, and the same
//! reads again with a million messages stored (goal: within 1.5x of the small database).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use super::{Plan, chatctl};
use crate::harness::{Env, progress};
use crate::load::{self, RestResult};
use crate::process::{self, RssWatch};
use crate::reference;
use crate::report::{Table, mb, ms, rate};
use crate::seed;

/// The REST paths measured, with the ids the seed gave them.
pub struct Paths {
    pub conversation: String,
    pub user: String,
    pub list: String,
}

impl Paths {
    pub fn new() -> Self {
        Paths {
            conversation: format!("/api/v1/conversations/{}", seed::BENCH_CONVERSATION),
            user: format!("/api/v1/users/{}", seed::BENCH_USER),
            list: format!("/api/v1/users/{}/conversations", seed::BENCH_USER_ID),
        }
    }

    fn all(&self) -> [&String; 3] {
        [&self.conversation, &self.user, &self.list]
    }

    pub fn labelled(&self) -> [(&'static str, &String); 3] {
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

/// What each labelled path measured on the small database, for the large one's ratios.
pub type SmallFigures = Vec<(&'static str, RestResult)>;

/// A warm-up, then the measured run of `GET path` on `plan.connections` connections.
pub async fn measure(addr: SocketAddr, path: &str, plan: Plan) -> anyhow::Result<RestResult> {
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

/// Idle RSS, every path against the reference, the uncached conversation read and
/// chatctl's goal, all on the small database.
pub async fn small_database(
    env: &Env,
    database: &Path,
    paths: &Paths,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<SmallFigures> {
    let chatd = env.chatd(database, &[], "rest").await?;
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
        let ours = measure(chatd.addr, path, plan).await?;
        let limit = measure(reference.addr, path, plan).await?;
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
            database,
            &["--rendered-cache-mb".into(), "0".into()],
            "rest-uncached",
        )
        .await?;
    progress("REST /conversations/{id} with --rendered-cache-mb 0");
    let cold = measure(uncached.addr, &paths.conversation, plan).await?;
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

    chatctl::on_small_database(env, chatd.addr, plan, table).await?;
    drop(reference);
    chatd.stop().await;
    Ok(small)
}

/// The same reads with the bulk messages stored, as ratios to `small`; then chatctl.
pub async fn large_database(
    env: &Env,
    database: &Path,
    paths: &Paths,
    small: &SmallFigures,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let chatd = env.chatd(database, &[], "scale").await?;
    let scale_label = format!(
        "{} messages in {} conversations",
        plan.bulk_conversations * plan.bulk_messages_each + 50,
        plan.bulk_conversations + 10
    );
    for (label, before) in small {
        let path = paths.path_of(label);
        progress(&format!("REST {label} with {scale_label}"));
        let after = measure(chatd.addr, path, plan).await?;
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
    chatctl::on_large_database(env, chatd.addr, &scale_label, plan, table).await?;
    chatd.stop().await;
    Ok(())
}
