//! chatd's conversation management extensions as client calls (`PATCH` and
//! `GET /conversations/{id}/settings`, the deletes), and telling a server without them
//! apart from a conversation that does not exist.

use common::{ConversationSettings, DeletedConversations, UpdateConversationRequest};

use crate::client::{Client, REQUEST_TIMEOUT};
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;

impl Client {
    /// Extension `PATCH /conversations/{id}`.
    pub async fn update_conversation(
        &self,
        id: i64,
        change: &UpdateConversationRequest,
    ) -> Result<ConversationSettings, ApiError> {
        let url = self.url(&["conversations", &id.to_string()]);
        let response = self
            .send(|http| {
                http.patch(url.clone())
                    .json(change)
                    .timeout(REQUEST_TIMEOUT)
            })
            .await?;
        self.json(response).await
    }

    /// Extension `GET /conversations/{id}/settings`.
    pub async fn conversation_settings(&self, id: i64) -> Result<ConversationSettings, ApiError> {
        let url = self.url(&["conversations", &id.to_string(), "settings"]);
        let response = self
            .send(|http| http.get(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(response).await
    }

    /// Extension `DELETE /conversations/{id}`.
    pub async fn delete_conversation(&self, id: i64) -> Result<(), ApiError> {
        let url = self.url(&["conversations", &id.to_string()]);
        let response = self
            .send(|http| http.delete(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        Client::check(response).await.map(drop)
    }

    /// Extension `DELETE /users/{id}/conversations?before=`; `before` is RFC 3339.
    pub async fn prune_conversations(
        &self,
        user_id: i64,
        before: &str,
    ) -> Result<DeletedConversations, ApiError> {
        let mut url = self.url(&["users", &user_id.to_string(), "conversations"]);
        url.query_pairs_mut().append_pair("before", before);
        let response = self
            .send(|http| http.delete(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(response).await
    }
}

/// `err` as the one line a person needs: a server that has no such route (404
/// `Not Found`, or 405 for a path it knows with another method) does not support
/// `what`, which exits 3 as a missing endpoint does; anything else keeps its detail.
pub fn unsupported_or(err: ApiError, server: &str, what: &str) -> anyhow::Error {
    let no_route = match &err {
        ApiError::Status { status: 405, .. } => true,
        ApiError::Status {
            status: 404,
            detail,
        } => detail == "Not Found",
        _ => false,
    };
    if no_route {
        return Coded {
            code: ExitCode::NotFound,
            message: format!(
                "the server at {server} does not support {what} (it lacks chatd's \
                 conversation management extensions)"
            ),
        }
        .into();
    }
    err.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    fn status(status: u16, detail: &str) -> ApiError {
        ApiError::Status {
            status,
            detail: detail.into(),
        }
    }

    #[test]
    fn a_missing_route_is_unsupported_and_a_missing_conversation_is_not() {
        let server = "http://127.0.0.1:8000/api/v1";
        for missing in [status(404, "Not Found"), status(405, "Method Not Allowed")] {
            let err = unsupported_or(missing, server, "deleting conversations");
            assert_eq!(classify(&err).code, ExitCode::NotFound);
            assert!(
                err.to_string().contains("does not support deleting"),
                "{err}"
            );
        }
        let err = unsupported_or(
            status(404, "Conversation not found"),
            server,
            "deleting conversations",
        );
        assert_eq!(err.to_string(), "Conversation not found");
        assert_eq!(classify(&err).code, ExitCode::NotFound);
        let err = unsupported_or(status(422, "body.name: too long"), server, "renaming");
        assert_eq!(classify(&err).code, ExitCode::Usage);
    }
}
