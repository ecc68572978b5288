//! Branches through export and import (docs/API.md §3.12, §3.13, §3.19): a tree made by
//! an edit and a regenerate exports with every branch and its active leaf, its Markdown
//! is the active path, and it imports into a fresh database as the same tree; a
//! document whose tree does not hold together is skipped with its reason; ChatGPT's
//! `conversations.json` (a file shaped as the real export: a regenerated answer, an
//! edited question, reasoning and tool nodes) keeps every branch and `current_node`.

use serde_json::{Value, json};

use crate::archive::without_ids;
use crate::support::{Daemon, read_events, unique};

crate::on_both_backends!(
    a_tree_exports_and_imports_whole_and_its_markdown_is_the_active_path,
    a_document_whose_tree_does_not_hold_together_is_skipped,
    a_chatgpt_export_keeps_regenerations_edits_and_current_node,
);

async fn import(chatd: &Daemon, user: i64, body: String) -> (u16, Value) {
    crate::archive::import(chatd, user, "", body).await
}

async fn chat(chatd: &Daemon, body: Value) {
    let response = chatd
        .client
        .post(chatd.url("/chat"))
        .json(&body)
        .send()
        .await
        .expect("POST /chat");
    assert_eq!(response.status(), 200, "{body}");
    read_events(response).await;
}

/// The documented read's contents, in order.
async fn documented(chatd: &Daemon, conversation: i64) -> Vec<String> {
    let (status, body) = chatd.get(&format!("/conversations/{conversation}")).await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().expect("content").to_string())
        .collect()
}

/// The tree route with ids made positions among its messages: (parent, siblings,
/// active) of each, and the active leaf.
async fn tree_shape(chatd: &Daemon, conversation: i64) -> Value {
    let (status, tree) = chatd
        .get(&format!("/conversations/{conversation}/tree"))
        .await;
    assert_eq!(status, 200, "{tree}");
    let messages = tree["messages"].as_array().expect("messages");
    let ids: Vec<&Value> = messages.iter().map(|m| &m["id"]).collect();
    let at = |id: &Value| json!(ids.iter().position(|known| *known == id));
    let shape: Vec<Value> = messages
        .iter()
        .map(|m| {
            let siblings: Vec<Value> = m["siblings"].as_array().unwrap().iter().map(at).collect();
            json!([at(&m["parent_id"]), siblings, m["active"], m["role"]])
        })
        .collect();
    json!({"messages": shape, "active_leaf": at(&tree["active_leaf_id"])})
}

