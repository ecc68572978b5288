//! `GET /events` (issue 15, "a live feed"): every kind of event with its ids, the
//! `?user_id=` filter, resuming with `Last-Event-ID`, `lagged` for an id outside the
//! window and for a client that does not read, and, on PostgreSQL, the feed across two
//! processes and through a `pg_terminate_backend` of the relay's connection.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::on_both_backends;
use crate::support::{Backend, Daemon, WAIT, read_json};

on_both_backends!(
    every_kind_is_announced_with_its_ids_and_filtered_by_user,
    a_client_resumes_with_its_last_event_id_and_lags_outside_the_window,
    titles_and_the_ai_sdk_routes_conversations_are_announced,
);

#[derive(Debug, Clone)]
struct FeedEvent {
    id: String,
    event: String,
    data: Value,
}

type Feed = std::pin::Pin<Box<dyn futures_util::Stream<Item = FeedEvent> + Send>>;

async fn open(chatd: &Daemon, query: &str, last_event_id: Option<&str>) -> Feed {
    let mut request = chatd.client.get(chatd.url(&format!("/events{query}")));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("GET /events");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Box::pin(response.bytes_stream().eventsource().map(|event| {
        let event = event.expect("a well-formed event stream");
        FeedEvent {
            id: event.id,
            data: serde_json::from_str(&event.data).expect("JSON data"),
            event: event.event,
        }
    }))
}

/// Reads until an event `until` says it is the last wanted.
async fn read_until(feed: &mut Feed, until: impl Fn(&FeedEvent) -> bool) -> Vec<FeedEvent> {
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(WAIT, feed.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on");
        let last = until(&event);
        events.push(event);
        if last {
            return events;
        }
    }
}

