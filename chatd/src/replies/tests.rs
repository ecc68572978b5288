//! The reply state machine, driven through `Replies` over a real SQLite file: a chat's
//! start and deltas, cancel, provider failures before and after the first delta, the
//! shutdown grace and the checkpoints.

use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::prelude::*;

use super::*;
use crate::providers::{EchoProvider, Provider, ScriptEnd, Scripted};
use crate::store::Location;

/// The longest any wait here may take; none is a measurement.
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    dir: tempfile::TempDir,
    store: Store,
    replies: Replies,
    conversations: Vec<i64>,
}

async fn setup(provider: Provider, max_in_flight: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::Sqlite(dir.path().join("chat.db")), 2).unwrap();
    let crate::store::CreateUserOutcome::Created(user) =
        store.create_user("ada".into(), None).await.unwrap()
    else {
        panic!("no user");
    };
    let mut conversations = Vec::new();
    for _ in 0..2 {
        let conversation = store
            .create_conversation(user.id, None)
            .await
            .unwrap()
            .unwrap();
        conversations.push(conversation.id);
    }
    let replies = Replies::new(
        store.clone(),
        Arc::new(Providers::single(provider, "model")),
        None,
        max_in_flight,
        10,
        RecoveryFile::new(dir.path().join("chat.db.unstored.jsonl")),
    );
    Setup {
        dir,
        store,
        replies,
        conversations,
    }
}

fn script(deltas: &[&str], then: ScriptEnd) -> Provider {
    Provider::Scripted(Scripted {
        refuse: None,
        deltas: deltas.iter().map(|d| d.to_string()).collect(),
        then,
    })
}

async fn end_of(reply: &Reply) -> ReplyEnd {
    let mut listener = reply.subscribe();
    let state = tokio::time::timeout(WAIT, listener.wait_for(|state| state.end.is_some()))
        .await
        .expect("the reply ended in time")
        .unwrap();
    state.end.clone().unwrap()
}

async fn deltas_reach(reply: &Reply, count: usize) {
    let mut listener = reply.subscribe();
    tokio::time::timeout(WAIT, listener.wait_for(|state| state.deltas.len() >= count))
        .await
        .expect("the deltas came in time")
        .unwrap();
}

/// The stored messages of a conversation: (role, content, status).
async fn stored(store: &Store, conversation_id: i64) -> Vec<(String, String, String)> {
    let (_, parts) = store
        .conversation_with_known_messages(conversation_id, |ids: &[i64]| {
            vec![None::<()>; ids.len()]
        })
        .await
        .unwrap()
        .unwrap();
    parts
        .into_iter()
        .map(|part| match part {
            crate::store::KnownOrRow::Row(row) => (
                row.role.as_str().to_string(),
                row.content,
                row.status.as_str().to_string(),
            ),
            crate::store::KnownOrRow::Known(()) => unreachable!("nothing was known"),
        })
        .collect()
}

fn row(role: &str, content: &str, status: &str) -> (String, String, String) {
    (role.into(), content.into(), status.into())
}

#[derive(QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Text)]
    content: String,
}

/// What the lease rows of the database hold, read as another process would.
fn checkpoints(setup: &Setup) -> Vec<String> {
    let path = setup.dir.path().join("chat.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("SELECT content FROM reply_checkpoints ORDER BY conversation_id")
        .load::<Checkpoint>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| row.content)
        .collect()
}