async fn a_tree_exports_and_imports_whole_and_its_markdown_is_the_active_path() {
    let first = Daemon::start().await;
    let user = first.create_user(&format!("tree-{}", unique())).await;
    let id = first.create_conversation(user).await;
    chat(&first, json!({"conversation_id": id, "message": "one"})).await;
    chat(&first, json!({"conversation_id": id, "message": "two"})).await;
    let (_, messages) = first.get(&format!("/conversations/{id}/messages")).await;
    let u2 = messages[2]["id"].as_i64().expect("id");
    chat(
        &first,
        json!({"conversation_id": id, "message": "two, edited", "edit_of": u2}),
    )
    .await;
    let response = first
        .client
        .post(first.url(&format!("/conversations/{id}/regenerate")))
        .send()
        .await
        .expect("POST regenerate");
    assert_eq!(response.status(), 200);
    read_events(response).await;
    first.wait_for_messages(id, 4).await;
    let shape = tree_shape(&first, id).await;
    assert_eq!(
        shape["messages"].as_array().map(Vec::len),
        Some(7),
        "{shape}"
    );

    let (status, document) = first.get(&format!("/conversations/{id}/export")).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["version"], 2);
    let (_, tree) = first.get(&format!("/conversations/{id}/tree")).await;
    assert_eq!(
        document["conversation"]["active_leaf_id"],
        tree["active_leaf_id"]
    );
    let exported: Vec<(Value, Value)> = document["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].clone(),
                m.get("parent_id").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let in_tree: Vec<(Value, Value)> = tree["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].clone(), m["parent_id"].clone()))
        .collect();
    assert_eq!(exported, in_tree);

    // The Markdown is what the documented read shows: one line, the active path.
    let markdown = first
        .client
        .get(first.url(&format!("/conversations/{id}/export?format=markdown")))
        .send()
        .await
        .expect("GET markdown")
        .text()
        .await
        .expect("body");
    assert!(markdown.contains("\nmessages: 4\n"), "{markdown}");
    assert_eq!(markdown.matches("\n## User · ").count(), 2, "{markdown}");
    assert_eq!(
        markdown.matches("\n## Assistant · ").count(),
        2,
        "{markdown}"
    );
    assert!(markdown.contains("\n\ntwo, edited\n"), "{markdown}");
    assert!(!markdown.contains("\n\ntwo\n"), "{markdown}");

    let second = Daemon::start().await;
    let someone = second.create_user(&format!("tree-{}", unique())).await;
    let (status, summary) = import(&second, someone, document.to_string()).await;
    assert_eq!(
        (status, summary),
        (200, json!({"imported": 1, "skipped": []}))
    );
    let (_, list) = second.get(&format!("/users/{someone}/conversations")).await;
    let copy = list[0]["id"].as_i64().expect("id");
    let (_, again) = second.get(&format!("/conversations/{copy}/export")).await;
    assert_eq!(without_ids(again), without_ids(document));
    assert_eq!(tree_shape(&second, copy).await, shape);
    assert_eq!(
        documented(&second, copy).await,
        documented(&first, id).await
    );

    // The other branch came along: switching to it shows the first version again.
    let (_, copied) = second.get(&format!("/conversations/{copy}/messages")).await;
    let (_, whole) = second.get(&format!("/conversations/{copy}/tree")).await;
    let old_question = whole["messages"][2]["id"].clone();
    assert_ne!(copied[2]["id"], old_question);
    let (status, body) = second
        .patch(
            &format!("/conversations/{copy}"),
            json!({"active_leaf_id": old_question}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(documented(&second, copy).await[2], "two");
}

fn tree_document(messages: Value, active: Value) -> Value {
    json!({
        "format": "chatd.conversation", "version": 2,
        "conversation": {"id": 1, "user_id": 1, "name": "t",
            "created_at": "2025-03-01T10:00:00.000000Z", "active_leaf_id": active},
        "messages": messages
    })
}

fn message(id: i64, parent: Option<i64>, role: &str, content: &str) -> Value {
    let mut message = json!({"id": id, "conversation_id": 1, "role": role, "content": content,
        "created_at": "2025-03-01T10:00:01.000000Z", "status": "complete"});
    if let Some(parent) = parent {
        message["parent_id"] = json!(parent);
    }
    message
}

async fn a_document_whose_tree_does_not_hold_together_is_skipped() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("broken-{}", unique())).await;
    let good = tree_document(
        json!([
            message(10, None, "user", "q"),
            message(11, Some(10), "assistant", "a"),
            message(12, Some(10), "assistant", "b")
        ]),
        json!(11),
    );
    let later_parent = tree_document(
        json!([
            message(10, Some(11), "user", "q"),
            message(11, None, "assistant", "a")
        ]),
        json!(11),
    );
    let unknown_leaf = tree_document(
        json!([
            message(10, None, "user", "q"),
            message(11, Some(10), "assistant", "a")
        ]),
        json!(99),
    );
    let twice = tree_document(
        json!([
            message(10, None, "user", "q"),
            message(10, Some(10), "assistant", "a")
        ]),
        json!(10),
    );
    let body: String = [good, later_parent, unknown_leaf, twice]
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    let (status, summary) = import(&chatd, user, body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["imported"], 1, "{summary}");
    let reasons: Vec<(i64, &str)> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["index"].as_i64().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                1,
                "messages[0].parent_id 11 is not the id of an earlier message of the document"
            ),
            (
                2,
                "conversation.active_leaf_id 99 is not the id of a message of the document"
            ),
            (3, "messages[1].id 10 is the id of an earlier message too"),
        ]
    );
    // The good one: two replies to one question, the first active as the file said.
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    let id = list[0]["id"].as_i64().expect("id");
    assert_eq!(documented(&chatd, id).await, ["q", "a"]);
    let shape = tree_shape(&chatd, id).await;
    assert_eq!(
        shape,
        json!({"messages": [
            [null, [0], true, "user"],
            [0, [1, 2], true, "assistant"],
            [0, [1, 2], false, "assistant"]
        ], "active_leaf": 1})
    );
}

