//! Resuming reply streams from a cursor (issue 15): every event of `?events=true` and of
//! the attach stream has an `id:`, `Last-Event-ID` or `?after=` resumes after it (live,
//! or from the stored message once the reply has ended), bad cursors are refused, a
//! reply interrupted by a restart is answered as stored, and `?wait=` waits for the
//! next reply.

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Daemon, FakeUpstream, Upstream, WAIT, daemon_for, read_json};

on_both_backends!(
    seeded_disconnects_of_200_replies_resume_to_the_stored_text,
    a_reply_interrupted_by_a_restart_is_answered_as_stored,
    reasoning_and_content_resume_alike_from_every_event,
);

/// One event as a conforming client reads it, with its id.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) data: String,
}

/// A small seeded generator (SplitMix64), so a failure replays with its seed.
pub(crate) struct Seeded(pub(crate) u64);

impl Seeded {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Reads up to `limit` events of a stream (all with `None`), then drops the connection.
pub(crate) async fn read_some(response: reqwest::Response, limit: Option<usize>) -> Vec<Event> {
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::new();
    while limit.is_none_or(|limit| events.len() < limit) {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("an event in time")
        {
            None => break,
            Some(Ok(event)) => events.push(Event {
                id: event.id,
                event: event.event,
                data: event.data,
            }),
            Some(Err(e)) => panic!("bad event stream: {e}"),
        }
    }
    events
}

pub(crate) async fn attach(
    chatd: &Daemon,
    id: i64,
    query: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/reply?events=true{query}")));
    if let Some(cursor) = last_event_id {
        request = request.header("last-event-id", cursor);
    }
    request.send().await.expect("GET /conversations/{id}/reply")
}

pub(crate) fn text_of(events: &[Event]) -> String {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| e.data.as_str())
        .collect()
}

/// One reply read over several connections, each dropped after a seeded number of
/// events and resumed with the last id seen (as a header or as `?after=`, sometimes
/// after a pause so that the reply has ended and is read from the store): the text
/// read must be the stored reply, with one `start` and one `end`. The chat is sent to
/// the first of `daemons` and each resume to the next in turn (processes sharing a
/// database, for resumes across processes).
async fn follow_with_disconnects(
    daemons: &[&Daemon],
    id: i64,
    message: &str,
    mut rng: Seeded,
) -> (String, Value) {
    let first = daemons[0].chat_with_events(id, message).await;
    assert_eq!(first.status(), 200);
    // At least the `start` event, whose id names the reply: a client that saw nothing
    // has no cursor, and only the reply in flight can be attached without one.
    let mut events = read_some(first, Some(1 + rng.below(6) as usize)).await;
    for round in 0.. {
        if events.last().is_some_and(|e| e.event == "end") {
            break;
        }
        assert!(round < 200, "the reply never ended");
        if rng.below(4) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(rng.below(40))).await;
        }
        let last = events.last().map(|e| e.id.clone());
        let chatd = daemons[(round + 1) % daemons.len()];
        let response = match (&last, rng.below(2)) {
            (Some(cursor), 0) => attach(chatd, id, &format!("&after={cursor}"), None).await,
            (cursor, _) => attach(chatd, id, "", cursor.as_deref()).await,
        };
        assert_eq!(response.status(), 200, "resumed after {last:?}");
        let limit = (rng.below(3) > 0).then(|| 1 + rng.below(5) as usize);
        let more = read_some(response, limit).await;
        if last.is_some() {
            assert!(
                more.iter().all(|e| e.event != "start"),
                "a resumed stream does not start again"
            );
        }
        events.extend(more);
    }
    for event in &events {
        assert!(!event.id.is_empty(), "every event has an id: {event:?}");
    }
    assert_eq!(events.iter().filter(|e| e.event == "start").count(), 1);
    assert_eq!(events.iter().filter(|e| e.event == "end").count(), 1);
    let end: Value = serde_json::from_str(&events.last().expect("an end").data).expect("JSON");
    (text_of(&events), end)
}

async fn seeded_disconnects_of_200_replies_resume_to_the_stored_text() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "2"]).await;
    resume_200_replies(&[&chatd]).await;
}

