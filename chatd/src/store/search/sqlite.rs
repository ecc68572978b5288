//! SQLite's search: the FTS5 `trigram` index `messages_fts` (migrations
//! `2026-12-02-000020_search` and `2026-12-02-000030_search_speed`).
//!
//! - A term of three characters or more is an FTS5 string: any substring, any script.
//! - A term of two characters (a Chinese word, often) has no trigram of its own, but
//!   every place it occurs begins a trigram: the index holds each message's text with
//!   a newline after it, so even a message's last two characters do. The index's own
//!   list of terms (`messages_fts_terms`, an `fts5vocab` table) gives the trigrams that
//!   begin with it, and the term is the OR of them. When it begins more than
//!   [`MAX_EXPANSION`] trigrams it is common enough to be a `LIKE` filter instead.
//! - A term of one character is a `LIKE` filter.
//!
//! The index drives the statement (`CROSS JOIN` keeps it outermost) in descending
//! rowid order, which FTS5 walks without sorting, so the statement stops at the window.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::{COLUMNS, Matches, Statement, like_pattern, window};
use crate::search::snippet::fold;
use crate::search::{Query, Term};

/// Terms shorter than this have no trigram of their own.
const TRIGRAM: usize = 3;
/// The most trigrams a two-character term is expanded to.
const MAX_EXPANSION: i64 = 256;

/// How a term is matched.
enum Matcher {
    /// An FTS5 expression.
    Index(String),
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
    .bind::<diesel::sql_types::BigInt, _>(MAX_EXPANSION + 1)
    .load::<Trigram>(conn)
    .map(|rows| rows.into_iter().map(|row| row.term).collect())
}

fn matcher(conn: &mut SqliteConnection, term: &Term) -> QueryResult<Matcher> {
    match term.chars() {
        n if n >= TRIGRAM => Ok(Matcher::Index(fts5_string(&term.text))),
        2 => {
            let trigrams = trigrams_beginning(conn, &term.text)?;
            Ok(match trigrams.len() as i64 {
                0 => Matcher::Nowhere,
                n if n > MAX_EXPANSION => Matcher::Like(like_pattern(&term.text)),
                _ => Matcher::Index(format!(
                    "({})",
                    trigrams
                        .iter()
                        .map(|t| fts5_string(t))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                )),
            })
        }
        _ => Ok(Matcher::Like(like_pattern(&term.text))),
    }
}

pub(super) fn newest_matches(
    conn: &mut SqliteConnection,
    user_id: i64,
    query: &Query,
    wanted: i64,
) -> QueryResult<Matches> {
    let mut found = Vec::new();
    let mut likes = Vec::new();
    for term in &query.terms {
        match matcher(conn, term)? {
            Matcher::Index(expression) => found.push(expression),
            Matcher::Like(pattern) => likes.push(pattern),
            Matcher::Nowhere => return Ok(Matches::none()),
        }
    }
    let mut excluded = Vec::new();
    let mut unlikes = Vec::new();
    for term in &query.excluded {
        match matcher(conn, term)? {
            Matcher::Index(expression) => excluded.push(expression),
            Matcher::Like(pattern) => unlikes.push(pattern),
            Matcher::Nowhere => {}
        }
    }
    let ranked = !found.is_empty();
    let mut statement = Statement::new(false);
    if ranked {
        let mut expression = format!("({})", found.join(" AND "));
        for term in excluded.drain(..) {
            expression.push_str(" NOT ");
            expression.push_str(&term);
        }
        let matched = statement.text(expression);
        statement.sql = format!(
            "SELECT {COLUMNS} FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid \
             CROSS JOIN conversations c ON c.id = m.conversation_id \
             WHERE messages_fts MATCH {matched}"
        );
    } else {
        statement.sql = format!(
            "SELECT {COLUMNS} FROM messages m CROSS JOIN conversations c \
             ON c.id = m.conversation_id WHERE 1 = 1"
        );
    }
    statement.common_filters(user_id, query);
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
    // Left only when no term to find used the index.
    for term in excluded {
        let matched = statement.text(term);
        statement.sql.push_str(&format!(
            " AND m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH {matched})"
        ));
    }
    // FTS5 walks its rowids backwards itself; `m.id` would be sorted.
    let order = if ranked { "f.rowid" } else { "m.id" };
    statement.newest(order, window(ranked, wanted));
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
}