#[tokio::test]
async fn a_reply_streams_its_deltas_and_is_stored_once_complete() {
    let setup = setup(Provider::Echo(EchoProvider::default()), 4).await;
    let id = setup.conversations[0];
    let reply = setup
        .replies
        .begin(id, "the sky is blue".into())
        .await
        .unwrap();
    assert_eq!(reply.user_message.content, "the sky is blue");
    let end = end_of(&reply).await;
    assert_eq!(
        reply.subscribe().borrow().deltas,
        ["the", " sky", " is", " blue"]
    );
    assert_eq!(end.status, MessageStatus::Complete);
    assert!(end.stored);
    assert_eq!(end.error, None);
    assert_eq!(end.message.unwrap().content, "the sky is blue");
    assert_eq!(
        stored(&setup.store, id).await,
        [
            row("user", "the sky is blue", "complete"),
            row("assistant", "the sky is blue", "complete")
        ]
    );
    assert_eq!(setup.replies.in_flight(), 0);
    assert!(
        setup.replies.attach(id).is_none(),
        "the conversation is free"
    );
    assert!(
        checkpoints(&setup).is_empty(),
        "the lease went with the reply"
    );
    // The next chat on it starts at once.
    let next = setup.replies.begin(id, "again".into()).await.unwrap();
    assert_eq!(end_of(&next).await.status, MessageStatus::Complete);
}

#[tokio::test]
async fn one_reply_at_a_time_per_conversation_and_no_more_than_the_cap() {
    let setup = setup(script(&["a"], ScriptEnd::Hang), 1).await;
    let [first, second] = setup.conversations[..] else {
        unreachable!()
    };
    let reply = setup.replies.begin(first, "q".into()).await.unwrap();
    assert!(matches!(
        setup.replies.begin(first, "q2".into()).await,
        Err(BeginError::Busy)
    ));
    assert!(matches!(
        setup.replies.begin(second, "q3".into()).await,
        Err(BeginError::Full(1))
    ));
    assert!(matches!(
        setup.replies.begin(second + 1000, "q4".into()).await,
        Err(BeginError::Full(1))
    ));
    assert_eq!(setup.replies.in_flight(), 1);
    assert!(Arc::ptr_eq(&setup.replies.attach(first).unwrap(), &reply));
    setup.replies.cancel(first).unwrap();
    end_of(&reply).await;
    assert!(matches!(
        setup.replies.begin(second + 1000, "q5".into()).await,
        Err(BeginError::NoConversation)
    ));
    assert_eq!(setup.replies.in_flight(), 0, "a refused chat holds nothing");
}

#[tokio::test]
async fn a_cancelled_reply_stores_what_it_generated() {
    let setup = setup(script(&["half", " way"], ScriptEnd::Hang), 4).await;
    let id = setup.conversations[0];
    let reply = setup.replies.begin(id, "go".into()).await.unwrap();
    deltas_reach(&reply, 2).await;
    let cancelled = setup.replies.cancel(id).unwrap();
    assert!(Arc::ptr_eq(&cancelled, &reply));
    let end = end_of(&reply).await;
    assert_eq!(end.status, MessageStatus::Cancelled);
    assert!(end.stored);
    assert_eq!(
        stored(&setup.store, id).await[1],
        row("assistant", "half way", "cancelled")
    );
    assert!(
        setup.replies.cancel(id).is_none(),
        "nothing streams any more"
    );
}

#[tokio::test]
async fn a_provider_that_fails_before_its_first_delta_is_a_begin_error_and_stores_no_reply() {
    for provider in [
        Provider::Scripted(Scripted {
            refuse: Some("the provider refused".into()),
            deltas: Vec::new(),
            then: ScriptEnd::Complete,
        }),
        script(&[], ScriptEnd::Fail("the provider broke".into())),
    ] {
        let setup = setup(provider, 4).await;
        let id = setup.conversations[0];
        for attempt in ["q", "q again"] {
            match setup.replies.begin(id, attempt.into()).await {
                Err(BeginError::ProviderFailed(why)) => {
                    assert!(why.starts_with("the provider"), "{why}")
                }
                other => panic!("not a provider failure: {other:?}"),
            }
        }
        // Each attempt's user message is kept; no assistant message, no lease left.
        assert_eq!(
            stored(&setup.store, id).await,
            [
                row("user", "q", "complete"),
                row("user", "q again", "complete")
            ]
        );
        assert!(checkpoints(&setup).is_empty());
        assert_eq!(setup.replies.in_flight(), 0);
    }
}

