//! Several providers in one chatd (two fake upstreams and more), a model and parameters
//! per conversation, `GET /models`, and what each reply is stored with: the model that
//! answered, its finish reason, usage, timings and reasoning, kept apart from content.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Daemon, FakeUpstream, Serving, SseEvent, Upstream, daemon_for, end_event, read_events,
    reply_text,
};

/// A configuration file in its own directory, kept as long as the directory.
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("chatd.toml");
    std::fs::write(&path, text).expect("write the configuration");
    let path = path.to_str().expect("utf-8 path").to_string();
    (dir, path)
}

/// A base URL on 127.0.0.1 where nothing listens.
async fn nothing_listens() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}/v1")
}

fn thinking(model: &str) -> Upstream {
    thinking_slowly(model, Duration::ZERO)
}

fn thinking_slowly(model: &str, delay: Duration) -> Upstream {
    Upstream::Thinking {
        delay,
        model: model.into(),
        reasoning_field: "reasoning_content",
        reasoning: vec!["Let me".into(), " think.\nDone".into()],
        tokens: vec!["The".into(), " answer".into()],
        finish_reason: "stop",
        prompt_tokens: 21,
        completion_tokens: 9,
    }
}

/// The events of a `thinking` reply streamed with `?events=true`.
const THINKING_EVENTS: [&str; 6] = [
    "start",
    "reasoning",
    "reasoning",
    "message",
    "message",
    "end",
];

fn event_names(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

/// Gives a conversation its model (and params) through `PATCH /conversations/{id}`.
async fn set_model(chatd: &Daemon, conversation_id: i64, model: &str, params: Option<Value>) {
    let mut body = json!({ "model": model });
    if let Some(params) = params {
        body["params"] = params;
    }
    let (status, settings) = chatd
        .patch(&format!("/conversations/{conversation_id}"), body)
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["model"], model);
}

