//! The AI SDK's UI message stream routes (`/api/v1/ui/chat`) driven by the real `ai`
//! npm package (pinned in `chatd/tests/sdk/js`, installed by `.ci/setup`): its Chat class
//! over `DefaultChatTransport`, and its stream reader, running `usechat.mjs` against the
//! real chatd and the fake upstream; then what they did is read back through `/api/v1`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::front_door::{present_or_skip, run_script_with, sdk_dir, slow_upstream};
use crate::support::{
    Daemon, FakeUpstream, Upstream, daemon_for, is_title_request, read_events, read_json,
};

fn ai_package() -> Option<PathBuf> {
    let dir = sdk_dir().join("js");
    present_or_skip(
        dir.join("node_modules/ai/package.json"),
        "the ai npm package",
    )?;
    Some(dir)
}

/// Runs one scenario of `usechat.mjs` on the chat `chat_id`; `None` when the package is
/// missing (and the test skipped, outside CI).
async fn scenario(chatd: &Daemon, name: &str, chat_id: &str) -> Option<Value> {
    let dir = ai_package()?;
    let script = dir.join("usechat.mjs");
    let base = chatd.url("");
    Some(run_script_with(Path::new("node"), &script, &[&base, name, chat_id]).await)
}

/// The conversation of `user` whose messages the script left, found through `/api/v1`.
async fn only_conversation_of(chatd: &Daemon, user: &str) -> Vec<Value> {
    let (status, found) = chatd.get(&format!("/users/{user}")).await;
    assert_eq!(status, 200, "{found}");
    let user_id = found["id"].as_i64().unwrap();
    let (_, conversations) = chatd.get(&format!("/users/{user_id}/conversations")).await;
    let conversations = conversations.as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    chatd
        .messages(conversations[0]["id"].as_i64().unwrap())
        .await
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| item.as_str().unwrap_or_default())
        .collect()
}

/// Multi-byte characters split across deltas: an accent, Chinese, an emoji joined by a
/// ZWJ in the next delta.
const TOKENS: [&str; 5] = ["Hé", "llo 你", "好 👩", "\u{200d}💻", " ∑\nend"];

async fn a_reply_with_reasoning_and_unicode_reaches_the_chat() {
    let upstream = FakeUpstream::start(Upstream::Thinking {
        delay: Duration::ZERO,
        model: "fake-model".into(),
        reasoning_field: "reasoning_content",
        reasoning: vec!["let me ".into(), "think 🤔".into()],
        tokens: TOKENS.iter().map(|t| t.to_string()).collect(),
        finish_reason: "stop",
        prompt_tokens: 21,
        completion_tokens: 9,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "reply", "chat-ü/1").await else {
        return;
    };
    let reply = TOKENS.concat();
    let user = ["héllo 你好", "and again"];
    assert_eq!(
        strings(&out["texts"]),
        [user[0], &reply, user[1], &reply],
        "{out}"
    );
    assert_eq!(out["reasoning"], "let me think 🤔");
    assert_eq!(
        strings(&out["parts"]),
        ["step-start", "reasoning", "text"],
        "{out}"
    );
    let metadata = &out["metadata"];
    assert_eq!(metadata["status"], "complete", "{metadata}");
    assert_eq!(metadata["stored"], true);
    assert_eq!(metadata["usage"]["prompt_tokens"], 21);
    assert_eq!(metadata["usage"]["completion_tokens"], 9);
    assert_eq!(metadata["model"], "openai/fake-model");
    let finishes = out["finishes"].as_array().unwrap();
    assert_eq!(finishes.len(), 2);
    assert!(
        finishes
            .iter()
            .all(|f| f["finishReason"] == "stop" && f["isError"] == false),
        "{finishes:?}"
    );
    // GET .../messages gives the same chat, with the reply ids the stream gave.
    assert_eq!(out["storedTexts"], out["texts"]);
    assert_eq!(out["storedReasoning"], "let me think 🤔");
    let (stored_ids, live_ids) = (strings(&out["storedIds"]), strings(&out["liveIds"]));
    assert_eq!(stored_ids[1], live_ids[1]);
    assert_eq!(stored_ids[3], live_ids[3]);
    // A Chat opened with the stored messages continues the same conversation.
    assert_eq!(
        strings(&out["reopenedTexts"]),
        [user[0], &reply, user[1], &reply, "third", &reply]
    );
    // All of it is one conversation of the header's user, as chatd stores it.
    let messages = only_conversation_of(&chatd, "ui-tester").await;
    let contents: Vec<&str> = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [user[0], &reply, user[1], &reply, "third", &reply]
    );
    assert_eq!(messages[1]["reasoning"], "let me think 🤔");
}

/// The whole reply of the front door's slow upstream (40 tokens 40 ms apart: long
/// enough to leave, resume and stop mid-reply).
fn slow_reply() -> String {
    (0..40).map(|i| format!("w{i} ")).collect()
}

