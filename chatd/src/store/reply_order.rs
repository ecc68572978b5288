//! Which of its user message's replies each assistant message is (0: the first), the
//! number a reply's names carry (its cursor `ID.N`, its AI SDK message id) once a user
//! message can have several (branches, `tree.rs`). One read for a whole path.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::messages;
use super::{Store, StoreError, on_conn};
use common::Role;

/// Ids per `IN (...)` list: well under both backends' bounds on parameters.
const IDS_PER_STATEMENT: usize = 500;

impl Store {
    /// For every reply of these user messages, its place among its user message's
    /// replies (0: the first), by assistant message id.
    pub async fn reply_indices(
        &self,
        user_message_ids: Vec<i64>,
    ) -> Result<HashMap<i64, i32>, StoreError> {
        self.read(move |conn| {
            let mut indices = HashMap::new();
            let mut seen: HashMap<i64, i32> = HashMap::new();
            for chunk in user_message_ids.chunks(IDS_PER_STATEMENT) {
                let replies: Vec<(i64, Option<i64>)> = on_conn!(&mut *conn, c => messages::table
                    .filter(messages::parent_id.eq_any(chunk))
                    .filter(messages::role.eq(Role::Assistant.as_str()))
                    .order(messages::id.asc())
                    .select((messages::id, messages::parent_id))
                    .load(c))?;
                for (id, parent) in replies {
                    let Some(parent) = parent else { continue };
                    let next = seen.entry(parent).or_insert(0);
                    indices.insert(id, *next);
                    *next = next.saturating_add(1);
                }
            }
            Ok(indices)
        })
        .await
    }
}
