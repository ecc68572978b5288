//! Export and import on both backends: a conversation as chatd JSON and as Markdown, a
//! user's conversations as JSON Lines, the round trip into a fresh database, ChatGPT's
//! `conversations.json` (a branching conversation, hidden and non-text nodes), malformed
//! documents (fixed cases, and seeded mutations of valid ones), and a 50 MB import read
//! as a stream (its peak memory measured).

use serde_json::{Value, json};

use crate::property::Rng;
use crate::support::{Daemon, read_events, read_json, unique};

pub async fn import(
    chatd: &Daemon,
    user: i64,
    query: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = chatd
        .client
        .post(chatd.url(&format!("/users/{user}/import{query}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST import");
    read_json(response).await
}

async fn export_lines(chatd: &Daemon, user: i64) -> Vec<Value> {
    let response = chatd
        .client
        .get(chatd.url(&format!("/users/{user}/export")))
        .send()
        .await
        .expect("GET export");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let text = response.text().await.expect("body");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect()
}

/// A chatd document with what a chat through the echo provider never makes: reasoning,
/// usage, a failed reply, settings.
fn rich_document() -> Value {
    json!({
        "format": "chatd.conversation",
        "version": 1,
        "conversation": {
            "id": 41, "user_id": 9, "name": "Fences and thoughts",
            "created_at": "2025-03-01T10:00:00.000000Z", "title_source": "user",
            "model": "echo/big", "system_prompt": "Be brief.",
            "params": {"temperature": 0.5, "max_tokens": 64}
        },
        "messages": [
            {"role": "user", "content": "Show code", "id": 1, "conversation_id": 41,
             "created_at": "2025-03-01T10:00:01.000000Z", "status": "complete"},
            {"role": "assistant", "content": "Here:\n```rust\nfn main() {}\n```\n", "id": 2,
             "conversation_id": 41, "created_at": "2025-03-01T10:00:02.500000Z",
             "status": "complete", "model": "echo/big", "finish_reason": "stop",
             "usage": {"prompt_tokens": 12, "completion_tokens": 7}, "ttft_ms": 30,
             "duration_ms": 120, "reasoning": "They want Rust."},
            {"role": "user", "content": "Again", "id": 3, "conversation_id": 41,
             "created_at": "2025-03-01T10:01:00.000000Z", "status": "complete"},
            {"role": "assistant", "content": "Sor", "id": 4, "conversation_id": 41,
             "created_at": "2025-03-01T10:01:01.000000Z", "status": "failed"}
        ]
    })
}

/// An export with the ids a database hands out taken away, and the user; the tree's
/// references (`parent_id`, `active_leaf_id`) become indices into `messages`, so two
/// databases' exports of one tree compare equal.
pub fn without_ids(mut document: Value) -> Value {
    let ids: Vec<Value> = document["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let index_of = |id: &Value| json!(ids.iter().position(|known| known == id));
    let conversation = document["conversation"]
        .as_object_mut()
        .expect("conversation");
    conversation.remove("id");
    conversation.remove("user_id");
    if let Some(leaf) = conversation.get_mut("active_leaf_id") {
        *leaf = index_of(leaf);
    }
    for message in document["messages"].as_array_mut().expect("messages") {
        let message = message.as_object_mut().expect("message");
        message.remove("id");
        message.remove("conversation_id");
        if let Some(parent) = message.get_mut("parent_id") {
            *parent = index_of(parent);
        }
    }
    document
}

/// A version 1 document (one line, no `parent_id`) as this chatd exports it again:
/// version 2, each message after the one before it, the last one active.
pub fn as_exported_line(mut document: Value) -> Value {
    document["version"] = json!(2);
    let messages = document["messages"].as_array_mut().expect("messages");
    let mut previous: Option<Value> = None;
    for message in messages.iter_mut() {
        if let Some(parent) = previous.take() {
            message["parent_id"] = parent;
        }
        previous = Some(message["id"].clone());
    }
    document["conversation"]["active_leaf_id"] = previous.unwrap_or(Value::Null);
    document
}

async fn a_conversation_exports_as_json_and_markdown() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("export-{}", unique())).await;
    let (status, summary) = import(&chatd, user, "", rich_document().to_string()).await;
    assert_eq!(
        (status, summary),
        (200, json!({"imported": 1, "skipped": []}))
    );
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    let id = list[0]["id"].as_i64().expect("id");

    let (status, document) = chatd
        .get(&format!("/conversations/{id}/export?format=json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(document["format"], "chatd.conversation");
    assert_eq!(document["version"], 2);
    assert_eq!(document["conversation"]["id"], id);
    assert_eq!(document["conversation"]["user_id"], user);
    assert_eq!(
        without_ids(document),
        without_ids(as_exported_line(rich_document()))
    );

    let response = chatd
        .client
        .get(chatd.url(&format!("/conversations/{id}/export?format=markdown")))
        .send()
        .await
        .expect("GET markdown");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let markdown = response.text().await.expect("body");
    assert!(markdown.starts_with(&format!(
        "---\ntitle: \"Fences and thoughts\"\nconversation_id: {id}\nuser_id: {user}\ncreated_at: \"2025-03-01T10:00:00.000000Z\"\n"
    )), "{markdown}");
    assert!(markdown.contains("\n# Fences and thoughts\n"), "{markdown}");
    assert!(markdown.contains("## User · 2025-03-01T10:00:01.000000Z\n\nShow code\n"));
    assert!(markdown.contains(
        "## Assistant · 2025-03-01T10:00:02.500000Z · echo/big\n\n<details>\n<summary>Reasoning</summary>\n\nThey want Rust.\n\n</details>\n\nHere:\n```rust\nfn main() {}\n```\n"
    ), "{markdown}");
    assert!(markdown.contains("## Assistant · 2025-03-01T10:01:01.000000Z · failed\n\nSor\n"));

    let (status, body) = chatd
        .get(&format!("/conversations/{id}/export?format=pdf"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["query", "format"]));
    let (status, _) = chatd.get("/conversations/999999999/export").await;
    assert_eq!(status, 404);
    let (status, _) = chatd.get("/users/999999999/export").await;
    assert_eq!(status, 404);
}

async fn export_then_import_into_a_fresh_database_gives_the_same_document() {
    let first = Daemon::start().await;
    let user = first.create_user(&format!("trip-{}", unique())).await;
    let (status, body) = first
        .post(
            "/conversations/",
            json!({
                "user_id": user, "name": "Settings kept", "model": "echo/other",
                "system_prompt": "You are terse.", "params": {"temperature": 0.2, "seed": 7}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let conversation = body["id"].as_i64().expect("id");
    for text in ["first 数据库 message", "second ```code``` message"] {
        read_events(first.chat(conversation, text).await).await;
    }
    first.wait_for_messages(conversation, 4).await;
    let unnamed = first.create_conversation(user).await;
    read_events(first.chat(unnamed, "a title comes from this").await).await;
    first.wait_for_messages(unnamed, 2).await;
    let (status, _) = import(&first, user, "", rich_document().to_string()).await;
    assert_eq!(status, 200);
    let exported = export_lines(&first, user).await;
    assert_eq!(exported.len(), 3);

    let second = Daemon::start().await;
    let someone = second.create_user(&format!("trip-{}", unique())).await;
    let jsonl: String = exported.iter().map(|d| format!("{d}\n")).collect();
    let (status, summary) = import(&second, someone, "?from=chatd", jsonl).await;
    assert_eq!(
        (status, summary),
        (200, json!({"imported": 3, "skipped": []}))
    );
    let again = export_lines(&second, someone).await;
    let before: Vec<Value> = exported.into_iter().map(without_ids).collect();
    let after: Vec<Value> = again.into_iter().map(without_ids).collect();
    assert_eq!(before, after);
}

/// A ChatGPT export with the real format's fields: a conversation that branched (an
/// edited question; `current_node` is on the second branch), a system root, a hidden
/// node, a tool call, and an image part; and a plain one.
fn chatgpt_export() -> Value {
    let node = |id: &str, parent: Option<&str>, children: &[&str], message: Value| json!({"id": id, "message": message, "parent": parent, "children": children});
    let message = |id: &str, role: &str, time: f64, content: Value, metadata: Value| {
        json!({
            "id": id, "author": {"role": role, "name": null, "metadata": {}},
            "create_time": time, "update_time": null, "content": content,
            "status": "finished_successfully", "end_turn": true, "weight": 1.0,
            "metadata": metadata, "recipient": "all", "channel": null
        })
    };
    let text = |parts: &[&str]| json!({"content_type": "text", "parts": parts});
    let branching = json!({
        "title": "Trip to Kyoto",
        "create_time": 1_700_000_000.25,
        "update_time": 1_700_000_900.5,
        "mapping": {
            "root": node("root", None, &["sys"], Value::Null),
            "sys": node("sys", Some("root"), &["ctx"], message("sys", "system", 1_700_000_000.3,
                text(&[""]), json!({"is_visually_hidden_from_conversation": true}))),
            "ctx": node("ctx", Some("sys"), &["q1", "q2"], message("ctx", "user", 1_700_000_000.4,
                json!({"content_type": "user_editable_context", "user_profile": "I like trains", "user_instructions": ""}),
                json!({"is_visually_hidden_from_conversation": true}))),
            "q1": node("q1", Some("ctx"), &["a1"], message("q1", "user", 1_700_000_010.0,
                text(&["What to see in Kyoto?"]), json!({}))),
            "a1": node("a1", Some("q1"), &[], message("a1", "assistant", 1_700_000_020.0,
                text(&["The old answer"]), json!({"model_slug": "gpt-4o"}))),
            "q2": node("q2", Some("ctx"), &["tool"], message("q2", "user", 1_700_000_100.0,
                json!({"content_type": "multimodal_text", "parts": [
                    {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc", "size_bytes": 1000, "width": 10, "height": 10},
                    "What is this temple?"
                ]}), json!({}))),
            "tool": node("tool", Some("q2"), &["a2"], message("tool", "tool", 1_700_000_110.0,
                json!({"content_type": "execution_output", "text": "ok"}), json!({}))),
            "a2": node("a2", Some("tool"), &[], message("a2", "assistant", 1_700_000_120.5,
                text(&["That is Kinkaku-ji.", "It is golden."]), json!({"model_slug": "gpt-4o"}))),
        },
        "moderation_results": [],
        "current_node": "a2",
        "conversation_id": "c-1",
        "id": "c-1"
    });
    let plain = json!({
        "title": "",
        "create_time": 1_600_000_000.0,
        "update_time": 1_600_000_000.0,
        "mapping": {
            "r": node("r", None, &["u"], Value::Null),
            "u": node("u", Some("r"), &["b"], message("u", "user", 1_600_000_001.0, text(&["hello"]), json!({}))),
            "b": node("b", Some("u"), &[], message("b", "assistant", 1_600_000_002.0,
                json!({"content_type": "code", "language": "python", "text": "print(1)"}), json!({}))),
        },
        "current_node": "b"
    });
    let empty =
        json!({"title": "nothing", "create_time": 1.0, "mapping": {}, "current_node": "gone"});
    json!([branching, plain, empty, 5])
}

async fn a_chatgpt_export_imports_every_branch() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("gpt-{}", unique())).await;
    let (status, summary) = import(&chatd, user, "", chatgpt_export().to_string()).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["imported"], 2);
    let skipped = summary["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 2, "{summary}");
    assert_eq!(skipped[0]["index"], 2);
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not in `mapping`"),
        "{summary}"
    );
    assert_eq!(
        skipped[1],
        json!({"index": 3, "reason": "not a conversation object"})
    );

    let exported = export_lines(&chatd, user).await;
    let trip = &exported[0];
    assert_eq!(trip["conversation"]["name"], "Trip to Kyoto");
    assert_eq!(
        trip["conversation"]["created_at"],
        "2023-11-14T22:13:20.250000Z"
    );
    // Every branch, oldest first: the first question and its answer, then the edited
    // question (a second child of the hidden context node, so a second root here) and
    // its answer, which follows the tool node left out.
    let trip = without_ids(trip.clone());
    let messages: Vec<(&str, &str, &str, Value)> = trip["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
                m["created_at"].as_str().unwrap(),
                m.get("parent_id").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            (
                "user",
                "What to see in Kyoto?",
                "2023-11-14T22:13:30.000000Z",
                Value::Null
            ),
            (
                "assistant",
                "The old answer",
                "2023-11-14T22:13:40.000000Z",
                json!(0)
            ),
            (
                "user",
                "[image not imported]\n\nWhat is this temple?",
                "2023-11-14T22:15:00.000000Z",
                Value::Null
            ),
            (
                "assistant",
                "That is Kinkaku-ji.\n\nIt is golden.",
                "2023-11-14T22:15:20.500000Z",
                json!(2)
            ),
        ]
    );
    assert_eq!(trip["conversation"]["active_leaf_id"], 3, "{trip}");
    assert_eq!(trip["messages"][3]["model"], "chatgpt/gpt-4o");
    let plain = &exported[1];
    assert_eq!(plain["conversation"]["name"], Value::Null);
    assert_eq!(plain["messages"][1]["content"], "```python\nprint(1)\n```");
}

async fn a_malformed_document_is_a_422_naming_where_and_imports_nothing() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("bad-{}", unique())).await;
    let good = rich_document().to_string();
    let broken =
        format!("{good}\n{good}\n{{\"format\": \"chatd.conversation\", \"version\": 1,,}}\n");
    let (status, body) = import(&chatd, user, "", broken).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"], json!(["body", 2]));
    assert_eq!(body["detail"][0]["ctx"]["line"], 3);
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(list, json!([]), "nothing of a malformed document is stored");

    let (status, body) = import(&chatd, user, "", format!("[{good}, {good}")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", 2]));
    for bad in ["", "   ", "42", "\"text\""] {
        let (status, body) = import(&chatd, user, "", bad.to_string()).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
    }
    let (status, body) = import(&chatd, user, "?from=excel", good.clone()).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (422, &json!(["query", "from"]))
    );
    let response = chatd
        .client
        .post(chatd.url(&format!("/users/{user}/import")))
        .header("content-type", "text/plain")
        .body(good.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 422);
    let (status, _) = import(&chatd, 999_999_999, "", good.clone()).await;
    assert_eq!(status, 404);
    // A document of the wrong version, or without the fields of its format, is skipped.
    let mut newer = rich_document();
    newer["version"] = json!(3);
    let mut missing = rich_document();
    missing["conversation"]
        .as_object_mut()
        .unwrap()
        .remove("created_at");
    let (status, summary) = import(&chatd, user, "", format!("{newer}\n{missing}\n{good}")).await;
    assert_eq!(status, 200);
    assert_eq!(summary["imported"], 1);
    let reasons: Vec<&str> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("version 3"), "{summary}");
    assert!(reasons[1].contains("created_at"), "{summary}");
}

