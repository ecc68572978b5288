//! The `users` table: registration and look-up by name.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::users;
use super::{Conn, CreateUserOutcome, Store, StoreError, UserRow, now, on_conn};

/// Stores a new user; a taken username is an outcome, not an error.
pub(crate) fn insert(
    conn: &mut Conn,
    username: &str,
    email: Option<&str>,
) -> QueryResult<CreateUserOutcome> {
    let inserted = on_conn!(conn, c => diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::email.eq(email),
            users::created_at.eq(now()),
        ))
        .returning(UserRow::as_returning())
        .get_result(c));
    match inserted {
        Ok(row) => Ok(CreateUserOutcome::Created(row)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(CreateUserOutcome::UsernameTaken)
        }
        Err(other) => Err(other),
    }
}

pub(crate) fn by_name(conn: &mut Conn, username: &str) -> QueryResult<Option<UserRow>> {
    on_conn!(conn, c => users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(c)
        .optional())
}

impl Store {
    pub async fn create_user(
        &self,
        username: String,
        email: Option<String>,
    ) -> Result<CreateUserOutcome, StoreError> {
        self.write(move |conn| Ok(insert(conn, &username, email.as_deref())?))
            .await
    }

    pub async fn user_by_name(&self, username: String) -> Result<Option<UserRow>, StoreError> {
        self.read(move |conn| Ok(by_name(conn, &username)?)).await
    }
}