fn kinds(events: &[FeedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

async fn every_kind_is_announced_with_its_ids_and_filtered_by_user() {
    let chatd = Daemon::start_with(&["--titles", "off"]).await;
    let mut all = open(&chatd, "", None).await;
    let other = chatd.create_user("someone else").await;
    let mut theirs = open(&chatd, &format!("?user_id={other}"), None).await;
    let user = chatd.create_user("watched").await;
    let id = chatd.create_conversation(user).await;
    let (status, _) = chatd
        .patch(&format!("/conversations/{id}"), json!({"name": "named"}))
        .await;
    assert_eq!(status, 200);
    chatd.chat(id, "hello there").await.text().await.unwrap();
    let messages = chatd.messages(id).await;
    let elsewhere = chatd.create_conversation(other).await;
    let response = chatd
        .client
        .delete(chatd.url(&format!("/conversations/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let events = read_until(&mut all, |e| e.event == "conversation.deleted").await;
    assert_eq!(
        kinds(&events),
        [
            "user.created",
            "user.created",
            "conversation.created",
            "conversation.updated",
            "message.created",
            "reply.started",
            "message.created",
            "reply.ended",
            "conversation.created",
            "conversation.deleted"
        ]
    );
    let data: Vec<&Value> = events.iter().map(|e| &e.data).collect();
    let (question, answer) = (messages[0]["id"].clone(), messages[1]["id"].clone());
    assert_eq!(
        data[1],
        &json!({"type": "user.created", "user_id": user, "username": "watched"})
    );
    assert_eq!(
        data[2],
        &json!({"type": "conversation.created", "conversation_id": id, "user_id": user})
    );
    assert_eq!(
        data[3],
        &json!({"type": "conversation.updated", "conversation_id": id, "user_id": user})
    );
    assert_eq!(
        data[4],
        &json!({"type": "message.created", "message_id": question, "conversation_id": id,
            "user_id": user, "role": "user"})
    );
    assert_eq!(
        data[5],
        &json!({"type": "reply.started", "conversation_id": id, "user_id": user,
            "reply_id": question})
    );
    assert_eq!(data[6]["message_id"], answer);
    assert_eq!(data[6]["role"], "assistant");
    assert_eq!(
        data[7],
        &json!({"type": "reply.ended", "conversation_id": id, "user_id": user,
            "reply_id": question, "message_id": answer, "status": "complete", "stored": true})
    );
    assert_eq!(
        data[9],
        &json!({"type": "conversation.deleted", "conversation_id": id, "user_id": user})
    );
    // Ids are distinct and in order.
    let numbers: Vec<u64> = events
        .iter()
        .map(|e| e.id.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");

    // The other user's stream saw only what is theirs.
    let mine = read_until(&mut theirs, |e| e.event == "conversation.created").await;
    assert_eq!(kinds(&mine), ["conversation.created"]);
    assert_eq!(mine[0].data["conversation_id"], elsewhere);

    for query in ["?user_id=x", "?seconds=-1", "?seconds=86401", "?after=nope"] {
        let (status, body) = chatd.get(&format!("/events{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
    }
}

/// What chatd does on its own is announced too: the title it gives an unnamed
/// conversation after its first reply, and the conversation the AI SDK route makes for
/// a chat id it has not seen.
async fn titles_and_the_ai_sdk_routes_conversations_are_announced() {
    let chatd = Daemon::start().await;
    let mut all = open(&chatd, "", None).await;
    let user = chatd.create_user("titled").await;
    let id = chatd.create_conversation(user).await;
    chatd
        .chat(id, "Plan a trip to Lyon")
        .await
        .text()
        .await
        .unwrap();
    let events = read_until(&mut all, |e| e.event == "conversation.updated").await;
    assert_eq!(
        events.last().map(|e| &e.data),
        Some(&json!({"type": "conversation.updated", "conversation_id": id, "user_id": user}))
    );
    // Announced once it is stored: whoever reads the conversation then sees the title.
    let (_, settings) = chatd.get(&format!("/conversations/{id}/settings")).await;
    assert_eq!(settings["name"], "Plan a trip to Lyon", "{settings}");
    assert_eq!(settings["title_source"], "first_line");

    let body = json!({
        "id": "chat-from-the-web",
        "trigger": "submit-message",
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}],
    });
    let response = chatd
        .client
        .post(chatd.url("/ui/chat"))
        .header("x-chatd-user", "titled")
        .json(&body)
        .send()
        .await
        .expect("POST /ui/chat");
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
    let events = read_until(&mut all, |e| e.event == "conversation.created").await;
    let created = &events.last().expect("an event").data;
    assert_eq!(created["user_id"], user, "{created}");
    let (_, listed) = chatd.get(&format!("/users/{user}/conversations")).await;
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(ids.contains(&&created["conversation_id"]), "{listed}");
    assert_ne!(created["conversation_id"], id);
}

async fn a_client_resumes_with_its_last_event_id_and_lags_outside_the_window() {
    let chatd = Daemon::start().await;
    let mut feed = open(&chatd, "", None).await;
    for name in ["a", "b", "c"] {
        chatd.create_user(name).await;
    }
    let seen = read_until(&mut feed, |e| e.data["username"] == "c").await;
    drop(feed);
    chatd.create_user("d").await;
    // Resumed after the first: the rest, then what came while away, then live.
    let mut resumed = open(&chatd, "", Some(&seen[0].id)).await;
    let again = read_until(&mut resumed, |e| e.data["username"] == "d").await;
    let names: Vec<&Value> = again.iter().map(|e| &e.data["username"]).collect();
    assert_eq!(names, [&json!("b"), &json!("c"), &json!("d")]);
    assert_eq!(again[0].id, seen[1].id, "the same ids");
    // `?after=` does the same, for clients that cannot set the header.
    let mut after = open(&chatd, &format!("?after={}", seen[2].id), None).await;
    let rest = read_until(&mut after, |e| e.data["username"] == "d").await;
    assert_eq!(rest.len(), 1);

    // An id of another run (or process): a `lagged` at once, then live.
    let mut foreign = open(&chatd, "", Some("0badc0de-2")).await;
    chatd.create_user("e").await;
    let events = read_until(&mut foreign, |e| e.event == "user.created").await;
    assert_eq!(kinds(&events), ["lagged", "user.created"]);
    assert_eq!(events[0].data["reason"], "outside_window");
    assert_eq!(events[0].data["oldest"], json!(seen[0].id));
    assert!(events[0].id.is_empty(), "a lagged event has no id");

    // `?seconds=0`: what was missed, then the end of the stream.
    let missed = chatd
        .client
        .get(chatd.url(&format!("/events?seconds=0&after={}", seen[1].id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(missed.matches("event: user.created").count(), 3, "{missed}");
    // `?seconds=` closes the stream.
    let started = std::time::Instant::now();
    let body = chatd
        .client
        .get(chatd.url("/events?seconds=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(5), "{body}");
}

/// A client that sends its request and reads nothing, with a small receive buffer.
async fn stalled_client(chatd: &Daemon) -> tokio::net::TcpStream {
    let address: std::net::SocketAddr = chatd
        .url("")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request = format!("GET /api/v1/events HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The feed is the same code on both backends: SQLite alone here, as it makes the
/// thousands of events this needs fastest.
#[tokio::test]
async fn a_client_that_does_not_read_lags_and_holds_no_one_back() {
    let chatd = Daemon::start_with(&["--events-buffer", "16"]).await;
    let user = chatd.create_user("busy").await;
    let mut stalled = stalled_client(&chatd).await;
    let mut reader = open(&chatd, "", None).await;
    // 3000 conversations, made eight at a time (the reading client keeps up), then
    // deleted with their user at once: 3000 `conversation.deleted` in one burst, far
    // past the stalled client's 16 events of buffer. (The sockets and hyper's write
    // buffer would take megabytes before a client that merely stops reading is
    // behind; the burst gets there without them.)
    const MADE: usize = 3000;
    let made = futures_util::stream::iter(0..MADE)
        .map(|_| chatd.post("/conversations/", json!({"user_id": user})))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    assert!(made.iter().all(|(status, _)| *status == 200));
    let last_id = made
        .iter()
        .map(|(_, body)| body["id"].as_i64().unwrap())
        .max()
        .unwrap();
    // The reading client has the same 16 events of buffer: on a busy machine it may be
    // told it lagged too, which ends its part here.
    // Conversations made concurrently are announced in the order they are stored,
    // not by id: the reader waits for all of them (or its own lag).
    let created = std::cell::Cell::new(0);
    read_until(&mut reader, |e| {
        if e.event == "conversation.created" {
            created.set(created.get() + 1);
        }
        created.get() == MADE || e.event == "lagged"
    })
    .await;
    let response = chatd
        .client
        .delete(chatd.url(&format!("/users/{user}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // The reader goes on to the end of the burst (it may be told it lagged too).
    read_until(&mut reader, |e| {
        e.event == "conversation.deleted" && e.data["conversation_id"] == last_id
            || e.event == "lagged"
    })
    .await;
    chatd.create_user("after the flood").await;
    read_until(&mut reader, |e| e.data["username"] == "after the flood").await;
    let (status, _) = chatd.get("/status").await;
    assert_eq!(status, 200);

    // The stalled client now reads: a `lagged` (slow, with how many it missed) and the
    // stream went on after it.
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let text = loop {
        let mut buffer = [0u8; 65536];
        let n = tokio::time::timeout_at(deadline, stalled.read(&mut buffer))
            .await
            .expect("the stalled client's stream in time")
            .unwrap();
        assert!(n > 0, "the stream went on");
        raw.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if text.contains("after the flood") {
            break text;
        }
    };
    let lagged = text
        .split("\n\n")
        .find_map(|event| {
            let mut lines = event.lines().skip_while(|l| !l.starts_with("event: "));
            (lines.next()? == "event: lagged")
                .then(|| lines.next()?.strip_prefix("data: ").map(str::to_string))
                .flatten()
        })
        .unwrap_or_else(|| {
            panic!(
                "no lagged event in {} bytes, {} events",
                text.len(),
                text.matches("\n\n").count()
            )
        });
    let lagged: Value = serde_json::from_str(&lagged).unwrap();
    assert_eq!(lagged["reason"], "slow");
    assert!(lagged["missed"].as_u64().unwrap() > 0, "{lagged}");
    let (status, _) = read_json(chatd.client.get(chatd.url("/status")).send().await.unwrap()).await;
    assert_eq!(status, 200);
}

/// The relay connection of `chatd` killed; how many connections were.
fn kill_listener(chatd: &Daemon) -> i64 {
    crate::relay::kill_listener(chatd)
}

#[tokio::test]
async fn events_cross_processes_and_a_killed_listener_is_announced() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
        return;
    };
    backend
        .run(async {
            let a = Daemon::start_with(&["--titles", "off"]).await;
            let b = a.another_on_same_database(&["--titles", "off"]).await;
            let mut on_a = open(&a, "", None).await;
            // A's relay connection may still be opening: B's events reach A once it
            // listens, so users are made on B until one arrives.
            let deadline = tokio::time::Instant::now() + WAIT;
            let mut warm_ups = 0;
            'listening: loop {
                assert!(tokio::time::Instant::now() < deadline, "A never heard B");
                warm_ups += 1;
                b.create_user(&format!("warm-up {warm_ups}")).await;
                let quiet = tokio::time::Instant::now() + Duration::from_millis(300);
                while let Ok(Some(event)) = tokio::time::timeout_at(quiet, on_a.next()).await {
                    if event.data["username"] == format!("warm-up {warm_ups}") {
                        break 'listening;
                    }
                }
            }
            let user = b.create_user("on b").await;
            let id = b.create_conversation(user).await;
            b.chat(id, "relayed").await.text().await.unwrap();
            let mut events = read_until(&mut on_a, |e| e.event == "reply.ended").await;
            // What is left of the warm-up's.
            events.retain(|e| {
                !e.data["username"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("warm-up"))
            });
            assert_eq!(
                kinds(&events),
                [
                    "user.created",
                    "conversation.created",
                    "message.created",
                    "reply.started",
                    "message.created",
                    "reply.ended"
                ]
            );
            assert_eq!(events[0].data["user_id"], user);
            assert_eq!(events[5].data["status"], "complete");
            // An id of B's feed, resumed on A: another process's epoch, a lagged.
            let mut on_b = open(&b, "", None).await;
            b.create_user("b2").await;
            let b_id = read_until(&mut on_b, |_| true).await[0].id.clone();
            let mut crossed = open(&a, "", Some(&b_id)).await;
            a.create_user("a2").await;
            let first = read_until(&mut crossed, |_| true).await;
            assert_eq!(first[0].event, "lagged");
            assert_eq!(first[0].data["reason"], "outside_window");

            // A's listener killed: a lagged (reason relay), then B's events arrive again.
            assert_eq!(kill_listener(&a), 1);
            let deadline = tokio::time::Instant::now() + WAIT;
            let mut made = 0;
            let mut seen: Vec<FeedEvent> = Vec::new();
            // Users made on B until one reaches A through the new connection.
            while !seen.iter().any(|e| {
                e.data["username"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("after kill"))
            }) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no event after the kill"
                );
                made += 1;
                b.create_user(&format!("after kill {made}")).await;
                let quiet = tokio::time::Instant::now() + Duration::from_millis(300);
                while let Ok(Some(event)) = tokio::time::timeout_at(quiet, on_a.next()).await {
                    seen.push(event);
                }
            }
            assert!(
                seen.iter()
                    .any(|e| e.event == "lagged" && e.data["reason"] == "relay"),
                "the loss was announced: {:?}",
                kinds(&seen)
            );
        })
        .await;
}
