//! How search finds and orders what it finds, on both backends: whole words, else
//! parts of words; two-character terms through the index wherever they are in a
//! message; the newest matches ranked and
//! older ones after them, newest first; PostgreSQL's search language (`english`
//! stems, it belongs to the database, an unknown one stops chatd at start-up).

use serde_json::{Value, json};

use crate::support::{Daemon, read_events, read_json, sql, unique};

/// The hits of a search, as (message id, snippet).
async fn hits(chatd: &Daemon, user: i64, q: &str, skip: usize, limit: usize) -> Vec<(i64, String)> {
    let response = chatd
        .client
        .get(chatd.url(&format!("/users/{user}/search")))
        .query(&[
            ("q", q),
            ("skip", &skip.to_string()),
            ("limit", &limit.to_string()),
        ])
        .send()
        .await
        .expect("GET search");
    let (status, body) = read_json(response).await;
    assert_eq!(status, 200, "{q}: {body}");
    body.as_array()
        .expect("a list")
        .iter()
        .map(|hit| {
            (
                hit["message_id"].as_i64().expect("message_id"),
                hit["snippet"].as_str().expect("snippet").to_string(),
            )
        })
        .collect()
}

async fn ids(chatd: &Daemon, user: i64, q: &str) -> Vec<i64> {
    let mut found: Vec<i64> = hits(chatd, user, q, 0, 100)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    found.sort_unstable();
    found
}

/// A user whose every text is a chat of its own (the echo provider answers with the
/// same words); returns the user and the ids of the user messages.
async fn user_with(chatd: &Daemon, texts: &[&str]) -> (i64, Vec<i64>) {
    let user = chatd.create_user(&format!("index-{}", unique())).await;
    let mut sent = Vec::new();
    for text in texts {
        let conversation = chatd.create_conversation(user).await;
        read_events(chatd.chat(conversation, text).await).await;
        let messages = chatd.wait_for_messages(conversation, 2).await;
        sent.push(messages[0]["id"].as_i64().expect("id"));
    }
    (user, sent)
}

async fn two_characters_are_found_through_the_index_wherever_they_are() {
    let chatd = Daemon::start().await;
    let (user, sent) = user_with(
        &chatd,
        &[
            "我们明天去京都",
            "京都",
            "京都看寺庙",
            "东京很大",
            "去京都 再去大阪",
        ],
    )
    .await;
    let wanted = vec![sent[0], sent[1], sent[2], sent[4]];
    assert_eq!(ids(&chatd, user, "京都 role:user").await, wanted);
    assert_eq!(
        ids(&chatd, user, "京都 -寺庙 -大阪 role:user").await,
        [sent[0], sent[1]]
    );
    assert_eq!(ids(&chatd, user, "京都 大阪 role:user").await, [sent[4]]);
    assert!(ids(&chatd, user, "猫狗").await.is_empty());
    if chatd.postgres_url().is_none() {
        // The message that ends with the term is in the index as a trigram of its own.
        let ending = sql::count(
            &chatd,
            "SELECT doc AS n FROM messages_fts_terms WHERE term = '京都' || char(10)",
        );
        assert_eq!(ending, 4, "two messages and their two echoes end with it");
    }
}

async fn words_are_whole_words_and_parts_of_words_are_found_when_no_word_is() {
    let chatd = Daemon::start().await;
    let (user, sent) = user_with(
        &chatd,
        &["the cat sat", "concatenate the strings", "Café au lait"],
    )
    .await;
    assert_eq!(
        ids(&chatd, user, "cat role:user").await,
        [sent[0]],
        "a whole word where one holds it"
    );
    assert_eq!(
        ids(&chatd, user, "concat role:user").await,
        [sent[1]],
        "else a part of a word"
    );
    assert_eq!(ids(&chatd, user, "CAFÉ role:user").await, [sent[2]]);
    assert_eq!(ids(&chatd, user, "cat -sat role:user").await, [sent[1]]);
    if chatd.postgres_url().is_none() {
        assert_eq!(
            ids(&chatd, user, "cafe role:user").await,
            [sent[2]],
            "diacritics"
        );
    }
}

/// A chatd document of one conversation, a message for each text, a minute apart.
fn document(texts: &[String]) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({
                "id": i + 1,
                "conversation_id": 1,
                "role": "user",
                "content": text,
                "created_at": format!("2025-03-{:02}T{:02}:{:02}:00.000000Z", 1 + i / 1440, i / 60 % 24, i % 60),
                "status": "complete"
            })
        })
        .collect();
    json!({
        "format": "chatd.conversation",
        "version": 1,
        "conversation": {
            "id": 1, "user_id": 1, "name": "window", "created_at": "2025-03-01T00:00:00.000000Z"
        },
        "messages": messages
    })
}

