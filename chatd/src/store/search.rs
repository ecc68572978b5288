//! The SQL of full-text search (`GET /users/{id}/search`), one statement per backend
//! built from a parsed [`Query`]: every term is a bound value, never SQL or FTS syntax.
//!
//! - SQLite: the FTS5 `trigram` index (`messages_fts`) finds terms of three characters
//!   or more as substrings, in any script; ranked by bm25. Shorter terms (a
//!   two-character Chinese word) cannot use a trigram index: they are `LIKE` filters on
//!   the user's own messages, applied to what the index found, or alone when every term
//!   is short (then newest first).
//! - PostgreSQL: words and phrases of spaced scripts go through the `tsvector` column
//!   (`plainto_tsquery` / `phraseto_tsquery`, which take any text), ranked by
//!   `ts_rank`; terms with an unspaced script are `ILIKE` substrings, answered by the
//!   pg_trgm index.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::users;
use super::{Conn, Store, StoreError, on_conn};
use crate::search::{Query, Term};

/// The text search configuration of the `tsvector` column (see the migration).
const PG_SEARCH_CONFIG: &str = "simple";

/// Terms shorter than this cannot use SQLite's trigram index.
const TRIGRAM: usize = 3;

/// A message that matched, with what a hit shows of its conversation.
#[derive(Debug, Clone, QueryableByName)]
pub struct SearchHitRow {
    #[diesel(sql_type = BigInt)]
    pub message_id: i64,
    #[diesel(sql_type = BigInt)]
    pub conversation_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub conversation_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Text)]
    pub content: String,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
}

/// A value bound to a statement being built.
enum Bind {
    Text(String),
    Int(i64),
    Time(NaiveDateTime),
}

/// A statement being built, with its placeholders in the backend's style.
struct Statement {
    sql: String,
    binds: Vec<Bind>,
    numbered: bool,
}

impl Statement {
    fn new(numbered: bool) -> Statement {
        Statement {
            sql: String::new(),
            binds: Vec::new(),
            numbered,
        }
    }

    /// Binds `value` and returns its placeholder.
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        if self.numbered {
            format!("${}", self.binds.len())
        } else {
            "?".into()
        }
    }

    fn text(&mut self, text: impl Into<String>) -> String {
        self.bind(Bind::Text(text.into()))
    }

    fn boxed<'f, DB>(self) -> BoxedSqlQuery<'f, DB, SqlQuery>
    where
        DB: Backend,
        String: ToSql<Text, DB>,
        i64: ToSql<BigInt, DB>,
        NaiveDateTime: ToSql<Timestamp, DB>,
    {
        let mut query = diesel::sql_query(self.sql).into_boxed::<DB>();
        for value in self.binds {
            query = match value {
                Bind::Text(text) => query.bind::<Text, _>(text),
                Bind::Int(n) => query.bind::<BigInt, _>(n),
                Bind::Time(at) => query.bind::<Timestamp, _>(at),
            };
        }
        query
    }
}

/// `%text%` for LIKE, with its wildcards and the escape character taken literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// An FTS5 string: the term in double quotes, its own quotes doubled, so that nothing
/// in it is FTS5 syntax.
fn fts5_string(term: &Term) -> String {
    format!("\"{}\"", term.text.replace('"', "\"\""))
}

const COLUMNS: &str = "m.id AS message_id, m.conversation_id, c.name AS conversation_name, \
                       m.role, m.content, m.created_at";

/// The filters every search has: the user, the role and the dates.
fn common_filters(statement: &mut Statement, user_id: i64, query: &Query) {
    let user = statement.bind(Bind::Int(user_id));
    statement.sql.push_str(&format!(" AND c.user_id = {user}"));
    if let Some(role) = query.role {
        let role = statement.text(role.as_str());
        statement.sql.push_str(&format!(" AND m.role = {role}"));
    }
    if let Some(before) = query.before {
        let at = statement.bind(Bind::Time(before));
        statement.sql.push_str(&format!(" AND m.created_at < {at}"));
    }
    if let Some(after) = query.after {
        let at = statement.bind(Bind::Time(after));
        statement
            .sql
            .push_str(&format!(" AND m.created_at >= {at}"));
    }
}

fn page(statement: &mut Statement, skip: i64, limit: i64) {
    let limit = statement.bind(Bind::Int(limit));
    let skip = statement.bind(Bind::Int(skip));
    statement
        .sql
        .push_str(&format!(" LIMIT {limit} OFFSET {skip}"));
}