/// 200 seeded replies, each followed with disconnects over `daemons` (see
/// `follow_with_disconnects`), each read whole and once.
pub(crate) async fn resume_200_replies(daemons: &[&Daemon]) {
    let seed: u64 = std::env::var("CHATD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    eprintln!("seed {seed} (set CHATD_TEST_SEED to replay another)");
    let mut rng = Seeded(seed);
    let words = [
        "alpha",
        "béta",
        "γάμμα",
        "delta\nnew",
        "line",
        "雪",
        "  spaced",
        "end.",
    ];
    let mut jobs = Vec::new();
    for reply in 0..200u64 {
        let length = 5 + rng.below(30);
        let message: Vec<&str> = (0..length)
            .map(|_| words[rng.below(words.len() as u64) as usize])
            .collect();
        jobs.push((reply, message.join(" "), Seeded(rng.next())));
    }
    // Twenty conversations at once, ten replies each, one after another.
    let mut lanes = Vec::new();
    for lane in jobs.chunks(10) {
        let lane = lane
            .iter()
            .map(|(n, m, r)| (*n, m.clone(), Seeded(r.0)))
            .collect::<Vec<_>>();
        let chatd = daemons[0];
        lanes.push(async move {
            let id = chatd.conversation().await;
            for (reply, message, rng) in lane {
                let (text, end) = follow_with_disconnects(daemons, id, &message, rng).await;
                let messages = chatd.messages(id).await;
                let stored = messages.last().expect("a stored reply");
                assert_eq!(stored["role"], "assistant");
                assert_eq!(text, stored["content"], "reply {reply} read whole, once");
                assert_eq!(text, message, "reply {reply} is the echo");
                assert_eq!(end["status"], "complete");
                assert_eq!(end["message"]["id"], stored["id"]);
            }
        });
    }
    futures_util::future::join_all(lanes).await;
}

async fn a_reply_interrupted_by_a_restart_is_answered_as_stored() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "100", "--shutdown-grace-secs", "0"]).await;
    let id = chatd.conversation().await;
    let message = "one two three four five six seven eight nine ten eleven twelve";
    let first = chatd.chat_with_events(id, message).await;
    let seen = read_some(first, Some(4)).await;
    let cursor = seen.last().expect("events").id.clone();
    let chatd = chatd.restart().await;
    let messages = chatd.messages(id).await;
    let stored = messages.last().expect("the interrupted reply");
    assert_eq!(stored["status"], "interrupted");
    let stored_text = stored["content"].as_str().expect("text").to_string();

    // Without a cursor: the stored text and its end.
    let whole = read_some(attach(&chatd, id, "", None).await, None).await;
    assert_eq!(whole.first().map(|e| e.event.as_str()), Some("start"));
    assert_eq!(text_of(&whole), stored_text);
    let end: Value = serde_json::from_str(&whole.last().expect("end").data).unwrap();
    assert_eq!(end["status"], "interrupted");

    // With the cursor seen before the restart: the rest, then the end.
    let rest = read_some(attach(&chatd, id, "", Some(&cursor)).await, None).await;
    assert_eq!(format!("{}{}", text_of(&seen), text_of(&rest)), stored_text);
    assert_eq!(rest.last().map(|e| e.event.as_str()), Some("end"));

    // Past the end there is nothing more: the plain 404, and `wait` waits for the next.
    let end_cursor = whole.last().expect("end").id.clone();
    assert!(end_cursor.ends_with(":end"), "{end_cursor}");
    let (status, _) = read_json(attach(&chatd, id, "", Some(&end_cursor)).await).await;
    assert_eq!(status, 404);
    let waiting = attach(&chatd, id, "&wait=10", Some(&end_cursor));
    let sending = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        chatd.chat(id, "after the restart").await
    };
    let (waited, sent) = tokio::join!(waiting, sending);
    assert_eq!(waited.status(), 200);
    let (next, _) = tokio::join!(read_some(waited, None), read_some(sent, None));
    assert_eq!(text_of(&next), "after the restart");
}

#[tokio::test]
async fn only_streams_with_events_and_attaches_carry_ids() {
    let chatd = Daemon::start_with(&["--echo-delay-ms", "20"]).await;
    let id = chatd.conversation().await;
    let plain = chatd.chat(id, "a b c").await.text().await.unwrap();
    assert_eq!(
        plain, "data: a\n\ndata:  b\n\ndata:  c\n\n",
        "the documented stream"
    );

    let with_events = chatd.chat_with_events(id, "d e").await;
    let user_id = {
        let events = read_some(with_events, None).await;
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let reply = ids[0].split(':').next().unwrap().to_string();
        assert_eq!(
            ids,
            [
                format!("{reply}:0"),
                format!("{reply}:1"),
                format!("{reply}:3"),
                format!("{reply}:end")
            ]
        );
        reply
    };
    let messages = chatd.messages(id).await;
    assert_eq!(
        messages[messages.len() - 2]["id"].to_string(),
        user_id,
        "a reply is named by its user message"
    );
    // Resumed inside the stored reply from a cursor chatd never sent mid-delta: the
    // characters after it.
    let rest = read_some(
        attach(&chatd, id, &format!("&after={user_id}:2"), None).await,
        None,
    )
    .await;
    assert_eq!(text_of(&rest), "e");
    // The plain attach (without events) carries ids too.
    let plain_attach = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/reply?after={user_id}:0")))
        .send()
        .await
        .unwrap();
    let events = read_some(plain_attach, None).await;
    assert_eq!(text_of(&events), "d e");
    assert!(
        events
            .iter()
            .all(|e| e.id.starts_with(&format!("{user_id}:")))
    );
}