async fn the_newest_matches_are_ranked_and_older_ones_follow_newest_first() {
    const MESSAGES: usize = 1200;
    /// chatd's ranking window (`search::rank::RANK_WINDOW`).
    const WINDOW: usize = 500;
    let chatd = Daemon::start().await;
    let user = chatd.create_user(&format!("window-{}", unique())).await;
    let best = |i: usize| i == 0 || i == 1100;
    let texts: Vec<String> = (0..MESSAGES)
        .map(|i| {
            if best(i) {
                format!("needle needle needle needle number {i:04}")
            } else {
                format!("needle number {i:04}")
            }
        })
        .collect();
    let response = chatd
        .client
        .post(chatd.url(&format!("/users/{user}/import")))
        .header("content-type", "application/json")
        .body(document(&texts).to_string())
        .send()
        .await
        .expect("POST import");
    let (status, body) = read_json(response).await;
    assert_eq!((status, &body["imported"]), (200, &json!(1)), "{body}");
    let number = |snippet: &str| -> usize {
        snippet
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a numbered message: {snippet}"))
    };
    let first: Vec<usize> = hits(&chatd, user, "needle", 0, 3)
        .await
        .iter()
        .map(|(_, s)| number(s))
        .collect();
    assert_eq!(
        first,
        [1100, 1199, 1198],
        "the best of the newest {WINDOW}, then equals newest first"
    );
    let past_the_window: Vec<usize> = hits(&chatd, user, "needle", WINDOW, 2)
        .await
        .iter()
        .map(|(_, s)| number(s))
        .collect();
    assert_eq!(
        past_the_window,
        [MESSAGES - WINDOW - 1, MESSAGES - WINDOW - 2]
    );
    let last = hits(&chatd, user, "needle", MESSAGES - 1, 5).await;
    assert_eq!(
        last.iter().map(|(_, s)| number(s)).collect::<Vec<_>>(),
        [0],
        "the oldest, best as it is, is outside the window: last"
    );
    let straddling = hits(&chatd, user, "needle", WINDOW - 1, 2).await;
    assert_eq!(straddling.len(), 2);
    assert_eq!(number(&straddling[1].1), MESSAGES - WINDOW - 1);
}

/// chatd on `chatd`'s database with `args`, which must refuse to start: its status
/// and standard error.
async fn refused_on_same_database(chatd: &Daemon, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command =
        tokio::process::Command::from(testkit::isolated(env!("CARGO_BIN_EXE_chatd"), dir.path()));
    let database = match chatd.postgres_url() {
        Some(url) => url.to_string(),
        None => chatd.database().display().to_string(),
    };
    let output = command
        .args(["--listen", "127.0.0.1:0", "--database", &database])
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(crate::support::WAIT, output)
        .await
        .expect("chatd stopped by itself")
        .expect("run chatd");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn the_search_language_stems_and_belongs_to_the_database() {
    let mut chatd = Daemon::start().await;
    let (user, sent) = user_with(&chatd, &["I was running late", "the runner ran"]).await;
    let Some(_) = chatd.postgres_url() else {
        // SQLite's trigram index has no language: the setting is accepted and ignored.
        chatd.terminate().await;
        let chatd = chatd
            .another_on_same_database(&["--search-language", "english"])
            .await;
        assert_eq!(ids(&chatd, user, "running role:user").await, [sent[0]]);
        return;
    };
    assert!(
        ids(&chatd, user, "runs role:user").await.is_empty(),
        "simple: no stemming (and no message holds the letters)"
    );
    chatd.terminate().await;
    let english = chatd
        .another_on_same_database(&["--search-language", "english"])
        .await;
    assert_eq!(ids(&english, user, "run role:user").await, [sent[0]]);
    assert_eq!(ids(&english, user, "runs role:user").await, [sent[0]]);
    assert_eq!(
        ids(&english, user, "\"was running\" role:user").await,
        [sent[0]],
        "a stop word in a phrase"
    );
    assert_eq!(
        ids(&english, user, "the running role:user").await,
        [sent[0]],
        "a stop word alone is left out, not a match for nothing"
    );
    assert_eq!(
        ids(&english, user, "runner -the role:user").await,
        [sent[1]],
        "an excluded stop word excludes nothing"
    );
    // Messages stored from now on are indexed in the database's language too.
    let (later, later_sent) = user_with(&english, &["jumping fences"]).await;
    assert_eq!(ids(&english, later, "jump role:user").await, later_sent);
    // Another process started without the setting searches in the database's.
    let unset = english.another_on_same_database(&[]).await;
    assert_eq!(ids(&unset, user, "run role:user").await, [sent[0]]);

    let (code, stderr) = refused_on_same_database(&unset, &["--search-language", "klingon"]).await;
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("\"klingon\"") && stderr.contains("pg_ts_config"),
        "{stderr}"
    );
    // And back: `simple` again, whole words.
    let simple = unset
        .another_on_same_database(&["--search-language", "simple"])
        .await;
    assert!(ids(&simple, user, "runs role:user").await.is_empty());
    assert_eq!(ids(&simple, user, "running role:user").await, [sent[0]]);
}

