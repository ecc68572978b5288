//! A user's conversations with their message counts and last activity, for lists
//! people read (`GET /users/{user_id}/conversations/summaries`).
//!
//! One statement per backend, written out because the two correlated subqueries have
//! no diesel DSL form: each is answered from the `(conversation_id, id)` index of
//! `messages` (a count, and one seek to the newest message), and the user's rows come
//! from the `(user_id, id)` index of `conversations`. Sorting by last activity needs
//! every row of the user, which is fine at the size of one person's history.

use chrono::NaiveDateTime;
use common::summaries::SummaryOrder;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::fixed_sql::FixedSql;
use super::schema::conversations;
use super::{Conn, Store, StoreError, on_conn};

/// One conversation as listed; `last_activity_at` is its newest message's `created_at`,
/// else its own.
#[derive(Debug, Clone, QueryableByName)]
pub struct SummaryRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    pub message_count: i64,
    #[diesel(sql_type = Timestamp)]
    pub last_activity_at: NaiveDateTime,
}

/// The statement for one order; binds: the user, the limit, the offset. Only these
/// two fixed texts exist, so each is prepared once per connection (`fixed_sql.rs`).
fn statement(order: SummaryOrder) -> &'static str {
    macro_rules! ordered {
        ($direction:literal) => {
            concat!(
                "SELECT c.id, c.user_id, c.name, c.created_at, \
                   (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count, \
                   COALESCE((SELECT m.created_at FROM messages m WHERE m.conversation_id = c.id \
                             ORDER BY m.id DESC LIMIT 1), c.created_at) AS last_activity_at \
                 FROM conversations c \
                 WHERE c.user_id = ? \
                 ORDER BY last_activity_at ",
                $direction,
                ", c.id ",
                $direction,
                " LIMIT ? OFFSET ?"
            )
        };
    }
    match order {
        SummaryOrder::Newest => ordered!("DESC"),
        SummaryOrder::Oldest => ordered!("ASC"),
    }
}

/// One page of summaries and the user's number of conversations, read together
/// (`Conn::read_together`) so that on SQLite the two agree.
fn page(
    conn: &mut Conn,
    user_id: i64,
    skip: i64,
    limit: i64,
    order: SummaryOrder,
) -> QueryResult<(u64, Vec<SummaryRow>)> {
    conn.read_together(|conn| {
        let total: i64 = on_conn!(conn, c => conversations::table
            .filter(conversations::user_id.eq(user_id))
            .count()
            .get_result(c))?;
        let query = FixedSql::new(statement(order), [user_id, limit, skip]);
        let rows = on_conn!(conn, c => query.load(c))?;
        Ok((u64::try_from(total).unwrap_or(0), rows))
    })
}

impl Store {
    /// One page of a user's conversation summaries and how many conversations the user
    /// has; `(0, [])` for an unknown user.
    pub async fn conversation_summaries(
        &self,
        user_id: i64,
        skip: i64,
        limit: i64,
        order: SummaryOrder,
    ) -> Result<(u64, Vec<SummaryRow>), StoreError> {
        self.read(move |conn| Ok(page(conn, user_id, skip, limit, order)?))
            .await
    }
}