async fn a_chat_that_went_away_resumes_the_reply_from_its_start() {
    let upstream = slow_upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "resume", "resumed").await else {
        return;
    };
    let whole = slow_reply();
    let seen = out["seenBeforeLeaving"].as_str().unwrap();
    assert!(!seen.is_empty() && seen.len() < whole.len(), "{out}");
    assert_eq!(out["readerText"], whole.as_str(), "{out}");
    assert_eq!(
        strings(&out["chunkTypes"]),
        [
            "start",
            "start-step",
            "text-start",
            "text-delta",
            "text-end",
            "finish-step",
            "finish"
        ]
    );
    assert_eq!(out["finish"]["finishReason"], "stop");
    assert_eq!(out["finish"]["messageMetadata"]["status"], "complete");
    // Once the reply is stored, a resume finds nothing streaming (204).
    assert_eq!(out["resumedAfterEnd"], 1);
    assert_eq!(out["resumedStatus"], "ready");
    assert_eq!(out["nothingStreaming"], Value::Null);
    // The default user's conversation holds the whole reply.
    let messages = only_conversation_of(&chatd, "local").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"], whole.as_str());
    assert_eq!(messages[1]["status"], "complete");
}

async fn stop_cancels_the_reply_and_the_chat_goes_on() {
    let upstream = slow_upstream().await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "stop", "stopped").await else {
        return;
    };
    assert_eq!(out["stop"]["status"], 200, "{out}");
    assert_eq!(out["stop"]["body"]["cancelled"], true);
    assert_eq!(out["stopAgain"]["body"]["cancelled"], false);
    // A listener still reading hears the abort.
    let heard = strings(&out["listenerChunks"]);
    assert_eq!(heard.last(), Some(&"abort"), "{heard:?}");
    assert!(heard.contains(&"message-metadata"), "{heard:?}");
    let messages = only_conversation_of(&chatd, "local").await;
    let cancelled = &messages[1];
    assert_eq!(cancelled["status"], "cancelled", "{messages:?}");
    let kept = cancelled["content"].as_str().unwrap();
    let shown = out["shown"].as_str().unwrap();
    // chatd kept at least what the chat showed, and no more than the listener heard.
    assert!(kept.starts_with(shown), "{kept:?} {shown:?}");
    assert_eq!(out["listenerText"], kept);
    assert!(kept.len() < slow_reply().len());
    // The next message was accepted although the chat saw less of the stopped reply
    // than chatd stored.
    let texts = strings(&out["texts"]);
    assert_eq!(texts[2..], ["next", &slow_reply()]);
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3]["status"], "complete");
}

/// Runs the `error` scenario against an upstream that fails as `upstream` says: the
/// chat ends in error, showing a text that holds `reason`; what chatd stored.
async fn failing_chat(
    upstream: Upstream,
    chat_id: &str,
    reason: &str,
) -> Option<(Value, Vec<Value>)> {
    let upstream = FakeUpstream::start(upstream).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = scenario(&chatd, "error", chat_id).await?;
    assert_eq!(out["status"], "error", "{out}");
    let error = out["error"].as_str().unwrap();
    assert!(error.contains(reason), "{error}");
    assert_eq!(out["finishes"][0]["isError"], true);
    let messages = only_conversation_of(&chatd, "local").await;
    Some((out, messages))
}

async fn a_provider_failing_before_its_first_token_shows_its_reason() {
    let upstream = Upstream::Status {
        code: 401,
        body: json!({"error": {"message": "Incorrect API key provided"}}),
        retry_after: None,
    };
    let Some((_, messages)) = failing_chat(upstream, "failing", "Incorrect API key provided").await
    else {
        return;
    };
    // The user's message is stored, and no empty reply.
    assert_eq!(messages.len(), 1, "{messages:?}");
}

async fn a_provider_failing_mid_reply_keeps_the_text_and_shows_its_reason() {
    let upstream = Upstream::ErrorAfter {
        tokens: vec!["partial ".into(), "answer".into()],
        message: "the GPU caught fire".into(),
    };
    let Some((out, messages)) = failing_chat(upstream, "failing-late", "the GPU caught fire").await
    else {
        return;
    };
    assert_eq!(strings(&out["texts"]), ["fail please", "partial answer"]);
    assert_eq!(out["metadata"]["status"], "failed", "{out}");
    assert_eq!(messages[1]["status"], "failed", "{messages:?}");
    assert_eq!(messages[1]["content"], "partial answer");
}

