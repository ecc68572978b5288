//! The front door forks where a client went back (docs/API.md §11.1), driven by the
//! pinned openai Python SDK (`chatd/tests/sdk/forks.py`): an edit of an earlier
//! question (its history resent up to before it) is a sibling of that question in the
//! same conversation, the client goes on from it, and a client still holding the old
//! version goes on from that one; every version stays in the tree and the model is
//! sent the path it continues.

use crate::front_door::{front_door, python, run_script_with, sdk_dir};
use crate::support::{FakeUpstream, Upstream, daemon_for, is_title_request};

crate::on_both_backends!(a_resent_history_that_goes_back_forks_its_conversation);

/// The messages' texts of every chat request the upstream was sent (titles left out),
/// in order.
pub fn chat_requests(upstream: &FakeUpstream) -> Vec<Vec<String>> {
    upstream
        .bodies()
        .iter()
        .filter(|body| !is_title_request(body))
        .map(|body| {
            body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

async fn a_resent_history_that_goes_back_forks_its_conversation() {
    let Some(python) = python() else { return };
    let upstream = FakeUpstream::start(Upstream::tokens(&["The", " answer"])).await;
    let chatd = daemon_for(&upstream, &[]).await;
    let out = run_script_with(&python, &sdk_dir().join("forks.py"), &[&front_door(&chatd)]).await;
    let conversation = &out["first"];
    for turn in ["second", "edit", "after_edit", "on_old"] {
        assert_eq!(&out[turn], conversation, "{turn}: {out}");
    }
    let id = conversation.as_i64().expect("id");
    let (status, tree) = chatd.get(&format!("/conversations/{id}/tree")).await;
    assert_eq!(status, 200, "{tree}");
    let nodes = tree["messages"].as_array().expect("messages");
    assert_eq!(nodes.len(), 10, "{tree}");
    let (_, all) = chatd.get(&format!("/conversations/{id}/messages")).await;
    let texts: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    // The last turn went on from the old version: that is the active path now.
    assert_eq!(
        texts,
        [
            "first question",
            "The answer",
            "second question",
            "The answer",
            "third question, on the old branch",
            "The answer"
        ]
    );
    // The edit is the second question's sibling.
    let second = nodes[2]["id"].as_i64().unwrap();
    let edit = &nodes[4];
    assert_eq!(edit["role"], "user");
    assert_eq!(edit["parent_id"], nodes[1]["id"]);
    assert_eq!(edit["siblings"], serde_json::json!([second, edit["id"]]));
    // Each request was answered from the path it continued.
    let asked = chat_requests(&upstream);
    let said = |texts: &[&str]| texts.iter().map(|t| t.to_string()).collect::<Vec<String>>();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert_eq!(
        asked[2],
        said(&["first question", "The answer", "second question, edited"])
    );
    assert_eq!(
        asked[3],
        said(&[
            "first question",
            "The answer",
            "second question, edited",
            "The answer",
            "third question"
        ])
    );
    assert_eq!(
        asked[4],
        said(&[
            "first question",
            "The answer",
            "second question",
            "The answer",
            "third question, on the old branch"
        ])
    );
}