/// SQLite indexes new messages once per batch of writes (migration
/// `2026-12-02-000090_search_batch`): nothing stays queued after a chat, and messages
/// written around the writer (here by hand, with chatd stopped), then deleted or
/// edited while still queued, are indexed after the next start as they are then, in
/// rounds that do not hold start-up back, with both indexes passing FTS5's own
/// integrity check.
#[tokio::test]
async fn sqlite_indexes_queued_messages_once_as_they_are_when_indexed() {
    let chatd = Daemon::start().await;
    let (user, sent) = user_with(&chatd, &["a message about narwhals"]).await;
    assert_eq!(
        sql::count(&chatd, "SELECT count(*) AS n FROM messages_unindexed"),
        0
    );
    assert_eq!(ids(&chatd, user, "narwhals role:user").await, sent);

    let mut chatd = chatd;
    chatd.terminate().await;
    let conversation = sql::count(
        &chatd,
        &format!(
            "SELECT conversation_id AS n FROM messages WHERE id = {}",
            sent[0]
        ),
    );
    let insert = |text: &str| {
        sql::execute(
            &chatd,
            &format!(
                "INSERT INTO messages (conversation_id, role, content, status, created_at) \
                 VALUES ({conversation}, 'user', '{text}', 'complete', CURRENT_TIMESTAMP)"
            ),
        );
        sql::count(&chatd, "SELECT max(id) AS n FROM messages")
    };
    let kept = insert("queued about okapis");
    let deleted = insert("queued about quokkas");
    let edited = insert("queued about axolotls");
    // More than one round of the writer's indexing (2,000 a transaction).
    sql::execute(
        &chatd,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500) \
             INSERT INTO messages (conversation_id, role, content, status, created_at) \
             SELECT {conversation}, 'user', 'filler number ' || i, 'complete', CURRENT_TIMESTAMP \
             FROM n"
        ),
    );
    let last_filler = insert("the last queued about dugongs");
    assert_eq!(
        sql::count(&chatd, "SELECT count(*) AS n FROM messages_unindexed"),
        4504
    );
    sql::execute(
        &chatd,
        &format!("DELETE FROM messages WHERE id = {deleted}"),
    );
    sql::execute(
        &chatd,
        &format!("UPDATE messages SET content = 'edited about capybaras' WHERE id = {edited}"),
    );
    // An indexed message edited: re-indexed at once, the old words gone.
    sql::execute(
        &chatd,
        &format!(
            "UPDATE messages SET content = 'now about manatees' WHERE id = {}",
            sent[0]
        ),
    );

    // chatd answers at once; its writer indexes the queue in rounds meanwhile, with
    // no write to prompt it.
    let chatd = chatd.restart_stopped().await;
    let mut waited = 0;
    while sql::count(&chatd, "SELECT count(*) AS n FROM messages_unindexed") > 0 {
        assert!(waited < 600, "the queue was not indexed within 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(ids(&chatd, user, "dugongs").await, [last_filler]);
    assert_eq!(hits(&chatd, user, "filler", 0, 5).await.len(), 5);
    assert_eq!(ids(&chatd, user, "okapis").await, [kept]);
    assert_eq!(ids(&chatd, user, "capybaras").await, [edited]);
    assert_eq!(ids(&chatd, user, "manatees role:user").await, sent);
    for gone in ["quokkas", "axolotls", "narwhals role:user"] {
        assert!(ids(&chatd, user, gone).await.is_empty(), "{gone}");
    }
    for index in ["messages_fts", "messages_words"] {
        sql::execute(
            &chatd,
            &format!("INSERT INTO {index} ({index}) VALUES ('integrity-check')"),
        );
    }
}

crate::on_both_backends!(
    words_are_whole_words_and_parts_of_words_are_found_when_no_word_is,
    two_characters_are_found_through_the_index_wherever_they_are,
    the_newest_matches_are_ranked_and_older_ones_follow_newest_first,
    the_search_language_stems_and_belongs_to_the_database,
);
