//! PostgreSQL's search (migrations `2026-12-02-000020_search` and
//! `2026-12-02-000050_search_speed`): words and phrases of spaced scripts through the
//! `tsvector` column `content_search` and its GIN index, in the database's search
//! language (`search_settings.language`); terms with a character of an unspaced script
//! as `ILIKE` substrings, which the `pg_trgm` GIN index answers from three characters
//! on (a two-character term has no trigram: it is a filter over the newest messages).
//! When no message holds the words as words, they are asked for as substrings too.
//!
//! The language is written into the statement as a literal (it comes from
//! `pg_ts_config`, through the settings table), and the statement is planned for its
//! values (`plan_cache_mode`), so the planner sees how common a word is: a common one
//! is read walking the primary key backwards until the window is full, a rare one
//! from the GIN index and sorted.

use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{COLUMNS, Matches, Statement, like_pattern, window};
use crate::search::{Query, Term};

/// Unspaced terms shorter than this have no trigram for `pg_trgm` to look up.
const TRIGRAM: usize = 3;

#[derive(QueryableByName)]
struct Language {
    #[diesel(sql_type = Text)]
    language: String,
}

/// `text` as a SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The database's search language, with the rest of this transaction planned for the
/// values bound to its statements.
fn language_planned_per_value(conn: &mut PgConnection) -> QueryResult<String> {
    let row: Language = diesel::sql_query(
        "SELECT set_config('plan_cache_mode', 'force_custom_plan', true) AS mode, \
         language::text AS language FROM search_settings",
    )
    .get_result(conn)?;
    Ok(row.language)
}

/// The predicate of a message holding `term` (or, `excluded`, not holding it) as
/// words (`words`, for a spaced script) or as a substring, and whether an index answers
/// it. A word the language drops (a stop word of `english`,
/// say) is left out of the query: it neither makes it find nothing nor, excluded,
/// exclude everything.
fn predicate(
    statement: &mut Statement,
    language: &str,
    term: &Term,
    excluded: bool,
    words: bool,
) -> (String, bool) {
    let not = if excluded { "NOT " } else { "" };
    if !words || term.is_unspaced() {
        let like = statement.text(like_pattern(&term.text));
        return (
            format!("{not}m.content ILIKE {like}"),
            term.chars() >= TRIGRAM,
        );
    }
    let text = statement.text(term.text.clone());
    let function = if term.phrase {
        "phraseto_tsquery"
    } else {
        "plainto_tsquery"
    };
    let tsquery = format!("{function}({}::regconfig, {text})", literal(language));
    // Planned for its values, `numnode(...)` is a constant and the test folds away.
    let predicate = if excluded {
        format!("NOT (numnode({tsquery}) > 0 AND m.content_search @@ {tsquery})")
    } else {
        format!("(numnode({tsquery}) = 0 OR m.content_search @@ {tsquery})")
    };
    (predicate, true)
}

pub(super) fn newest_matches(
    conn: &mut PgConnection,
    user_id: i64,
    query: &Query,
    wanted: i64,
) -> QueryResult<Matches> {
    conn.transaction(|conn| {
        let language = language_planned_per_value(conn)?;
        let found = matches(conn, &language, user_id, query, wanted, true)?;
        let has_words = query.terms.iter().any(|term| !term.is_unspaced());
        if !found.rows.is_empty() || !has_words {
            return Ok(found);
        }
        // No message holds the words as words: as substrings, then (`pg_trgm`).
        matches(conn, &language, user_id, query, wanted, false)
    })
}

fn matches(
    conn: &mut PgConnection,
    language: &str,
    user_id: i64,
    query: &Query,
    wanted: i64,
    words: bool,
) -> QueryResult<Matches> {
    let mut statement = Statement::new(true);
    let mut predicates = Vec::new();
    let mut ranked = false;
    for term in &query.terms {
        let (predicate, indexed) = predicate(&mut statement, language, term, false, words);
        predicates.push(predicate);
        ranked |= indexed;
    }
    for term in &query.excluded {
        let (predicate, _) = predicate(&mut statement, language, term, true, words);
        predicates.push(predicate);
    }
    let mut sql = format!(
        "SELECT {COLUMNS} FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id WHERE 1 = 1"
    );
    for predicate in predicates {
        sql.push_str(" AND ");
        sql.push_str(&predicate);
    }
    statement.sql = sql;
    statement.common_filters(user_id, query);
    statement.newest("m.id", window(ranked, wanted));
    let rows = statement.boxed::<Pg>().load(conn)?;
    Ok(Matches { rows, ranked })
}

#[derive(QueryableByName)]
struct Known {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    known: bool,
}

/// Makes `language` the database's search language, re-indexing every message if it
/// was another; an error names it when PostgreSQL has no such text search
/// configuration. Holds the lock that migrations take, so that processes starting
/// together re-index one at a time, and the last one's language is the database's.
pub(crate) fn set_language(conn: &mut PgConnection, language: &str) -> Result<bool, String> {
    let known: Known =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = $1) AS known")
            .bind::<Text, _>(language)
            .get_result(conn)
            .map_err(|e| e.to_string())?;
    if !known.known {
        return Err(format!(
            "search_language {language:?} is not a text search configuration of this \
             PostgreSQL server (SELECT cfgname FROM pg_ts_config lists them)"
        ));
    }
    conn.batch_execute("SELECT pg_advisory_lock(7305524110)")
        .map_err(|e| e.to_string())?;
    // FOR UPDATE: a message written meanwhile waits (the trigger reads the language FOR
    // KEY SHARE) and is indexed in the new language, or was committed before and is
    // re-indexed here.
    let changed = conn.transaction(|conn| {
        let current: Language =
            diesel::sql_query("SELECT language::text AS language FROM search_settings FOR UPDATE")
                .get_result(conn)?;
        if current.language == language {
            return Ok(false);
        }
        diesel::sql_query("UPDATE search_settings SET language = $1::regconfig")
            .bind::<Text, _>(language)
            .execute(conn)?;
        diesel::sql_query(
            "UPDATE messages SET content_search = to_tsvector($1::regconfig, content)",
        )
        .bind::<Text, _>(language)
        .execute(conn)?;
        Ok::<_, diesel::result::Error>(true)
    });
    let _ = conn.batch_execute("SELECT pg_advisory_unlock(7305524110)");
    changed.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
