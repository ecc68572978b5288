//! SQLite's search, over two FTS5 indexes of `messages` (migrations
//! `2026-12-02-000020_search` and `2026-12-02-000050_search_speed`):
//!
//! - `messages_words` (the `unicode61` tokenizer, diacritics and case folded) answers
//!   terms of spaced scripts as whole words, as PostgreSQL does: a word's own list of
//!   messages, which is short for a rare word however common its letters are. When
//!   no message holds them as words, the query is asked again with them as substrings
//!   (below), so `concat` still finds `concatenate`.
//! - `messages_fts` (the `trigram` tokenizer) answers substrings, in any script: a
//!   term of three characters or more is an FTS5 string. A term of two characters (a
//!   Chinese word, often) has no trigram of its own, but every place it occurs begins
//!   one: the index holds each text with a newline after it, so even a message's last
//!   two characters do. The index's own list of terms (`messages_fts_terms`, an
//!   `fts5vocab` table) gives the trigrams that begin with it, and the term is the OR of
//!   them; when it begins more than [`MAX_EXPANSION`] it is common enough to be a
//!   `LIKE` filter instead, as is a term of one character.
//!
//! One index drives the statement (`CROSS JOIN` keeps it outermost) in descending
//! rowid order, which FTS5 walks without sorting, so the statement stops at the
//! window; the other index's terms are checked for each row it gives (`rowid = m.id`).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;

use super::{COLUMNS, Matches, Statement, like_pattern, window};
use crate::search::snippet::fold;
use crate::search::{Query, Term};

/// Terms shorter than this have no trigram of their own.
const TRIGRAM: usize = 3;
/// The most trigrams a two-character term is expanded to.
const MAX_EXPANSION: i64 = 256;

/// The search queue and the two indexes as tables, so that the statements that fill
/// the indexes are prepared once (diesel never caches an `sql_query`'s).
mod queue {
    diesel::table! {
        messages_unindexed (id) {
            id -> BigInt,
        }
    }
    diesel::table! {
        messages_fts (rowid) {
            rowid -> BigInt,
            content -> Text,
        }
    }
    diesel::table! {
        messages_words (rowid) {
            rowid -> BigInt,
            content -> Text,
        }
    }
    use crate::store::schema::messages;
    diesel::allow_tables_to_appear_in_same_query!(messages_unindexed, messages);
}

/// Whether any message waits in the search queue.
pub(crate) fn anything_queued(conn: &mut SqliteConnection) -> QueryResult<bool> {
    use queue::messages_unindexed;
    diesel::select(diesel::dsl::exists(
        messages_unindexed::table.select(messages_unindexed::id),
    ))
    .get_result(conn)
}

/// Indexes the messages the insert trigger queued in `messages_unindexed` (migration
/// `2026-12-02-000090_search_batch`) and empties the queue. The writer calls it once per
/// batch, in the batch's transaction, so a message is searchable as soon as it is
/// committed while both indexes are written once per batch: FTS5 writes its pending
/// terms at every savepoint's end, and each write of a batch is a savepoint.
///
/// At most `limit` queued messages, the oldest, are indexed per call; returns whether
/// more stay queued. A batch rarely queues more, but writes made around the writer (a
/// database filled by hand, a million rows) would otherwise be indexed in one
/// transaction of minutes that every write waits behind.
pub(crate) fn index_queued(conn: &mut SqliteConnection, limit: i64) -> QueryResult<bool> {
    use crate::store::schema::messages;
    use queue::{messages_fts, messages_unindexed, messages_words};

    if !anything_queued(conn)? {
        return Ok(false);
    }
    // The last id of this round; none when the whole queue fits in it.
    let last: Option<i64> = messages_unindexed::table
        .select(messages_unindexed::id)
        .order(messages_unindexed::id)
        .offset(limit.max(1))
        .first(conn)
        .optional()?;
    let through = last.map_or(i64::MAX, |next| next - 1);
    // Each text with a newline after it, as the migration's view gives it to FTS5.
    let texts = || {
        messages_unindexed::table
            .inner_join(messages::table.on(messages::id.eq(messages_unindexed::id)))
            .filter(messages_unindexed::id.le(through))
            .select((messages::id, messages::content.concat("\n")))
            // By the queue's id, not the message's (the same value): ordered by
            // `messages.id`, SQLite walked every stored message in id order and looked
            // each up in the queue, a scan of the whole table at every commit.
            .order(messages_unindexed::id)
    };
    diesel::insert_into(messages_fts::table)
        .values(texts())
        .into_columns((messages_fts::rowid, messages_fts::content))
        .execute(conn)?;
    diesel::insert_into(messages_words::table)
        .values(texts())
        .into_columns((messages_words::rowid, messages_words::content))
        .execute(conn)?;
    diesel::delete(messages_unindexed::table.filter(messages_unindexed::id.le(through)))
        .execute(conn)?;
    Ok(last.is_some())
}

