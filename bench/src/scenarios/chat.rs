//! `POST /chat` throughput: back-to-back chats on 64 connections through chatd from a
//! zero-delay upstream (goal: 3,000 complete chats a second), each checked afterwards to
//! have stored both its messages.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::{Plan, TOKENS, chat_body, openai_flags};
use crate::harness::{Env, progress};
use crate::load::{self, StreamPlan};
use crate::process::{self, RssWatch};
use crate::report::{Table, mb, ms, rate};

/// Chats back to back, one task per conversation, until `duration` has passed.
pub fn back_to_back(conversations: Vec<i64>, duration: Duration) -> StreamPlan {
    StreamPlan {
        path: "/api/v1/chat".into(),
        body: chat_body,
        tokens: TOKENS,
        conversations,
        per_task: 1_000_000,
        ramp: Duration::ZERO,
        duration,
    }
}

/// `POST /chat` back to back on `chat_streams` conversations, zero-delay upstream; then
/// every conversation is read back to check that each chat left both its messages.
pub async fn throughput(
    env: &Env,
    database: &Path,
    plan: Plan,
    table: &mut Table,
) -> anyhow::Result<f64> {
    let upstream = process::helper(&["upstream".into(), TOKENS.to_string(), "0".into()]).await?;
    let chatd = env
        .chatd(database, &openai_flags(upstream.addr), "chat")
        .await?;
    let first = 11;
    let n = plan.chat_streams as i64;
    let stream_plan = back_to_back;
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
    Ok(per_sec)
}