async fn a_chatgpt_export_keeps_regenerations_edits_and_current_node() {
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("gpt-tree-{}", unique())).await;
    let file = include_str!("fixtures/chatgpt-branches.json");
    let (status, summary) = import(&chatd, user, file.to_string()).await;
    assert_eq!(
        (status, summary),
        (200, json!({"imported": 1, "skipped": []}))
    );
    let (_, list) = chatd.get(&format!("/users/{user}/conversations")).await;
    let id = list[0]["id"].as_i64().expect("id");
    assert_eq!(list[0]["name"], "Weekend from Tokyo");
    // `current_node` is the answer to the first version of the second question, on the
    // regenerated first answer.
    assert_eq!(
        documented(&chatd, id).await,
        [
            "Plan a weekend trip from Tokyo",
            "Go to Osaka: food and castles.",
            "How long should I stay?",
            "Two nights is enough."
        ]
    );
    let (_, document) = chatd.get(&format!("/conversations/{id}/export")).await;
    let document = without_ids(document);
    let messages: Vec<(&str, Value, &str)> = document["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["content"].as_str().unwrap(),
                m.get("parent_id").cloned().unwrap_or(Value::Null),
                m["created_at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            (
                "Plan a weekend trip from Tokyo",
                Value::Null,
                "2024-11-30T20:53:30.000000Z"
            ),
            (
                "Go to Kyoto: temples and tea.",
                json!(0),
                "2024-11-30T20:53:40.000000Z"
            ),
            (
                "Go to Osaka: food and castles.",
                json!(0),
                "2024-11-30T20:53:50.000000Z"
            ),
            (
                "How long should I stay?",
                json!(2),
                "2024-11-30T20:54:00.000000Z"
            ),
            // Its thoughts and reasoning recap are left out: it follows the question.
            (
                "Two nights is enough.",
                json!(3),
                "2024-11-30T20:54:10.000000Z"
            ),
            (
                "How long should I stay with two kids?",
                json!(2),
                "2024-11-30T20:54:20.000000Z"
            ),
            // The tool call, the tool's output and an empty node are left out.
            (
                "Three nights, with a day at the aquarium.",
                json!(5),
                "2024-11-30T20:54:30.000000Z"
            ),
        ]
    );
    assert_eq!(document["conversation"]["active_leaf_id"], 4);
    assert_eq!(document["messages"][4]["model"], "chatgpt/o3");
    let shape = tree_shape(&chatd, id).await;
    assert_eq!(shape["messages"][1][1], json!([1, 2]), "{shape}");
    assert_eq!(shape["messages"][3][1], json!([3, 5]), "{shape}");

    // The edited branch is one switch away.
    let (_, tree) = chatd.get(&format!("/conversations/{id}/tree")).await;
    let edited = tree["messages"][5]["id"].clone();
    let (status, body) = chatd
        .patch(
            &format!("/conversations/{id}"),
            json!({"active_leaf_id": edited}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        documented(&chatd, id).await[2..],
        [
            "How long should I stay with two kids?",
            "Three nights, with a day at the aquarium."
        ]
    );
}