fn sqlite_statement(user_id: i64, query: &Query, skip: i64, limit: i64) -> Statement {
    let mut statement = Statement::new(false);
    let (indexed, short): (Vec<&Term>, Vec<&Term>) =
        query.terms.iter().partition(|t| t.chars() >= TRIGRAM);
    let mut ranked = false;
    if indexed.is_empty() {
        statement.sql = format!(
            "SELECT {COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE 1 = 1"
        );
    } else {
        let mut expression = indexed
            .iter()
            .map(|t| fts5_string(t))
            .collect::<Vec<_>>()
            .join(" AND ");
        expression = format!("({expression})");
        for excluded in query.excluded.iter().filter(|t| t.chars() >= TRIGRAM) {
            expression.push_str(" NOT ");
            expression.push_str(&fts5_string(excluded));
        }
        let matched = statement.text(expression);
        statement.sql = format!(
            "SELECT {COLUMNS} FROM messages_fts f JOIN messages m ON m.id = f.rowid \
             JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH {matched}"
        );
        ranked = true;
    }
    common_filters(&mut statement, user_id, query);
    for term in short {
        let like = statement.text(like_pattern(&term.text));
        statement
            .sql
            .push_str(&format!(" AND m.content LIKE {like} ESCAPE '\\'"));
    }
    for excluded in &query.excluded {
        if excluded.chars() < TRIGRAM {
            let like = statement.text(like_pattern(&excluded.text));
            statement
                .sql
                .push_str(&format!(" AND m.content NOT LIKE {like} ESCAPE '\\'"));
        } else if !ranked {
            let matched = statement.text(fts5_string(excluded));
            statement.sql.push_str(&format!(
                " AND m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH {matched})"
            ));
        }
    }
    statement.sql.push_str(if ranked {
        " ORDER BY f.rank, m.id DESC"
    } else {
        " ORDER BY m.id DESC"
    });
    page(&mut statement, skip, limit);
    statement
}

/// The PostgreSQL predicate of one term, and its tsquery when it has one.
fn postgres_term(statement: &mut Statement, term: &Term) -> (String, Option<String>) {
    if term.is_unspaced() {
        let like = statement.text(like_pattern(&term.text));
        return (format!("m.content ILIKE {like}"), None);
    }
    let config = statement.text(PG_SEARCH_CONFIG);
    let text = statement.text(term.text.clone());
    let function = if term.phrase {
        "phraseto_tsquery"
    } else {
        "plainto_tsquery"
    };
    let tsquery = format!("{function}({config}::regconfig, {text})");
    (format!("m.content_search @@ {tsquery}"), Some(tsquery))
}

fn postgres_statement(user_id: i64, query: &Query, skip: i64, limit: i64) -> Statement {
    let mut statement = Statement::new(true);
    let mut predicates = Vec::new();
    let mut tsqueries = Vec::new();
    for term in &query.terms {
        let (predicate, tsquery) = postgres_term(&mut statement, term);
        predicates.push(predicate);
        tsqueries.extend(tsquery);
    }
    for term in &query.excluded {
        let (predicate, _) = postgres_term(&mut statement, term);
        predicates.push(format!("NOT ({predicate})"));
    }
    let rank = if tsqueries.is_empty() {
        "0::real".to_string()
    } else {
        format!("ts_rank(m.content_search, {})", tsqueries.join(" && "))
    };
    let mut sql = format!(
        "SELECT {COLUMNS}, {rank} AS rank FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id WHERE 1 = 1"
    );
    for predicate in predicates {
        sql.push_str(" AND ");
        sql.push_str(&predicate);
    }
    statement.sql = sql;
    common_filters(&mut statement, user_id, query);
    statement.sql.push_str(" ORDER BY rank DESC, m.id DESC");
    page(&mut statement, skip, limit);
    statement
}

fn search(
    conn: &mut Conn,
    user_id: i64,
    query: &Query,
    skip: i64,
    limit: i64,
) -> QueryResult<Option<Vec<SearchHitRow>>> {
    let users: i64 = on_conn!(&mut *conn, c => users::table
        .filter(users::id.eq(user_id))
        .count()
        .get_result(c))?;
    if users == 0 {
        return Ok(None);
    }
    if query.terms.is_empty() {
        return Ok(Some(Vec::new()));
    }
    match conn {
        Conn::Sqlite(c) => sqlite_statement(user_id, query, skip, limit)
            .boxed::<diesel::sqlite::Sqlite>()
            .load(*c),
        Conn::Postgres(c) => postgres_statement(user_id, query, skip, limit)
            .boxed::<diesel::pg::Pg>()
            .load(*c),
    }
    .map(Some)
}

impl Store {
    /// A user's messages that match `query`, best first; `None` when the user does not
    /// exist. A query without a term to find matches nothing.
    pub async fn search_messages(
        &self,
        user_id: i64,
        query: Query,
        skip: i64,
        limit: i64,
    ) -> Result<Option<Vec<SearchHitRow>>, StoreError> {
        self.read(move |conn| Ok(search(conn, user_id, &query, skip, limit)?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_strings_quote_everything() {
        let term = Term {
            text: r#"a" OR NEAR(b*"#.into(),
            phrase: false,
        };
        assert_eq!(fts5_string(&term), r#""a"" OR NEAR(b*""#);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }
}