async fn each_conversation_reaches_its_own_provider_with_its_params() {
    let main = FakeUpstream::start_serving(
        Upstream::tokens(&["from", " main"]),
        Serving {
            refuse_stream_options: false,
            models: Some(vec!["fake-model".into(), "meta-llama/Llama-3.1-8B".into()]),
        },
    )
    .await;
    // Without GET /models: its models cannot be checked, so any name is taken.
    let local = FakeUpstream::start(Upstream::tokens(&["from", " local"])).await;
    let (_dir, config) = config_file(&format!(
        "[providers.local]\nkind = \"openai\"\nbase_url = \"{}\"\n",
        local.base_url
    ));
    let chatd = daemon_for(&main, &["--config", &config]).await;
    let user = chatd.create_user("two-providers").await;
    let on_main = chatd.create_conversation(user).await;
    let on_local = chatd.create_conversation(user).await;
    set_model(
        &chatd,
        on_local,
        "local/small-1",
        Some(json!({"temperature": 0.25, "top_p": 0.5, "max_tokens": 50, "seed": 7})),
    )
    .await;

    let text = reply_text(&read_events(chatd.chat(on_main, "hi").await).await);
    assert_eq!(text, "from main");
    let text = reply_text(&read_events(chatd.chat(on_local, "hi").await).await);
    assert_eq!(text, "from local");

    let to_main = main.bodies();
    assert_eq!(
        to_main.len(),
        1,
        "the local conversation never reached main"
    );
    assert_eq!(to_main[0]["model"], "fake-model", "chatd's default model");
    for param in ["temperature", "top_p", "max_tokens", "seed"] {
        assert!(to_main[0].get(param).is_none(), "no {param} without params");
    }
    let to_local = local.bodies();
    assert_eq!(to_local.len(), 1);
    assert_eq!(
        to_local[0]["model"], "small-1",
        "sent without its provider's name"
    );
    assert_eq!(to_local[0]["temperature"], 0.25);
    assert_eq!(to_local[0]["top_p"], 0.5);
    assert_eq!(to_local[0]["max_tokens"], 50);
    assert_eq!(to_local[0]["seed"], 7);

    // The fake names itself "fake" in its chunks: that is the model stored.
    let stored = chatd.messages(on_main).await;
    assert_eq!(stored[1]["model"], "openai/fake");
    assert_eq!(stored[1]["finish_reason"], "stop");
    assert!(stored[1].get("usage").is_none(), "it reported no usage");
    assert!(
        stored[0].get("model").is_none(),
        "user messages have no details"
    );
    assert_eq!(chatd.messages(on_local).await[1]["model"], "local/fake");

    // A model the provider does not list is refused, naming what it has; nothing
    // changes.
    let (status, refused) = chatd
        .patch(
            &format!("/conversations/{on_main}"),
            json!({"model": "openai/gpt-9"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let refusal = refused.to_string();
    assert!(
        refusal.contains("openai/meta-llama/Llama-3.1-8B"),
        "{refusal}"
    );

    // A bare name (even one with a slash) is a model of the default provider.
    set_model(&chatd, on_main, "meta-llama/Llama-3.1-8B", None).await;
    read_events(chatd.chat(on_main, "again").await).await;
    assert_eq!(main.bodies()[1]["model"], "meta-llama/Llama-3.1-8B");
    assert_eq!(local.bodies().len(), 1);
}

async fn usage_reasoning_and_timings_are_stored_exactly_and_kept_apart() {
    let upstream = FakeUpstream::start(thinking("deepseek-r1:8b")).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;

    let events = read_events(chatd.chat_with_events(id, "why?").await).await;
    assert_eq!(event_names(&events), THINKING_EVENTS);
    let reasoning: Vec<String> = events
        .iter()
        .filter(|e| e.event == "reasoning")
        .map(|e| serde_json::from_str(&e.data).expect("reasoning data is a JSON string"))
        .collect();
    assert_eq!(reasoning, ["Let me", " think.\nDone"]);
    assert_eq!(reply_text(&events), "The answer");
    let end = end_event(&events);
    let message = &end["message"];
    assert_eq!(message["content"], "The answer");
    assert_eq!(message["reasoning"], "Let me think.\nDone");
    assert_eq!(message["model"], "openai/deepseek-r1:8b");
    assert_eq!(message["finish_reason"], "stop");
    assert_eq!(
        message["usage"],
        json!({"prompt_tokens": 21, "completion_tokens": 9})
    );
    let ttft = message["ttft_ms"].as_i64().expect("ttft_ms");
    let duration = message["duration_ms"].as_i64().expect("duration_ms");
    assert!(0 <= ttft && ttft <= duration, "{ttft} then {duration}");
    assert_eq!(
        upstream.bodies()[0]["stream_options"],
        json!({"include_usage": true})
    );

    let stored = chatd.messages(id).await;
    assert_eq!(
        &stored[1], message,
        "the extension read shows what the end showed"
    );
    let (status, documented) = chatd.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 200);
    for message in documented["messages"].as_array().expect("messages") {
        let keys: Vec<&str> = message
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["role", "content", "id", "conversation_id", "created_at"],
            "the documented object is unchanged"
        );
    }
    assert_eq!(documented["messages"][1]["content"], "The answer");

    // The plain stream carries the content only, and the reasoning is never sent back.
    let plain = read_events(chatd.chat(id, "and?").await).await;
    assert!(plain.iter().all(|e| e.event == "message"), "{plain:?}");
    assert_eq!(reply_text(&plain), "The answer");
    let history = &upstream.bodies()[1]["messages"];
    assert_eq!(
        history,
        &json!([
            {"role": "user", "content": "why?"},
            {"role": "assistant", "content": "The answer"},
            {"role": "user", "content": "and?"},
        ])
    );
    let stored: Vec<(i64, Option<String>)> = chatd
        .messages(id)
        .await
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().expect("id"),
                m["reasoning"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(stored[3].1.as_deref(), Some("Let me think.\nDone"));
}

async fn a_provider_that_refuses_stream_options_still_answers_and_is_remembered() {
    let upstream = FakeUpstream::start_serving(
        thinking("llama.cpp-model"),
        Serving {
            refuse_stream_options: true,
            models: None,
        },
    )
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    for question in ["one", "two"] {
        let events = read_events(chatd.chat_with_events(id, question).await).await;
        assert_eq!(reply_text(&events), "The answer");
        let end = end_event(&events);
        assert_eq!(end["status"], "complete");
        assert!(end["message"].get("usage").is_none(), "none was reported");
        assert_eq!(end["message"]["reasoning"], "Let me think.\nDone");
    }
    let asked: Vec<bool> = upstream
        .bodies()
        .iter()
        .map(|body| body.get("stream_options").is_some())
        .collect();
    assert_eq!(
        asked,
        [true, false, false],
        "one retry without the field, then never again"
    );
}

async fn models_lists_every_provider_and_one_that_is_down_with_its_error() {
    let main = FakeUpstream::start_serving(
        Upstream::tokens(&["ok"]),
        Serving {
            refuse_stream_options: false,
            models: Some(vec!["gpt-4o-mini".into(), "fake-model".into()]),
        },
    )
    .await;
    let down = nothing_listens().await;
    let (_dir, config) = config_file(&format!(
        "[providers.down]\nkind = \"openai\"\nbase_url = \"{down}\"\n\n\
         [providers.fixed]\nkind = \"openai\"\nbase_url = \"{down}\"\nmodels = [\"a\", \"b/c\"]\n\n\
         [providers.offline]\nkind = \"echo\"\n"
    ));
    let chatd = daemon_for(&main, &["--config", &config]).await;
    let (status, models) = chatd.get("/models").await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["default"], "openai/fake-model");
    let providers = models["providers"].as_array().expect("providers");
    let names: Vec<&str> = providers
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["openai", "down", "fixed", "offline"]);
    assert_eq!(
        providers[0],
        json!({"name": "openai", "kind": "openai", "base_url": main.base_url, "default": true,
               "models": ["openai/gpt-4o-mini", "openai/fake-model"],
               "accepts_any_model": false, "error": null})
    );
    assert_eq!(providers[1]["models"], json!([]));
    assert_eq!(providers[1]["default"], false);
    let error = providers[1]["error"]
        .as_str()
        .expect("the down provider's error");
    assert!(error.contains("connection refused"), "{error}");
    assert!(error.contains(&down), "names where it looked: {error}");
    assert_eq!(providers[2]["models"], json!(["fixed/a", "fixed/b/c"]));
    assert_eq!(
        providers[2]["error"],
        Value::Null,
        "a listed provider is not asked"
    );
    assert_eq!(
        providers[3],
        json!({"name": "offline", "kind": "echo", "base_url": null, "default": false,
               "models": ["offline/echo"], "accepts_any_model": true, "error": null})
    );

    let (_, status) = chatd.get("/status").await;
    assert_eq!(status["provider"], "openai");
    assert_eq!(status["model"], "fake-model");
    assert_eq!(status["default_model"], "openai/fake-model");
    assert_eq!(
        status["providers"],
        json!(["openai", "down", "fixed", "offline"])
    );

    // A chat on the provider that is down is the usual 502, naming it.
    let id = chatd.conversation().await;
    set_model(&chatd, id, "down/anything", None).await;
    let response = chatd.chat(id, "hello").await;
    assert_eq!(response.status().as_u16(), 502);
    let body: Value = response.json().await.expect("JSON");
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("connection refused") && detail.contains(&down),
        "{detail}"
    );
}