async fn regenerate_makes_the_reply_again_and_a_stale_history_is_a_409() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["fine"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "conflict", "conflicting").await else {
        return;
    };
    assert_eq!(strings(&out["regenerated"]), ["first", "fine"], "{out}");
    // A new reply to the same user message, in the same (only) conversation; the old
    // one stays in the tree.
    let (before, after) = (strings(&out["before"]), strings(&out["after"]));
    assert_eq!((before.len(), after.len()), (2, 2), "{out}");
    assert_eq!(before[0], after[0]);
    assert_eq!(after[1], format!("{}.1", before[1]), "{out}");
    let messages = only_conversation_of(&chatd, "local").await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let conversation = messages[0]["conversation_id"].as_i64().unwrap();
    let (_, tree) = chatd
        .get(&format!("/conversations/{conversation}/tree"))
        .await;
    assert_eq!(tree["messages"].as_array().map(Vec::len), Some(3), "{tree}");
    assert_eq!(messages[0]["content"], "first");
    assert_eq!(messages[1]["status"], "complete");
    for refused in ["conflict", "staleRegenerate"] {
        assert_eq!(out[refused]["status"], "error", "{out}");
        let body: Value =
            serde_json::from_str(out[refused]["error"].as_str().unwrap()).expect("the 409's body");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("does not match what chatd stored"),
            "{detail}"
        );
    }
    // Neither touched the stored chat.
    assert_eq!(out["storedCount"], 2);
}

async fn edits_and_regenerates_of_use_chat_make_branches() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["fine"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "branches", "branching").await else {
        return;
    };
    let ids = strings(&out["regeneratedIds"]);
    assert!(
        ids[1].starts_with("chatd-reply-") && ids[1].ends_with(".1"),
        "{out}"
    );
    let edited = ["first", "fine", "second, edited", "fine"];
    assert_eq!(strings(&out["edited"]), edited, "{out}");
    assert_eq!(strings(&out["storedAfterEdit"]), edited, "{out}");
    assert_eq!(strings(&out["texts"]), ["first", "fine"], "{out}");
    assert_eq!(strings(&out["storedTexts"]), ["first", "fine"], "{out}");
    // The third reply to the first question has the same id live and read back.
    assert_eq!(out["storedIds"][1], out["liveIds"][1], "{out}");
    assert!(strings(&out["liveIds"])[1].ends_with(".2"), "{out}");
    // Every version is in the tree: a question with three replies, the second of which
    // has the original second question and its edit, each answered.
    let messages = only_conversation_of(&chatd, "local").await;
    let conversation = messages[0]["conversation_id"].as_i64().unwrap();
    let (_, tree) = chatd
        .get(&format!("/conversations/{conversation}/tree"))
        .await;
    let nodes = tree["messages"].as_array().unwrap();
    assert_eq!(nodes.len(), 8, "{tree}");
    let first = &nodes[0]["id"];
    let replies: Vec<&Value> = nodes.iter().filter(|m| &m["parent_id"] == first).collect();
    assert_eq!(replies.len(), 3, "{tree}");
    let second_reply = &replies[1]["id"];
    let questions = nodes
        .iter()
        .filter(|m| &m["parent_id"] == second_reply)
        .count();
    assert_eq!(questions, 2, "{tree}");
    assert_eq!(tree["active_leaf_id"], replies[2]["id"]);
    // The edit's request was answered from the path it made: the first question and
    // answer, then the edited one (never the version it replaced).
    let asked = crate::front_door_forks::chat_requests(&upstream);
    assert!(
        asked.contains(&vec![
            "first".to_string(),
            "fine".to_string(),
            "second, edited".to_string()
        ]),
        "{asked:?}"
    );
}

async fn a_chat_new_to_chatd_brings_its_history_and_its_model() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["ok"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let Some(out) = scenario(&chatd, "elsewhere", "from-elsewhere").await else {
        return;
    };
    let all = ["earlier question", "earlier answer", "now this", "ok"];
    assert_eq!(strings(&out["texts"]), all, "{out}");
    assert_eq!(strings(&out["storedTexts"]), all);
    // The model was given the whole history.
    let sent = upstream.bodies();
    let asked = sent
        .iter()
        .rfind(|body| !is_title_request(body))
        .expect("a chat request upstream");
    let contents: Vec<&str> = asked["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(contents, all[..3]);
    // The body's model is the reply's, and the new conversation's.
    assert_eq!(asked["model"], "other-model");
    // The reply's metadata names the model as the provider reported it.
    assert_eq!(out["model"], "openai/fake");
    let (_, user) = chatd.get("/users/local").await;
    let (_, listed) = chatd
        .get(&format!("/users/{}/conversations", user["id"]))
        .await;
    let (_, settings) = chatd
        .get(&format!("/conversations/{}/settings", listed[0]["id"]))
        .await;
    assert_eq!(settings["model"], "openai/other-model", "{settings}");
}

/// `POST /ui/chat` of one new message, as the transport sends it.
async fn post_chat(chatd: &Daemon, chat_id: &str, text: &str) -> reqwest::Response {
    let body = json!({
        "id": chat_id,
        "trigger": "submit-message",
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}],
    });
    let request = chatd.client.post(chatd.url("/ui/chat")).json(&body);
    request.send().await.expect("POST /ui/chat")
}