#[tokio::test]
async fn a_provider_that_fails_after_a_delta_ends_the_stream_as_failed_and_keeps_the_text() {
    let setup = setup(
        script(&["so", " far"], ScriptEnd::Fail("cut off".into())),
        4,
    )
    .await;
    let id = setup.conversations[0];
    let reply = setup.replies.begin(id, "q".into()).await.unwrap();
    let end = end_of(&reply).await;
    assert_eq!(end.status, MessageStatus::Failed);
    assert_eq!(end.error.as_deref(), Some("cut off"));
    assert!(end.stored);
    assert_eq!(end.message.unwrap().content, "so far");
    assert_eq!(
        stored(&setup.store, id).await[1],
        row("assistant", "so far", "failed")
    );
}

#[tokio::test]
async fn shutdown_lets_the_grace_pass_then_stores_replies_as_interrupted() {
    let setup = setup(script(&["still", " going"], ScriptEnd::Hang), 4).await;
    let id = setup.conversations[0];
    let reply = setup.replies.begin(id, "q".into()).await.unwrap();
    deltas_reach(&reply, 2).await;
    tokio::time::timeout(WAIT, setup.replies.drain(Duration::from_millis(50)))
        .await
        .expect("drained in time");
    let end = end_of(&reply).await;
    assert_eq!(end.status, MessageStatus::Interrupted);
    assert!(end.stored);
    assert_eq!(
        stored(&setup.store, id).await[1],
        row("assistant", "still going", "interrupted")
    );
    assert!(setup.replies.is_closed());
    assert!(matches!(
        setup
            .replies
            .begin(setup.conversations[1], "late".into())
            .await,
        Err(BeginError::ShuttingDown)
    ));
}

#[tokio::test]
async fn a_reply_that_ends_within_the_grace_is_stored_complete() {
    let setup = setup(
        Provider::Echo(EchoProvider {
            token_delay: Duration::from_millis(5),
        }),
        4,
    )
    .await;
    let id = setup.conversations[0];
    let reply = setup
        .replies
        .begin(id, "a few words here".into())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, setup.replies.drain(WAIT))
        .await
        .expect("drained in time");
    assert_eq!(end_of(&reply).await.status, MessageStatus::Complete);
}

#[tokio::test]
async fn checkpoints_write_the_text_so_far_only_when_it_changed() {
    let setup = setup(script(&["part", " one"], ScriptEnd::Hang), 4).await;
    let id = setup.conversations[0];
    let reply = setup.replies.begin(id, "q".into()).await.unwrap();
    deltas_reach(&reply, 2).await;
    assert_eq!(checkpoints(&setup), [""], "the lease starts empty");
    setup.replies.checkpoint_once(false).await;
    assert_eq!(checkpoints(&setup), [""], "a heartbeat writes no text");
    setup.replies.checkpoint_once(true).await;
    assert_eq!(checkpoints(&setup), ["part one"]);
    assert_eq!(reply.checkpointed.load(Ordering::Relaxed), 2);

    // A second `Replies` is another run of chatd under the same pid (as a restart in a
    // container would be): it finds this lease, judges its owner dead, and stores the
    // checkpointed text as interrupted.
    let peer = Replies::new(
        setup.store.clone(),
        Arc::new(Providers::single(
            Provider::Echo(EchoProvider::default()),
            "echo",
        )),
        None,
        4,
        10,
        RecoveryFile::new(setup.dir.path().join("peer.unstored.jsonl")),
    );
    assert_eq!(peer.recover_interrupted().await.unwrap(), 1);
    assert_eq!(
        stored(&setup.store, id).await[1],
        row("assistant", "part one", "interrupted")
    );
    // The first process's reply, cancelled now, is not stored twice.
    setup.replies.cancel(id).unwrap();
    let end = end_of(&reply).await;
    assert_eq!(
        (end.status, end.stored, end.message.is_none()),
        (MessageStatus::Cancelled, true, true)
    );
    assert_eq!(stored(&setup.store, id).await.len(), 2);
}