async fn a_conversation_too_large_to_hold_is_a_422_and_imports_nothing() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("huge-{}", unique())).await;
    let mut huge = rich_document();
    huge["messages"][0]["content"] = json!("x".repeat(33 * 1024 * 1024));
    for body in [
        format!("{}\n{huge}\n", rich_document()),
        format!("[{}, {huge}]", rich_document()),
    ] {
        let (status, answer) = import(&chatd, user, "", body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["detail"][0]["type"], "too_long");
        assert_eq!(answer["detail"][0]["loc"], json!(["body", 1]));
    }
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    assert_eq!(list, json!([]));
}

/// The peak resident memory of a process so far, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn a_large_import_is_read_as_a_stream() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("big-{}", unique())).await;
    let pid = chatd.pid().expect("chatd runs");
    let before = peak_rss_kib(pid);
    // 60 MB of ChatGPT export: 1,500 conversations of 20 messages of 2,000 characters.
    let filler = "lorem ipsum dolor sit amet ".repeat(74);
    let mut body = Vec::with_capacity(64 * 1024 * 1024);
    body.push(b'[');
    for c in 0..1500 {
        if c > 0 {
            body.push(b',');
        }
        let mut mapping = serde_json::Map::new();
        mapping.insert(
            "r".into(),
            json!({"id": "r", "message": null, "parent": null, "children": ["m0"]}),
        );
        let mut parent = "r".to_string();
        for m in 0..20 {
            let id = format!("m{m}");
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            mapping.insert(id.clone(), json!({
                "id": id, "parent": parent, "children": [format!("m{}", m + 1)],
                "message": {"id": id, "author": {"role": role}, "create_time": 1_700_000_000.0 + f64::from(m),
                    "content": {"content_type": "text", "parts": [format!("{c}-{m} {filler}")]}, "metadata": {}}
            }));
            parent = id;
        }
        let conversation = json!({"title": format!("big {c}"), "create_time": 1_700_000_000.0,
            "update_time": 1_700_000_100.0, "mapping": mapping, "current_node": "m19"});
        serde_json::to_writer(&mut body, &conversation).expect("serialise");
    }
    body.push(b']');
    assert!(body.len() > 50 * 1024 * 1024, "{} bytes", body.len());
    let size = body.len();
    let (status, summary) = import(&chatd, user, "", body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary, json!({"imported": 1500, "skipped": []}));
    let peak = peak_rss_kib(pid);
    eprintln!("import of {size} bytes: chatd's peak RSS {peak} KiB (before it: {before} KiB)");
    // Holding the document would take its size at least once, and serde_json's Value
    // of it several times more.
    assert!(
        peak < before + 40 * 1024,
        "peak RSS {peak} KiB, {before} KiB before"
    );
    let (_, list) = chatd
        .get(&format!("/users/{user}/conversations?limit=1000&skip=1499"))
        .await;
    assert_eq!(list[0]["name"], "big 1499");
}