/// A reply chatd stops at shutdown ends the stream with an `error` saying so, then
/// `finish` with `finishReason: "error"`.
async fn a_reply_interrupted_by_shutdown_ends_in_an_error_chunk() {
    let mut chatd =
        Daemon::start_with(&["--echo-delay-ms", "200", "--shutdown-grace-secs", "1"]).await;
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    let response = post_chat(&chatd, "shut-down", &words.join(" ")).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_events(response));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(chatd.terminate().await, "clean exit");
    let events = reader.await.unwrap();
    let (done, chunks) = events.split_last().expect("events");
    assert_eq!(done.data, "[DONE]");
    let chunks: Vec<Value> = chunks
        .iter()
        .map(|event| serde_json::from_str(&event.data).expect("a JSON chunk"))
        .collect();
    let tail: Vec<&str> = chunks[chunks.len() - 4..]
        .iter()
        .map(|chunk| chunk["type"].as_str().unwrap())
        .collect();
    assert_eq!(tail, ["text-end", "message-metadata", "error", "finish"]);
    let error = &chunks[chunks.len() - 2];
    assert!(
        error["errorText"].as_str().unwrap().contains("interrupted"),
        "{error}"
    );
    let finish = &chunks[chunks.len() - 1];
    assert_eq!(finish["finishReason"], "error");
    assert_eq!(finish["messageMetadata"]["status"], "interrupted");
}

/// The stream on the wire: its content type, protocol header and `[DONE]`.
async fn the_stream_is_the_protocol_v1() {
    let upstream = FakeUpstream::start(Upstream::tokens(&["hi"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let response = post_chat(&chatd, "wire", "hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{response:?}"
    );
    assert_eq!(response.headers()["x-vercel-ai-ui-message-stream"], "v1");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    // Bad bodies are the usual 4xx.
    for (bad, status) in [
        (json!({"messages": []}), 422),
        (json!({"id": "wire", "messages": []}), 422),
        (
            json!({"id": "wire", "messages": [{"role": "assistant", "parts": []}]}),
            422,
        ),
        (
            json!({"id": "wire", "messages": [{"role": "user", "parts": [{"type": "text", "text": " "}]}]}),
            422,
        ),
        (
            json!({"id": "wire", "model": 7, "messages": [{"role": "user", "parts": [{"type": "text", "text": "x"}]}]}),
            422,
        ),
        (
            json!({"id": "wire", "model": "nowhere/x", "messages": [{"role": "user", "parts": [{"type": "text", "text": "x"}]}]}),
            422,
        ),
    ] {
        let (got, answer) = chatd.post("/ui/chat", bad.clone()).await;
        assert_eq!(got, status, "{bad} → {answer}");
    }
    let (status, answer) = chatd.get("/ui/chat/nobody/messages").await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["detail"], "Chat not found");
    // A useChat app served from another allowed origin may name its user.
    let origin = "http://localhost:3000";
    let preflight = chatd
        .client
        .request(reqwest::Method::OPTIONS, chatd.url("/ui/chat"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-chatd-user",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("x-chatd-user"), "{allowed}");
    let (status, messages) = read_json(
        chatd
            .client
            .get(chatd.url("/ui/chat/wire/messages"))
            .header("origin", origin)
            .header("x-chatd-user", "local")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{messages}");
    assert_eq!(messages[0]["parts"][0]["text"], "hello");
    assert_eq!(messages[1]["id"], "chatd-reply-1");
    // Another user has no chat of that id.
    let response = chatd
        .client
        .get(chatd.url("/ui/chat/wire/messages"))
        .header("x-chatd-user", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _) = chatd.get("/users/someone-else").await;
    assert_eq!(status, 404, "looking does not register a user");
    let response = chatd
        .client
        .get(chatd.url("/ui/chat/wire/messages"))
        .header("x-chatd-user", "no/slash")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

crate::on_both_backends!(
    a_reply_with_reasoning_and_unicode_reaches_the_chat,
    a_chat_that_went_away_resumes_the_reply_from_its_start,
    stop_cancels_the_reply_and_the_chat_goes_on,
    a_provider_failing_before_its_first_token_shows_its_reason,
    a_provider_failing_mid_reply_keeps_the_text_and_shows_its_reason,
    regenerate_makes_the_reply_again_and_a_stale_history_is_a_409,
    edits_and_regenerates_of_use_chat_make_branches,
    a_chat_new_to_chatd_brings_its_history_and_its_model,
    a_reply_interrupted_by_shutdown_ends_in_an_error_chunk,
    the_stream_is_the_protocol_v1,
);
