//! The OpenAI front door's history match at 1,000,000 stored messages (issue 17): how
//! long chatd takes to find the conversation a client resends, by its path hash, among
//! 10,000 conversations of 100 messages each, every one with its own text. Measured
//! twice: the store's look-up alone (`Store::conversation_by_path`, in this process on
//! the same file) and whole `POST /v1/chat/completions` requests carrying a 100-message
//! history, against requests with no history (a new conversation) on the same chatd.
//! Also how long filling the hashes of a million messages written without them takes,
//! as a chatd upgraded onto such a database does at start-up.
//!
//! Run alone with `cargo run --release -p chatd-bench -- front-door`.

use std::time::Instant;

use anyhow::{Context, bail};
use bytes::Bytes;
use chatd::store::{Location, Store, paths};
use common::Role;
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::{Value, json};

use crate::harness::{Env, progress};
use crate::load::{self, Samples};
use crate::report::{Table, ms};
use crate::seed;

const CONVERSATIONS: i64 = 10_000;
const MESSAGES_EACH: i64 = 100;
/// Look-ups through the store, and requests of each kind through HTTP.
const LOOKUPS: usize = 2_000;
const REQUESTS: usize = 200;

/// What message `j` of seeded conversation `c` (11 onwards) says: its own text, so no
/// two conversations share a path.
fn said(c: i64, j: i64) -> (Role, String) {
    let role = if j % 2 == 0 {
        Role::User
    } else {
        Role::Assistant
    };
    (role, format!("{} #{}.{j}", seed::CONTENT, c - 11))
}

/// The seeded owner of conversation `c`.
fn owner(c: i64) -> i64 {
    2 + c % 100
}

/// The conversation the `k`-th probe asks for: spread over the whole table.
fn probe(k: usize) -> i64 {
    11 + (k as i64 * 7919) % CONVERSATIONS
}

pub async fn history_match(env: &Env, table: &mut Table) -> anyhow::Result<()> {
    let db = env.dir.join("paths.db");
    seed::base(&db)?;
    seed::bulk(&db, CONVERSATIONS, 0)?;
    let total = CONVERSATIONS * MESSAGES_EACH;
    seed::run(
        &db,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {total} - 1)
               INSERT INTO messages (conversation_id, role, content, status, created_at)
               SELECT 11 + (i % {CONVERSATIONS}),
                      CASE (i / {CONVERSATIONS}) % 2 WHEN 0 THEN 'user' ELSE 'assistant' END,
                      '{}' || ' #' || (i % {CONVERSATIONS}) || '.' || (i / {CONVERSATIONS}),
                      'complete', '{}' FROM n;
             {}",
            seed::CONTENT,
            seed::AT,
            seed::LINE
        ),
    )?;

    let store = Store::open(&Location::Sqlite(db.clone()), 2)?;
    let filling = Instant::now();
    let filled = store.fill_path_hashes(usize::MAX).await?;
    let fill_secs = filling.elapsed().as_secs_f64();
    progress(&format!(
        "filled the path hashes of {filled} conversations ({total} messages) in {fill_secs:.1} s"
    ));

    let mut lookups = Samples::default();
    for k in 0..LOOKUPS {
        let c = probe(k);
        let mut hash = paths::start(None);
        for j in 0..MESSAGES_EACH {
            let (role, content) = said(c, j);
            hash = paths::next(&hash, role, &content);
        }
        let at = Instant::now();
        let found = store.conversation_by_path(owner(c), hash).await?;
        lookups.push(at.elapsed());
        if found.map(|(id, _)| id) != Some(c) {
            bail!("the look-up of conversation {c}'s path found {found:?}");
        }
    }
    lookups.sort();
    drop(store);

    // The echo provider without its default 50 ms between tokens: what is timed is
    // chatd finding and storing the conversation, not the echo's pacing (with it, the
    // 400 requests took six minutes of the run and every figure was mostly the delay).
    let server = env
        .chatd(&db, &["--echo-delay-ms".into(), "0".into()], "front-door")
        .await?;
    let addr = server.addr;
    let mut resent = Samples::default();
    let mut fresh = Samples::default();
    for k in 0..REQUESTS {
        let c = probe(k);
        let mut messages: Vec<Value> = (0..MESSAGES_EACH)
            .map(|j| {
                let (role, content) = said(c, j);
                json!({"role": role.as_str(), "content": content})
            })
            .collect();
        messages.push(json!({"role": "user", "content": "and then?"}));
        let user = format!("seed{}", owner(c));
        let (landed, took) = complete(addr, &user, messages).await?;
        if landed != c {
            bail!("the resent history of conversation {c} landed in {landed}");
        }
        resent.push(took);
        let (_, took) = complete(
            addr,
            &user,
            vec![json!({"role": "user", "content": "a new question"})],
        )
        .await?;
        fresh.push(took);
    }
    server.stop().await;
    resent.sort();
    fresh.sort();

    let scenario = "front door";
    table.info(
        scenario,
        &format!("filling the path hashes of {total} messages written without them"),
        format!("{fill_secs:.1} s"),
    );
    table.check(
        scenario,
        &format!("history look-up in the store at {total} messages, p50 / p99 of {LOOKUPS}"),
        "p99 < 1 ms",
        format!("{} / {}", ms(lookups.pct_ms(50)), ms(lookups.pct_ms(99))),
        String::new(),
        lookups.pct_ms(99) < 1.0,
    );
    table.info(
        scenario,
        &format!(
            "POST /v1/chat/completions resending 100 messages, p50 / p99 of {REQUESTS} (echo)"
        ),
        format!("{} / {}", ms(resent.pct_ms(50)), ms(resent.pct_ms(99))),
    );
    table.info(
        scenario,
        &format!("the same with no history (a new conversation), p50 / p99 of {REQUESTS}"),
        format!("{} / {}", ms(fresh.pct_ms(50)), ms(fresh.pct_ms(99))),
    );
    Ok(())
}

/// One whole (not streamed) chat completion; the conversation it landed in and how
/// long it took.
async fn complete(
    addr: std::net::SocketAddr,
    user: &str,
    messages: Vec<Value>,
) -> anyhow::Result<(i64, std::time::Duration)> {
    let body = json!({"model": "echo", "user": user, "messages": messages}).to_string();
    let mut sender = load::connect(addr).await?;
    let at = Instant::now();
    let response = sender
        .send_request(load::request(
            addr,
            Method::POST,
            "/v1/chat/completions",
            Some(body),
        ))
        .await?;
    let status = response.status().as_u16();
    let landed = response
        .headers()
        .get("x-chatd-conversation")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body: Bytes = response.into_body().collect().await?.to_bytes();
    let took = at.elapsed();
    if status != 200 {
        bail!(
            "the front door answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok((landed.context("no X-Chatd-Conversation header")?, took))
}