/// How many conversations `user` has now.
async fn conversation_count(chatd: &Daemon, user: i64) -> usize {
    let (_, list) = chatd
        .get(&format!("/users/{user}/conversations?limit=1000"))
        .await;
    list.as_array().map_or(0, Vec::len)
}

/// Values that have the wrong type or shape wherever they land in a document.
const HOSTILE_VALUES: &[&str] = &[
    "null",
    "0",
    "-1",
    "1e308",
    "18446744073709551616",
    "\"\"",
    "\"\\u0000\"",
    "[]",
    "{}",
    "true",
    "\"2025-13-45T99:99:99Z\"",
    "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    "{\"mapping\": null}",
    "\"tool\"",
];

/// `value` with one node (picked by `rng`) replaced by a hostile value or removed.
fn mutate_value(value: &mut Value, rng: &mut Rng) {
    let children = match value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    // Go deeper most of the time, so mutations reach the messages and the mapping.
    if children > 0 && rng.below(4) != 0 {
        let at = rng.below(children as u64) as usize;
        if rng.below(6) == 0 {
            match value {
                Value::Object(map) => {
                    if let Some(key) = map.keys().nth(at).cloned() {
                        map.remove(&key);
                    }
                }
                Value::Array(items) => {
                    items.remove(at);
                }
                _ => {}
            }
            return;
        }
        let child = match value {
            Value::Object(map) => map.values_mut().nth(at),
            Value::Array(items) => items.get_mut(at),
            _ => None,
        };
        if let Some(child) = child {
            mutate_value(child, rng);
        }
        return;
    }
    let hostile = HOSTILE_VALUES[rng.below(HOSTILE_VALUES.len() as u64) as usize];
    *value = serde_json::from_str(hostile).expect("the hostile values are JSON");
}

/// A body made from valid documents by `rng`: structural mutations, or the bytes cut,
/// doubled or spliced.
fn mutated_body(rng: &mut Rng) -> Vec<u8> {
    let mut document = if rng.below(2) == 0 {
        rich_document()
    } else {
        chatgpt_export()
    };
    for _ in 0..1 + rng.below(3) {
        mutate_value(&mut document, rng);
    }
    let mut bytes = document.to_string().into_bytes();
    match rng.below(5) {
        0 => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
        1 => {
            let at = rng.below(bytes.len() as u64 + 1) as usize;
            let piece: &[u8] = [
                &b"\n"[..],
                b"\"",
                b"}",
                b"]",
                b",",
                b"\xff\xfe",
                b"\0",
                b"\\u",
            ][rng.below(8) as usize];
            bytes.splice(at..at, piece.iter().copied());
        }
        2 => {
            let line = bytes.clone();
            bytes.push(b'\n');
            bytes.extend_from_slice(&line);
        }
        _ => {}
    }
    bytes
}

/// Seeded mutations of valid chatd and ChatGPT documents: every answer is a 200 that
/// imported what it says, or a 4xx that imported nothing; never a 5xx.
async fn mutated_documents_are_imported_whole_or_refused_whole() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("fuzz-{}", unique())).await;
    let mut imported_so_far = 0;
    let (mut accepted, mut refused) = (0, 0);
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let body = mutated_body(&mut rng);
        let (status, answer) = import(&chatd, user, "", body.clone()).await;
        let now = conversation_count(&chatd, user).await;
        let shown = String::from_utf8_lossy(&body);
        assert!(
            status == 200 || (400..500).contains(&status),
            "seed {seed}: {status} {answer} for {shown}"
        );
        if status == 200 {
            accepted += 1;
            let imported = answer["imported"].as_u64().expect("imported") as usize;
            assert_eq!(now, imported_so_far + imported, "seed {seed}: {answer}");
        } else {
            refused += 1;
            assert!(
                answer["detail"].is_array() || answer["detail"].is_string(),
                "seed {seed}: {answer}"
            );
            assert_eq!(
                now, imported_so_far,
                "seed {seed}: a refused import stored nothing"
            );
        }
        imported_so_far = now;
    }
    eprintln!("mutated imports: {accepted} answered 200, {refused} refused");
    // Both outcomes occur, so the mutations reach past the first check.
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

crate::on_both_backends!(
    a_conversation_exports_as_json_and_markdown,
    export_then_import_into_a_fresh_database_gives_the_same_document,
    a_chatgpt_export_imports_every_branch,
    a_malformed_document_is_a_422_naming_where_and_imports_nothing,
    a_conversation_too_large_to_hold_is_a_422_and_imports_nothing,
    a_large_import_is_read_as_a_stream,
    mutated_documents_are_imported_whole_or_refused_whole,
);
