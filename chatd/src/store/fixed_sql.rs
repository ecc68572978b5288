//! Statements written as SQL text (recursive CTEs, correlated subqueries: no diesel DSL
//! form) that diesel still prepares once per connection. `diesel::sql_query` marks every
//! statement it builds as not to be cached, so each run was parsed and planned anew: on
//! PostgreSQL the walk of a conversation's active path cost more server time in
//! `Parse` and planning than in running it (0.5 of 0.8 ms, measured from the server's
//! statement log), which capped `GET /conversations/{id}` below 1,000 reads a second.
//!
//! A [`FixedSql`] is cached by its SQL text (diesel's `StatementCacheKey::Sql`), so one
//! type serves every statement; the SQL must therefore come from a fixed set, never
//! from a value, which is what "fixed" says: values are always bound.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Untyped};

/// A statement of fixed SQL whose `?` marks are bound, in order, to `binds`; rows are
/// read by name (`QueryableByName`), as with `sql_query`.
pub(crate) struct FixedSql<'a, const N: usize> {
    sql: &'a str,
    binds: [i64; N],
}

impl<'a, const N: usize> FixedSql<'a, N> {
    /// `sql` holds exactly `N` `?` marks, and no `?` anywhere else.
    pub(crate) fn new(sql: &'a str, binds: [i64; N]) -> Self {
        debug_assert_eq!(sql.matches('?').count(), N, "marks and binds of {sql}");
        FixedSql { sql, binds }
    }
}

impl<const N: usize> QueryId for FixedSql<'_, N> {
    type QueryId = ();
    // No static id: diesel then keys its cache by the SQL text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<const N: usize> Query for FixedSql<'_, N> {
    type SqlType = Untyped;
}

impl<const N: usize, DB> QueryFragment<DB> for FixedSql<'_, N>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Each backend writes its own placeholder where a mark stood ($1.. or ?).
        let mut parts = self.sql.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for (part, value) in parts.zip(&self.binds) {
            out.push_bind_param::<BigInt, i64>(value)?;
            out.push_sql(part);
        }
        Ok(())
    }
}

impl<const N: usize, C> RunQueryDsl<C> for FixedSql<'_, N> {}

#[cfg(test)]
mod tests {
    use super::FixedSql;
    use diesel::debug_query;
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    #[test]
    fn each_backend_gets_its_own_placeholders_in_order() {
        let query = FixedSql::new("SELECT id FROM t WHERE a = ? AND b < ?", [7, 9]);
        assert_eq!(
            debug_query::<Pg, _>(&query).to_string(),
            "SELECT id FROM t WHERE a = $1 AND b < $2 -- binds: [7, 9]"
        );
        assert_eq!(
            debug_query::<Sqlite, _>(&query).to_string(),
            "SELECT id FROM t WHERE a = ? AND b < ? -- binds: [7, 9]"
        );
    }
}