#[tokio::test]
async fn bad_cursors_get_a_detail_and_never_a_guess() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let other = chatd.conversation().await;
    let response = chatd.chat(other, "elsewhere").await;
    let _ = response.text().await;
    let other_reply = chatd.messages(other).await[0]["id"].as_i64().unwrap();
    chatd.chat(id, "here it is").await.text().await.unwrap();
    let reply = chatd.messages(id).await[0]["id"].as_i64().unwrap();

    for (query, header) in [
        ("&after=abc", None),
        ("&after=7", None),
        ("&after=7:1:2:3", None),
        ("", Some("7:-1")),
        ("", Some("0:1")),
    ] {
        let (status, body) = read_json(attach(&chatd, id, query, header).await).await;
        assert_eq!(status, 422, "{query} {header:?}: {body}");
        let loc = &body["detail"][0]["loc"];
        assert_eq!(loc[0], if header.is_some() { "header" } else { "query" });
    }
    for cursor in [
        format!("{other_reply}:1"),
        format!("{}:0", reply + 1000),
        // A message id that is an answer, not a reply's name.
        format!("{}:0", reply + 1),
        // Past the stored reply's text.
        format!("{reply}:999"),
        format!("{reply}:0:5"),
    ] {
        let (status, body) = read_json(attach(&chatd, id, "", Some(&cursor)).await).await;
        assert_eq!(status, 400, "{cursor}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    for query in ["&wait=61", "&wait=-1", "&wait=soon"] {
        let (status, body) = read_json(attach(&chatd, id, query, None).await).await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    // Nothing streams and nothing was interrupted: the 404 chatctl relies on, also
    // after a `wait` with nothing starting.
    let (status, body) = read_json(attach(&chatd, id, "&wait=1", None).await).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "No reply in progress"}))
    );
    // An empty Last-Event-ID is no cursor (EventSource resets it with one).
    let (status, _) = read_json(attach(&chatd, id, "", Some("")).await).await;
    assert_eq!(status, 404);
}

/// A fake upstream that thinks in six deltas and answers in six, `delay` apart; its
/// reasoning and its tokens.
pub(crate) async fn thinking_upstream(delay_ms: u64) -> (FakeUpstream, Vec<String>, Vec<String>) {
    let reasoning: Vec<String> = ["Let me", " think", " about", " it.\n", "Sure", "."]
        .map(String::from)
        .to_vec();
    let tokens: Vec<String> = ["The", " answer", " is", " forty", "-two", "."]
        .map(String::from)
        .to_vec();
    let upstream = FakeUpstream::start(Upstream::Thinking {
        delay: std::time::Duration::from_millis(delay_ms),
        model: "thinker".into(),
        reasoning_field: "reasoning_content",
        reasoning: reasoning.clone(),
        tokens: tokens.clone(),
        finish_reason: "stop",
        prompt_tokens: 1,
        completion_tokens: 1,
    })
    .await;
    (upstream, reasoning, tokens)
}

async fn reasoning_and_content_resume_alike_from_every_event() {
    let (upstream, reasoning, tokens) = thinking_upstream(15).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    // start, the reasoning, the content, end: cut after each in turn, and resume once
    // live and once after the reply has ended.
    let events = 2 + reasoning.len() + tokens.len();
    let mut turns = 0;
    for cut in 1..events {
        for after_the_end in [false, true] {
            let first = chatd.chat_with_events(id, "why?").await;
            let mut seen = read_some(first, Some(cut)).await;
            turns += 1;
            if after_the_end {
                // Stored: the rest comes from the stored message.
                chatd.wait_for_messages(id, 2 * turns).await;
            }
            let last = seen.last().expect("an event").id.clone();
            seen.extend(read_some(attach(&chatd, id, "", Some(&last)).await, None).await);
            let thought: String = seen
                .iter()
                .filter(|e| e.event == "reasoning")
                .map(|e| serde_json::from_str::<String>(&e.data).expect("a JSON string"))
                .collect();
            let end: Value = serde_json::from_str(&seen.last().expect("end").data).unwrap();
            assert_eq!(end["status"], "complete", "cut {cut}");
            assert_eq!(
                thought,
                reasoning.concat(),
                "cut {cut}, after the end {after_the_end}"
            );
            assert_eq!(
                text_of(&seen),
                tokens.concat(),
                "cut {cut}, after the end {after_the_end}"
            );
            assert_eq!(end["message"]["reasoning"], reasoning.concat());
            assert_eq!(end["message"]["content"], tokens.concat());
        }
    }
}