async fn a_model_the_provider_does_not_have_is_a_502_naming_it() {
    let upstream = FakeUpstream::start(Upstream::Status {
        code: 404,
        body: json!({"error": {"message": "model \"nope\" not found, try pulling it first"}}),
        retry_after: None,
    })
    .await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    set_model(&chatd, id, "openai/nope", None).await;
    let response = chatd.chat(id, "hello").await;
    assert_eq!(response.status().as_u16(), 502);
    let body: Value = response.json().await.expect("JSON");
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains("asked for model \"nope\""), "{detail}");
    assert!(detail.contains("try pulling it first"), "{detail}");
    assert_eq!(upstream.bodies().len(), 1, "a 404 is not retried");
}

async fn echo_stores_the_model_it_was_asked_for_and_its_timings() {
    let chatd = Daemon::start().await;
    let id = chatd.conversation().await;
    let events = read_events(chatd.chat_with_events(id, "say this").await).await;
    assert_eq!(reply_text(&events), "say this");
    let message = &end_event(&events)["message"];
    assert_eq!(message["model"], "echo/echo");
    assert_eq!(message["finish_reason"], "stop");
    assert!(message.get("usage").is_none() && message.get("reasoning").is_none());
    assert!(message["duration_ms"].as_i64().is_some());
    let (_, models) = chatd.get("/models").await;
    assert_eq!(models["default"], "echo/echo");
    assert_eq!(models["providers"].as_array().map(Vec::len), Some(1));
}

async fn attaching_with_events_gives_the_reasoning_in_order_and_without_none() {
    // Slow enough that both listeners attach while the reply streams.
    let upstream = FakeUpstream::start(thinking_slowly("qwen3", Duration::from_millis(150))).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let id = chatd.conversation().await;
    let started = chatd.chat(id, "why?").await;
    assert_eq!(started.status().as_u16(), 200);
    let attach = |query: &'static str| {
        chatd
            .client
            .get(chatd.url(&format!("/conversations/{id}/reply{query}")))
            .send()
    };
    let (with_events, plain) = tokio::join!(attach("?events=true"), attach(""));
    let (with_events, plain, first) = tokio::join!(
        read_events(with_events.expect("attach with events")),
        read_events(plain.expect("attach")),
        read_events(started),
    );
    assert_eq!(
        event_names(&with_events),
        THINKING_EVENTS,
        "everything so far, then live, in order"
    );
    for plain in [&plain, &first] {
        assert!(plain.iter().all(|e| e.event == "message"), "{plain:?}");
        assert_eq!(reply_text(plain), "The answer");
    }
}

crate::on_both_backends!(
    attaching_with_events_gives_the_reasoning_in_order_and_without_none,
    each_conversation_reaches_its_own_provider_with_its_params,
    usage_reasoning_and_timings_are_stored_exactly_and_kept_apart,
    a_provider_that_refuses_stream_options_still_answers_and_is_remembered,
    models_lists_every_provider_and_one_that_is_down_with_its_error,
    a_model_the_provider_does_not_have_is_a_502_naming_it,
    echo_stores_the_model_it_was_asked_for_and_its_timings,
);