/// The two indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    Words,
    Trigrams,
}

impl Index {
    fn table(self) -> &'static str {
        match self {
            Index::Words => "messages_words",
            Index::Trigrams => "messages_fts",
        }
    }
}

/// How a term is matched.
enum Matcher {
    /// An FTS5 expression of one index.
    Index(Index, String),
    /// A `LIKE` pattern.
    Like(String),
    /// It occurs nowhere.
    Nowhere,
}

/// An FTS5 string: the text in double quotes, its own quotes doubled, so that nothing
/// in it is FTS5 syntax.
fn fts5_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Trigram {
    #[diesel(sql_type = Text)]
    term: String,
}

/// The trigrams of the index that begin with a two-character `text`, at most
/// `MAX_EXPANSION + 1` of them.
fn trigrams_beginning(conn: &mut SqliteConnection, text: &str) -> QueryResult<Vec<String>> {
    // The index holds its terms folded to lower case, as `fold` does.
    let folded: String = text.chars().map(fold).collect();
    let after = format!("{folded}{}", char::MAX);
    diesel::sql_query(
        "SELECT term FROM messages_fts_terms WHERE term >= ? AND term < ? \
         ORDER BY term LIMIT ?",
    )
    .bind::<Text, _>(folded)
    .bind::<Text, _>(after)
    .bind::<BigInt, _>(MAX_EXPANSION + 1)
    .load::<Trigram>(conn)
    .map(|rows| rows.into_iter().map(|row| row.term).collect())
}

/// How `term` is matched: as whole words when `words` and it is of a spaced script,
/// else as a substring.
fn matcher(conn: &mut SqliteConnection, term: &Term, words: bool) -> QueryResult<Matcher> {
    if words && !term.is_unspaced() {
        return Ok(Matcher::Index(Index::Words, fts5_string(&term.text)));
    }
    match term.chars() {
        n if n >= TRIGRAM => Ok(Matcher::Index(Index::Trigrams, fts5_string(&term.text))),
        2 => {
            let trigrams = trigrams_beginning(conn, &term.text)?;
            Ok(match trigrams.len() as i64 {
                0 => Matcher::Nowhere,
                n if n > MAX_EXPANSION => Matcher::Like(like_pattern(&term.text)),
                _ => Matcher::Index(
                    Index::Trigrams,
                    format!(
                        "({})",
                        trigrams
                            .iter()
                            .map(|t| fts5_string(t))
                            .collect::<Vec<_>>()
                            .join(" OR ")
                    ),
                ),
            })
        }
        _ => Ok(Matcher::Like(like_pattern(&term.text))),
    }
}

/// A query's terms sorted by how they are matched.
#[derive(Default)]
struct Parts {
    /// Per index: the expressions to find, and those to exclude.
    found: [Vec<String>; 2],
    excluded: [Vec<String>; 2],
    likes: Vec<String>,
    unlikes: Vec<String>,
    /// A term to find occurs nowhere.
    nowhere: bool,
    /// A term was matched as words.
    words: bool,
}

fn slot(index: Index) -> usize {
    match index {
        Index::Words => 0,
        Index::Trigrams => 1,
    }
}

fn parts(conn: &mut SqliteConnection, query: &Query, words: bool) -> QueryResult<Parts> {
    let mut parts = Parts::default();
    for term in &query.terms {
        match matcher(conn, term, words)? {
            Matcher::Index(index, expression) => {
                parts.words |= index == Index::Words;
                parts.found[slot(index)].push(expression);
            }
            Matcher::Like(pattern) => parts.likes.push(pattern),
            Matcher::Nowhere => parts.nowhere = true,
        }
    }
    for term in &query.excluded {
        match matcher(conn, term, words)? {
            Matcher::Index(index, expression) => parts.excluded[slot(index)].push(expression),
            Matcher::Like(pattern) => parts.unlikes.push(pattern),
            Matcher::Nowhere => {}
        }
    }
    Ok(parts)
}

