//! The SQL of full-text search (`GET /users/{id}/search`), built from a parsed
//! [`Query`]: every term is a bound value, never SQL or FTS syntax. Each backend
//! (`sqlite.rs`, `postgres.rs`) finds the user's newest matches, walking its index in
//! message order and stopping after [`RANK_WINDOW`] of them (or after the page asked
//! for, when that is deeper); those are ranked here by `search::rank`, and the older
//! matches follow, newest first. So the cost of a query is bounded by the window, not
//! by how many messages a common word is in. A query that no index can answer (only
//! one-character terms, say) is not ranked: newest first, reading only the page.

mod postgres;
mod sqlite;

pub(super) use sqlite::{anything_queued, index_queued};

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::users;
use super::{Conn, Store, StoreError, on_conn};
use crate::search::Query;
use crate::search::rank::{RANK_WINDOW, rank};

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

/// A hit as the search answers it: the message, and whether it lies on its
/// conversation's active path (an old branch's message is found too).
#[derive(Debug, Clone)]
pub struct SearchHitFound {
    pub row: SearchHitRow,
    pub on_active_path: bool,
}

#[derive(QueryableByName)]
struct PathId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The ids of `conversation_id`'s active path from its leaf up to, and not above, the
/// message `oldest`: a parent is always older, so the walk stops there and reads only
/// the part of the path that the conversation's hits can be on.
fn active_path_from(
    conn: &mut Conn,
    conversation_id: i64,
    oldest: i64,
) -> QueryResult<std::collections::HashSet<i64>> {
    let mut statement = Statement::new(matches!(conn, Conn::Postgres(_)));
    let conversation = statement.bind(Bind::Int(conversation_id));
    let oldest = statement.bind(Bind::Int(oldest));
    statement.sql = format!(
        "WITH RECURSIVE path(id, parent_id) AS ( \
             SELECT m.id, m.parent_id FROM messages m \
             JOIN conversations c ON c.active_leaf_id = m.id WHERE c.id = {conversation} \
             UNION ALL \
             SELECT m.id, m.parent_id FROM messages m JOIN path ON m.id = path.parent_id \
             WHERE m.id >= {oldest} \
         ) SELECT id FROM path"
    );
    let ids: Vec<PathId> = match conn {
        Conn::Sqlite(c) => statement.boxed().load(*c)?,
        Conn::Postgres(c) => statement.boxed().load(*c)?,
    };
    Ok(ids.into_iter().map(|row| row.id).collect())
}

/// Each hit of a page with whether it is on its conversation's active path: one walk
/// per conversation of the page.
fn on_active_paths(conn: &mut Conn, rows: Vec<SearchHitRow>) -> QueryResult<Vec<SearchHitFound>> {
    let mut oldest: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for row in &rows {
        let at = oldest.entry(row.conversation_id).or_insert(row.message_id);
        *at = (*at).min(row.message_id);
    }
    let mut paths = std::collections::HashMap::with_capacity(oldest.len());
    for (conversation, from) in oldest {
        paths.insert(conversation, active_path_from(conn, conversation, from)?);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let on_active_path = paths
                .get(&row.conversation_id)
                .is_some_and(|path| path.contains(&row.message_id));
            SearchHitFound {
                row,
                on_active_path,
            }
        })
        .collect())
}

/// A backend's newest matches of a query, newest first.
struct Matches {
    rows: Vec<SearchHitRow>,
    /// Whether an index answered a term to find, so that the window was read and is
    /// to be ranked; else only the page was read, and stays newest first.
    ranked: bool,
}

impl Matches {
    fn none() -> Matches {
        Matches {
            rows: Vec::new(),
            ranked: false,
        }
    }
}

/// How many of the newest matches a backend reads for a page ending at `wanted`.
fn window(ranked: bool, wanted: i64) -> i64 {
    if ranked {
        wanted.max(RANK_WINDOW as i64)
    } else {
        wanted
    }
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

    /// The user, the role and the dates, which every search has.
    fn common_filters(&mut self, user_id: i64, query: &Query) {
        let user = self.bind(Bind::Int(user_id));
        self.sql.push_str(&format!(" AND c.user_id = {user}"));
        if let Some(role) = query.role {
            let role = self.text(role.as_str());
            self.sql.push_str(&format!(" AND m.role = {role}"));
        }
        if let Some(before) = query.before {
            let at = self.bind(Bind::Time(before));
            self.sql.push_str(&format!(" AND m.created_at < {at}"));
        }
        if let Some(after) = query.after {
            let at = self.bind(Bind::Time(after));
            self.sql.push_str(&format!(" AND m.created_at >= {at}"));
        }
    }

    /// Newest first by `column` (the message id), `count` of them.
    fn newest(&mut self, column: &str, count: i64) {
        let count = self.bind(Bind::Int(count));
        self.sql
            .push_str(&format!(" ORDER BY {column} DESC LIMIT {count}"));
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

const COLUMNS: &str = "m.id AS message_id, m.conversation_id, c.name AS conversation_name, \
                       m.role, m.content, m.created_at";

fn search(
    conn: &mut Conn,
    user_id: i64,
    query: &Query,
    skip: i64,
    limit: i64,
) -> QueryResult<Option<Vec<SearchHitFound>>> {
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
    let wanted = skip.saturating_add(limit);
    let Matches { mut rows, ranked } = match conn {
        Conn::Sqlite(c) => sqlite::newest_matches(c, user_id, query, wanted)?,
        Conn::Postgres(c) => postgres::newest_matches(c, user_id, query, wanted)?,
    };
    if ranked {
        let ranked_part = rows.len().min(RANK_WINDOW);
        rank(
            &mut rows[..ranked_part],
            &query.terms,
            |row| &row.content,
            |row| row.message_id,
        );
    }
    let page: Vec<SearchHitRow> = rows
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    on_active_paths(conn, page).map(Some)
}

impl Store {
    /// A user's messages that match `query`, best first, each with whether it is on
    /// its conversation's active path; `None` when the user does not exist. A query
    /// without a term to find matches nothing. One transaction, so the paths are those
    /// of the moment the matches were read.
    pub async fn search_messages(
        &self,
        user_id: i64,
        query: Query,
        skip: i64,
        limit: i64,
    ) -> Result<Option<Vec<SearchHitFound>>, StoreError> {
        self.read(move |conn| {
            Ok(conn.transaction(|conn| search(conn, user_id, &query, skip, limit))?)
        })
        .await
    }

    /// PostgreSQL: makes `language` (a text search configuration, `english` say) the
    /// database's search language, re-indexing every message when it was another;
    /// true when it did. SQLite's trigram index knows no language: nothing to do.
    pub async fn set_search_language(&self, language: String) -> Result<bool, StoreError> {
        self.write(move |conn| match conn {
            Conn::Postgres(c) => postgres::set_language(c, &language).map_err(StoreError::Config),
            Conn::Sqlite(_) => Ok(false),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn the_window_is_the_deeper_of_the_rank_window_and_the_page() {
        assert_eq!(window(true, 20), RANK_WINDOW as i64);
        assert_eq!(window(true, 5000), 5000);
        assert_eq!(window(false, 20), 20);
    }
}
