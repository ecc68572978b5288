//! Whether memory comes back (issue 19): `CLIENTS` clients each post a chat whose reply
//! is 200 kB and never read a byte of the answer, so chatd holds every reply while it
//! stores them; then they all close. The table gives chatd's RSS idle, at the peak and
//! a few seconds after the clients have gone (goal: back near idle, i.e. at most a tenth
//! of the peak's rise above idle still held). Also runnable alone, against another
//! chatd binary or with other allocator settings in the environment:
//! `chatd-bench memory [--chatd PATH]`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use tokio::io::AsyncWriteExt;

use super::{chat_body, openai_flags};
use crate::harness::{Env, progress};
use crate::process::{self, RssWatch};
use crate::report::{Table, mb};

/// Clients that never read.
pub const CLIENTS: usize = 500;
/// Each reply: this many chunks of `CHUNK_BYTES` letters, 200 kB in all.
const CHUNKS: usize = 20;
const CHUNK_BYTES: usize = 10_000;
/// How long the replies get to be stored before the peak is taken anyway.
const STORE_WITHIN: Duration = Duration::from_secs(60);
/// When RSS is read after the clients closed (chatd's trimmer looks once a second).
const AFTER_CLOSE: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Assistant replies of at least 200 kB stored in conversations `first..first + CLIENTS`
/// with an id above `after`.
fn stored(database: &Path, first: i64, after: i64) -> anyhow::Result<i64> {
    let mut conn = SqliteConnection::establish(&database.to_string_lossy())?;
    let count: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM messages WHERE role = 'assistant' AND id > {after} \
         AND conversation_id >= {first} AND conversation_id < {} \
         AND length(content) >= {}",
        first + CLIENTS as i64,
        CHUNKS * CHUNK_BYTES
    ))
    .get_result(&mut conn)?;
    Ok(count.n)
}

fn last_message_id(database: &Path) -> anyhow::Result<i64> {
    let mut conn = SqliteConnection::establish(&database.to_string_lossy())?;
    let count: Count = diesel::sql_query("SELECT COALESCE(MAX(id), 0) AS n FROM messages")
        .get_result(&mut conn)?;
    Ok(count.n)
}

/// The scenario on `database`, whose conversations from 11 onwards (`CLIENTS` of them)
/// exist.
pub async fn never_read(env: &Env, database: &Path, table: &mut Table) -> anyhow::Result<()> {
    let upstream = process::helper(&[
        "upstream".into(),
        CHUNKS.to_string(),
        "0".into(),
        CHUNK_BYTES.to_string(),
    ])
    .await?;
    let chatd = env
        .chatd(database, &openai_flags(upstream.addr), "memory")
        .await?;
    crate::load::get(chatd.addr, "/api/v1/status").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = process::status_kb(chatd.pid(), "VmRSS").unwrap_or(0);
    let first = 11;
    let after = last_message_id(database)?;

    progress(&format!(
        "memory: {CLIENTS} clients that never read, {} kB replies",
        CHUNKS * CHUNK_BYTES / 1000
    ));
    let watch = RssWatch::start(chatd.pid());
    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS as i64 {
        let mut socket = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect(chatd.addr),
        )
        .await
        .context("connecting took over 10 s")??;
        let body = chat_body(first + i);
        let request = format!(
            "POST /api/v1/chat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            chatd.addr,
            body.len()
        );
        socket.write_all(request.as_bytes()).await?;
        clients.push(socket);
    }
    let waiting = Instant::now();
    let mut done = 0;
    while waiting.elapsed() < STORE_WITHIN {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let db = database.to_path_buf();
        done = tokio::task::spawn_blocking(move || stored(&db, first, after)).await??;
        if done >= CLIENTS as i64 {
            break;
        }
    }
    let stored_after = waiting.elapsed();
    // The replies are stored; the clients still hold their connections unread.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = process::status_kb(chatd.pid(), "VmRSS").unwrap_or(0);
    let peak = watch.finish().await;
    drop(clients);
    let closed = Instant::now();
    let mut after_close = Vec::new();
    for wait in AFTER_CLOSE {
        tokio::time::sleep_until((closed + wait).into()).await;
        after_close.push(process::status_kb(chatd.pid(), "VmRSS").unwrap_or(0));
    }
    chatd.stop().await;
    drop(upstream);

    let scenario = format!(
        "{CLIENTS} clients that never read, {} kB replies (upstream without delay)",
        CHUNKS * CHUNK_BYTES / 1000
    );
    table.info(
        &scenario,
        "replies stored while the clients held on; after",
        format!("{done} of {CLIENTS}; {:.1} s", stored_after.as_secs_f64()),
    );
    table.info(
        &scenario,
        "chatd RSS idle / peak / with every reply stored, clients still connected",
        format!("{} / {} / {}", mb(idle), mb(peak), mb(held)),
    );
    let last = after_close.last().copied().unwrap_or(0);
    let rise = peak.saturating_sub(idle).max(1);
    let kept = last.saturating_sub(idle) as f64 / rise as f64;
    table.check(
        &scenario,
        &format!(
            "chatd RSS {} s / {} s after the clients closed",
            AFTER_CLOSE[0].as_secs(),
            AFTER_CLOSE[1].as_secs()
        ),
        "<= idle + 10% of the peak's rise",
        after_close
            .iter()
            .map(|&kb| mb(kb))
            .collect::<Vec<_>>()
            .join(" / "),
        format!("{:.0}% of the rise kept", kept * 100.0),
        kept <= 0.10,
    );
    Ok(())
}