/// `(a AND b) NOT x NOT y`: every term found, none of the excluded.
fn expression(found: &[String], excluded: &[String]) -> String {
    let mut expression = format!("({})", found.join(" AND "));
    for term in excluded {
        expression.push_str(" NOT ");
        expression.push_str(term);
    }
    expression
}

fn build(user_id: i64, query: &Query, parts: Parts, wanted: i64) -> (Statement, bool) {
    let mut statement = Statement::new(false);
    let driver = [Index::Words, Index::Trigrams]
        .into_iter()
        .find(|index| !parts.found[slot(*index)].is_empty());
    let Parts {
        found,
        mut excluded,
        likes,
        unlikes,
        ..
    } = parts;
    match driver {
        Some(index) => {
            let table = index.table();
            let matched = statement.text(expression(
                &found[slot(index)],
                &std::mem::take(&mut excluded[slot(index)]),
            ));
            statement.sql = format!(
                "SELECT {COLUMNS} FROM {table} f CROSS JOIN messages m ON m.id = f.rowid \
                 CROSS JOIN conversations c ON c.id = m.conversation_id \
                 WHERE {table} MATCH {matched}"
            );
        }
        None => {
            statement.sql = format!(
                "SELECT {COLUMNS} FROM messages m CROSS JOIN conversations c \
                 ON c.id = m.conversation_id WHERE 1 = 1"
            );
        }
    }
    statement.common_filters(user_id, query);
    for index in [Index::Words, Index::Trigrams] {
        let table = index.table();
        if Some(index) != driver && !found[slot(index)].is_empty() {
            let matched = statement.text(expression(&found[slot(index)], &[]));
            statement.sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH {matched} \
                 AND rowid = m.id)"
            ));
        }
        for term in &excluded[slot(index)] {
            let matched = statement.text(term.clone());
            statement.sql.push_str(&format!(
                " AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH {matched} \
                 AND rowid = m.id)"
            ));
        }
    }
    for pattern in likes {
        let like = statement.text(pattern);
        statement
            .sql
            .push_str(&format!(" AND m.content LIKE {like} ESCAPE '\\'"));
    }
    for pattern in unlikes {
        let like = statement.text(pattern);
        statement
            .sql
            .push_str(&format!(" AND m.content NOT LIKE {like} ESCAPE '\\'"));
    }
    let ranked = driver.is_some();
    // FTS5 walks its rowids backwards itself; `m.id` would be sorted.
    let order = if ranked { "f.rowid" } else { "m.id" };
    statement.newest(order, window(ranked, wanted));
    (statement, ranked)
}

pub(super) fn newest_matches(
    conn: &mut SqliteConnection,
    user_id: i64,
    query: &Query,
    wanted: i64,
) -> QueryResult<Matches> {
    let as_words = parts(conn, query, true)?;
    if as_words.nowhere {
        return Ok(Matches::none());
    }
    let had_words = as_words.words;
    let (statement, ranked) = build(user_id, query, as_words, wanted);
    let rows: Vec<_> = statement.boxed::<Sqlite>().load(conn)?;
    if !rows.is_empty() || !had_words {
        return Ok(Matches { rows, ranked });
    }
    // No message holds the words as words: as substrings, then.
    let as_substrings = parts(conn, query, false)?;
    if as_substrings.nowhere {
        return Ok(Matches::none());
    }
    let (statement, ranked) = build(user_id, query, as_substrings, wanted);
    let rows = statement.boxed::<Sqlite>().load(conn)?;
    Ok(Matches { rows, ranked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_strings_quote_everything() {
        assert_eq!(fts5_string(r#"a" OR NEAR(b*"#), r#""a"" OR NEAR(b*""#);
    }

    #[test]
    fn exclusions_follow_what_is_found() {
        assert_eq!(
            expression(&["\"a\"".into(), "\"b\"".into()], &["\"x\"".into()]),
            "(\"a\" AND \"b\") NOT \"x\""
        );
    }
}
