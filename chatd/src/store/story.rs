//! The store's story: every public call in the order a chatd makes them, on a real
//! SQLite file and, when `CHATD_TEST_POSTGRES_URL` is set, on a PostgreSQL database of
//! its own.

use std::sync::Arc;

use common::{MessageStatus, Role};
use diesel::prelude::*;

use super::Table;
use super::*;

/// Judges by name only: the holders listed in `dead` are dead, every other is alive.
struct Judge {
    owner: &'static str,
    dead: &'static [&'static str],
}

impl LeaseJudge for Judge {
    fn owner(&self) -> &str {
        self.owner
    }

    fn is_dead(&self, lease: &LeaseRow) -> bool {
        self.dead.contains(&lease.owner.as_str())
    }
}

fn judge(owner: &'static str, dead: &'static [&'static str]) -> Arc<dyn LeaseJudge> {
    Arc::new(Judge { owner, dead })
}

/// A PostgreSQL database created for one test and dropped after it.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(server_url: &str, tag: &str) -> PgDatabase {
        let name = format!("chatd_store_{tag}_{}", std::process::id());
        let mut admin = PgConnection::establish(server_url).unwrap();
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin);
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        let (without_query, _) = server_url.split_once('?').unwrap_or((server_url, ""));
        let (scheme, rest) = without_query.split_once("://").unwrap();
        let authority = rest
            .split_once('/')
            .map_or(rest, |(authority, _)| authority);
        PgDatabase {
            admin_url: server_url.to_string(),
            url: format!("{scheme}://{authority}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

fn finished(started: &MessageRow, content: &str, status: MessageStatus) -> FinishedReply {
    FinishedReply {
        conversation_id: started.conversation_id,
        user_message_id: started.id,
        reply_index: 0,
        content: content.into(),
        status,
        details: MessageDetails::default(),
    }
}

fn started(outcome: BeginChat) -> (MessageRow, Vec<Said>) {
    match outcome {
        BeginChat::Started(start) => (start.user_message, start.history),
        other => panic!("the chat did not start: {other:?}"),
    }
}

fn inserted(outcome: StoredReply) -> MessageRow {
    match outcome {
        StoredReply::Inserted(row) => row,
        other => panic!("the reply was not stored: {other:?}"),
    }
}

async fn story(location: Location, copy_to: Location) {
    let store = Store::open(&location, 2).unwrap();
    assert_eq!(store.location(), &location);

    // Users.
    let CreateUserOutcome::Created(ada) = store
        .create_user("ada".into(), Some("ada@example.invalid".into()))
        .await
        .unwrap()
    else {
        panic!("ada was not created");
    };
    assert!(matches!(
        store.create_user("ada".into(), None).await.unwrap(),
        CreateUserOutcome::UsernameTaken
    ));
    let found = store.user_by_name("ada".into()).await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.email, found.created_at),
        (ada.id, ada.email, ada.created_at)
    );
    assert!(store.user_by_name("nobody".into()).await.unwrap().is_none());

    // Conversations.
    let first = store
        .create_conversation(ada.id, Some("first".into()))
        .await
        .unwrap()
        .unwrap();
    let second = store
        .create_conversation(ada.id, None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .create_conversation(ada.id + 1000, None)
            .await
            .unwrap()
            .is_none()
    );
    let listed = store.conversations_of_user(ada.id, 0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
    let page = store.conversations_of_user(ada.id, 1, 10).await.unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), [second.id]);
    assert!(
        store
            .conversations_of_user(ada.id + 1000, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A chat begins under A's lease; while A lives nobody else may start one.
    let a = judge("host/1/a", &[]);
    let (question, history) = started(
        store
            .begin_chat(first.id, UserTurn::one("hello".into()), 10, a.clone())
            .await
            .unwrap(),
    );
    assert_eq!(
        (question.role, question.content.as_str()),
        (Role::User, "hello")
    );
    assert_eq!(
        history.iter().map(|m| m.id).collect::<Vec<_>>(),
        [question.id]
    );
    let b_sees_a_alive = judge("host/2/b", &[]);
    assert!(matches!(
        store
            .begin_chat(first.id, UserTurn::one("me too".into()), 10, b_sees_a_alive)
            .await
            .unwrap(),
        BeginChat::Busy
    ));
    assert!(matches!(
        store
            .begin_chat(first.id + 1000, UserTurn::one("x".into()), 10, a.clone())
            .await
            .unwrap(),
        BeginChat::NoConversation
    ));

    // A checkpoints, then dies: B takes its lease over and stores what it had.
    store
        .checkpoint_replies(
            a.clone(),
            vec![(
                first.id,
                Some(super::lease::Generated {
                    content: "half an ans".into(),
                    reasoning: String::new(),
                }),
            )],
        )
        .await
        .unwrap();
    store
        .checkpoint_replies(a.clone(), vec![(first.id, None)])
        .await
        .unwrap();
    store
        .checkpoint_replies(a.clone(), Vec::new())
        .await
        .unwrap();
    let b = judge("host/2/b", &["host/1/a"]);
    assert_eq!(
        store.recover_interrupted_replies(b.clone()).await.unwrap(),
        1
    );
    assert_eq!(
        store.recover_interrupted_replies(b.clone()).await.unwrap(),
        0,
        "once"
    );
    // A's final write, had it come late, stores nothing twice.
    assert!(matches!(
        store
            .insert_assistant_message(finished(
                &question,
                "half an answer",
                MessageStatus::Complete
            ))
            .await
            .unwrap(),
        StoredReply::AlreadyAnswered
    ));

    // B chats; its reply ends and gives the lease up with it.
    let (next, history) = started(
        store
            .begin_chat(first.id, UserTurn::one("and then?".into()), 2, b.clone())
            .await
            .unwrap(),
    );
    assert_eq!(history.len(), 2, "the last two messages");
    assert_eq!(
        (history[0].role, &*history[0].content),
        (Role::Assistant, "half an ans")
    );
    let (_, recovered) = store
        .message_with_reply(question.id, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        recovered.map(|answer| (answer.id, answer.status)),
        Some((history[0].id, MessageStatus::Interrupted))
    );
    assert_eq!(history[1].id, next.id);
    // Every detail of a reply is stored with it (and copied by migrate-data, below).
    let details = MessageDetails {
        model: Some("ollama/llama3.2:latest".into()),
        finish_reason: Some("content_filter".into()),
        prompt_tokens: Some(12),
        completion_tokens: Some(3),
        ttft_ms: Some(40),
        duration_ms: Some(250),
        reasoning: Some("first, think 😀\nthen answer".into()),
    };
    let answer = inserted(
        store
            .insert_assistant_message(FinishedReply {
                details: details.clone(),
                ..finished(&next, "then this", MessageStatus::Cancelled)
            })
            .await
            .unwrap(),
    );
    assert_eq!(
        (answer.role, answer.content.as_str(), answer.status),
        (Role::Assistant, "then this", MessageStatus::Cancelled)
    );
    assert_eq!(answer.details, details);
    assert_eq!(
        next.details,
        MessageDetails::NONE,
        "a user message has none"
    );
    assert!(matches!(
        store
            .insert_assistant_message(finished(&next, "then this", MessageStatus::Cancelled))
            .await
            .unwrap(),
        StoredReply::AlreadyAnswered
    ));

    // A chat whose reply generated nothing gives its lease up without a message; a
    // live peer may then chat at once.
    let (_, _) = started(
        store
            .begin_chat(second.id, UserTurn::one("anyone?".into()), 10, a.clone())
            .await
            .unwrap(),
    );
    store.release_reply(second.id, a.clone()).await.unwrap();
    let (last, _) = started(
        store
            .begin_chat(
                second.id,
                UserTurn::one("anyone at all?".into()),
                10,
                judge("host/3/c", &[]),
            )
            .await
            .unwrap(),
    );
    inserted(
        store
            .insert_assistant_message(finished(&last, "yes", MessageStatus::Complete))
            .await
            .unwrap(),
    );

    // The read of a conversation takes what the caller knows and reads the rest.
    let (conversation, parts) = store
        .conversation_with_known_messages(first.id, |ids: &[i64]| {
            ids.iter().map(|&id| (id == ids[0]).then_some(id)).collect()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (conversation.id, conversation.name.as_deref()),
        (first.id, Some("first"))
    );
    assert!(matches!(parts[0], KnownOrRow::Known(id) if id == question.id));
    let rows: Vec<(&str, MessageStatus)> = parts[1..]
        .iter()
        .map(|part| match part {
            KnownOrRow::Row(row) => (row.content.as_str(), row.status),
            KnownOrRow::Known(_) => panic!("only the first was known"),
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("half an ans", MessageStatus::Interrupted),
            ("and then?", MessageStatus::Complete),
            ("then this", MessageStatus::Cancelled),
        ]
    );
    assert!(
        store
            .conversation_with_known_messages(first.id + 1000, |ids: &[i64]| vec![
                None::<()>;
                ids.len()
            ])
            .await
            .unwrap()
            .is_none()
    );

    // Settings and titles: a name given at creation is the user's; a change sets only
    // what it names; a title lands only on a conversation without a name.
    let (row, own) = store
        .conversation_settings(first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name.as_deref(), Some("first"));
    assert_eq!(own.title_source.as_deref(), Some(TITLE_BY_USER));
    let change = SettingsChange {
        model: Some(Some("echo/echo".into())),
        params: Some(Some(r#"{"seed":1}"#.into())),
        ..SettingsChange::default()
    };
    let (row, own) = store
        .update_conversation(first.id, change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name.as_deref(), Some("first"));
    assert_eq!(own.model.as_deref(), Some("echo/echo"));
    assert_eq!(own.system_prompt, None);
    let (_, unchanged) = store
        .update_conversation(first.id, SettingsChange::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, own, "an empty change is a read");
    assert!(
        store
            .update_conversation(first.id + 1000, SettingsChange::default())
            .await
            .unwrap()
            .is_none()
    );
    let inputs = store.title_inputs(second.id).await.unwrap().unwrap();
    assert_eq!(inputs.name, None);
    assert!(
        !store
            .set_title(first.id, "no".into(), "first_line")
            .await
            .unwrap()
    );
    assert!(
        store
            .set_title(second.id, "Titled".into(), "first_line")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_title(second.id, "again".into(), "model")
            .await
            .unwrap()
    );
    let (row, own) = store
        .conversation_settings(second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.name.as_deref(), own.title_source.as_deref()),
        (Some("Titled"), Some("first_line"))
    );

    // migrate-data: copied table by table, ids kept, and the copy goes on from there.
    assert_eq!(store.counts().await.unwrap(), (1, 2, 7));
    let target = Store::open(&copy_to, 2).unwrap();
    for table in [Table::Users, Table::Conversations, Table::Messages] {
        let mut after = 0;
        loop {
            let batch = store.export_batch(table, after, 3).await.unwrap();
            let Some(last) = batch.last_id() else {
                assert!(batch.is_empty());
                break;
            };
            assert!(batch.len() <= 3);
            after = last;
            target.import_batch(batch).await.unwrap();
        }
    }
    assert_eq!(target.counts().await.unwrap(), (1, 2, 7));
    let CreateUserOutcome::Created(grace) = target.create_user("grace".into(), None).await.unwrap()
    else {
        panic!("grace was not created");
    };
    assert!(grace.id > ada.id, "ids continue past the copied ones");
    let copied = target
        .conversation_with_known_messages(first.id, |ids: &[i64]| vec![None::<()>; ids.len()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied.1.len(), 4);
    let copied_details: Vec<&MessageDetails> = copied
        .1
        .iter()
        .map(|part| match part {
            KnownOrRow::Row(row) => &row.details,
            KnownOrRow::Known(()) => panic!("nothing was known"),
        })
        .collect();
    assert_eq!(
        copied_details[3], &details,
        "the reply's details are copied"
    );
    assert_eq!(copied_details[0], &MessageDetails::NONE);

    // Path hashes are copied with their messages, and find the same conversation.
    let hashes = |rows: ExportBatch| -> Vec<Option<String>> {
        rows.messages.into_iter().map(|(_, hash)| hash).collect()
    };
    let source_hashes = hashes(store.export_batch(Table::Messages, 0, 100).await.unwrap());
    assert!(
        source_hashes.iter().all(Option::is_some),
        "{source_hashes:?}"
    );
    assert_eq!(
        hashes(target.export_batch(Table::Messages, 0, 100).await.unwrap()),
        source_hashes
    );
    let (_, settings) = target
        .conversation_settings(first.id)
        .await
        .unwrap()
        .unwrap();
    let mut path = paths::start(settings.system_prompt.as_deref());
    let mut last_id = 0;
    for part in &copied.1 {
        if let KnownOrRow::Row(row) = part {
            path = paths::next(&path, row.role, &row.content);
            last_id = row.id;
        }
    }
    assert_eq!(
        target
            .conversation_by_path(ada.id, path.clone())
            .await
            .unwrap(),
        Some((first.id, last_id))
    );
    assert_eq!(
        target.conversation_by_path(grace.id, path).await.unwrap(),
        None
    );
    assert_eq!(
        target
            .conversation_settings(first.id)
            .await
            .unwrap()
            .unwrap()
            .1,
        own_settings(&store, first.id).await,
        "the copy keeps the settings"
    );

    // Deletes: a prune before any activity deletes nothing; a conversation goes with its
    // messages; a user with everything of theirs.
    let long_ago = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    assert_eq!(
        store.prune_conversations(ada.id, long_ago).await.unwrap(),
        Some(Vec::new())
    );
    assert_eq!(
        store
            .prune_conversations(ada.id + 1000, long_ago)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.conversation_ids_of_user(ada.id).await.unwrap(),
        Some(vec![first.id, second.id])
    );
    assert!(store.delete_conversation(second.id).await.unwrap());
    assert!(!store.delete_conversation(second.id).await.unwrap());
    assert_eq!(store.counts().await.unwrap(), (1, 1, 4));
    let later = now() + chrono::TimeDelta::seconds(1);
    assert_eq!(
        store.prune_conversations(ada.id, later).await.unwrap(),
        Some(vec![first.id])
    );
    assert_eq!(store.counts().await.unwrap(), (1, 0, 0));
    assert_eq!(store.delete_user(ada.id).await.unwrap(), Some(Vec::new()));
    assert_eq!(store.delete_user(ada.id).await.unwrap(), None);
    assert_eq!(store.counts().await.unwrap(), (0, 0, 0));
    assert_eq!(
        target.delete_user(ada.id).await.unwrap(),
        Some(vec![first.id, second.id])
    );
    assert_eq!(target.counts().await.unwrap(), (1, 0, 0), "grace stays");
}

/// A conversation's own settings, which must exist.
async fn own_settings(store: &Store, id: i64) -> ConversationSettingsRow {
    store.conversation_settings(id).await.unwrap().unwrap().1
}

#[tokio::test]
async fn every_store_call_in_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story(
        Location::Sqlite(dir.path().join("chat.db")),
        Location::Sqlite(dir.path().join("copy.db")),
    )
    .await;
}

#[tokio::test]
async fn every_store_call_in_order_on_postgres() {
    let Ok(server) = std::env::var("CHATD_TEST_POSTGRES_URL") else {
        eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
        return;
    };
    let source = PgDatabase::create(&server, "story");
    let target = PgDatabase::create(&server, "story_copy");
    story(
        Location::Postgres(source.url.clone()),
        Location::Postgres(target.url.clone()),
    )
    .await;
}

/// The path hashes a chat writes from what it has already read (the start's leaf and
/// system prompt, the reply's user message) against a rehash of the whole conversation,
/// which makes each from its parent's row.
async fn chats_hash_their_paths_as_a_rehash_does(location: Location) {
    let store = Store::open(&location, 2).unwrap();
    let CreateUserOutcome::Created(ada) = store.create_user("ada".into(), None).await.unwrap()
    else {
        panic!("ada was not created");
    };
    let own = ConversationSettingsRow {
        system_prompt: Some("be brief\r\nplease".into()),
        ..ConversationSettingsRow::default()
    };
    let conversation = store
        .create_conversation_with(ada.id, None, own)
        .await
        .unwrap()
        .unwrap();
    let a = judge("host/1/a", &[]);
    let turns = [
        UserTurn::one("first, from the root".into()),
        UserTurn {
            contents: vec!["two at once".into(), "the second\r of them".into()],
            ..UserTurn::one(String::new())
        },
        UserTurn::one("and after the reply".into()),
    ];
    for turn in turns {
        let (question, _) = started(
            store
                .begin_chat(conversation.id, turn, 10, a.clone())
                .await
                .unwrap(),
        );
        inserted(
            store
                .insert_assistant_message(finished(&question, "an answer", MessageStatus::Complete))
                .await
                .unwrap(),
        );
    }
    let id = conversation.id;
    let hashes = || {
        store.read(move |conn| {
            Ok(on_conn!(conn, c => schema::messages::table
                .filter(schema::messages::conversation_id.eq(id))
                .order(schema::messages::id.asc())
                .select(schema::messages::path_hash)
                .load::<Option<String>>(c))?)
        })
    };
    let written = hashes().await.unwrap();
    assert_eq!(written.len(), 7, "four user messages and three replies");
    assert!(written.iter().all(Option::is_some), "{written:?}");
    store
        .write(move |conn| Ok(paths::rehash(conn, id)?))
        .await
        .unwrap();
    assert_eq!(hashes().await.unwrap(), written);
}

#[tokio::test]
async fn chats_hash_their_paths_as_a_rehash_does_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    chats_hash_their_paths_as_a_rehash_does(Location::Sqlite(dir.path().join("chat.db"))).await;
}

#[tokio::test]
async fn chats_hash_their_paths_as_a_rehash_does_on_postgres() {
    let Ok(server) = std::env::var("CHATD_TEST_POSTGRES_URL") else {
        eprintln!("skipped: CHATD_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = PgDatabase::create(&server, "hashes");
    chats_hash_their_paths_as_a_rehash_does(Location::Postgres(database.url.clone())).await;
}
