//! chatd's extensions of the API (`docs/API.md` §3): each answers `None` (or
//! `Unsupported`) when the server does not have it, so that chatctl also works against a
//! server that implements only the documented endpoints. The conversation management
//! calls (`PATCH`, settings, deletes) answer the server's error instead, which
//! [`unsupported_or`] turns into the one line a person needs.

use common::summaries::{ConversationSummaries, SummaryOrder};
use common::{
    CancelResponse, ChatRequest, ConversationSettings, ConversationWithMessages,
    DeletedConversations, DetachedChat, Message, ServerStatus, UpdateConversationRequest,
};
use reqwest::Response;

use super::{Client, GENERIC_NOT_FOUND, REQUEST_TIMEOUT};
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;

/// What `POST /conversations/{id}/cancel` did.
#[derive(Debug)]
pub enum Cancelled {
    /// The reply was stopped and stored.
    Stopped(CancelResponse),
    /// No reply was being generated there.
    NothingInProgress,
    /// The server has no cancel endpoint (not chatd).
    Unsupported,
}

impl Client {
    /// Extension `GET /events`: the live feed, after `after` (an event id) when given,
    /// only `user`'s events when given. `None` when the server has no feed.
    pub async fn events(
        &self,
        after: Option<&str>,
        user: Option<i64>,
    ) -> Result<Option<Response>, ApiError> {
        let mut url = self.url(&["events"]);
        if let Some(user) = user {
            url.query_pairs_mut()
                .append_pair("user_id", &user.to_string());
        }
        let response = self
            .send(|http| {
                let request = http
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "text/event-stream");
                match after {
                    Some(id) => request.header("last-event-id", id),
                    None => request,
                }
            })
            .await?;
        match Self::check(response).await {
            Ok(response) => Ok(Some(response)),
            Err(err) if matches!(err.status(), Some(404 | 405)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Extension `GET /users/{user_id}/conversations/summaries`; `None` when the server
    /// does not have it.
    pub async fn summaries(
        &self,
        user_id: i64,
        skip: u64,
        limit: u64,
        order: SummaryOrder,
    ) -> Result<Option<ConversationSummaries>, ApiError> {
        let mut url = self.url(&["users", &user_id.to_string(), "conversations", "summaries"]);
        url.query_pairs_mut()
            .append_pair("skip", &skip.to_string())
            .append_pair("limit", &limit.to_string())
            .append_pair("order", order.as_str());
        let response = self
            .send(|http| http.get(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        match self.json(response).await {
            Ok(page) => Ok(Some(page)),
            Err(ApiError::Status {
                status: 404,
                detail,
            }) if detail == GENERIC_NOT_FOUND => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Extension `GET /conversations/{id}/messages`: the messages with their `status`;
    /// `None` when the server does not have the endpoint.
    pub async fn messages(&self, id: i64) -> Result<Option<Vec<Message>>, ApiError> {
        match self
            .get(&["conversations", &id.to_string(), "messages"])
            .await
        {
            Ok(messages) => Ok(Some(messages)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Extension `POST /conversations/{id}/regenerate?events=true` (branches): a new
    /// reply beside `message_id` (else the last reply), as an SSE response framed as
    /// `POST /chat?events=true` frames one.
    pub async fn regenerate(&self, id: i64, message_id: Option<i64>) -> Result<Response, ApiError> {
        let mut url = self.url(&["conversations", &id.to_string(), "regenerate"]);
        url.query_pairs_mut().append_pair("events", "true");
        let body = common::RegenerateRequest { message_id };
        let response = self
            .send(|http| {
                http.post(url.clone())
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .json(&body)
            })
            .await?;
        Self::check(response).await
    }

    /// Extension `GET /conversations/{id}/tree` (branches): every message's place.
    pub async fn tree(&self, id: i64) -> Result<common::ConversationTree, ApiError> {
        self.get(&["conversations", &id.to_string(), "tree"]).await
    }

    /// Extension `GET /conversations/{id}/export`: every message of every branch, with
    /// its text.
    pub async fn export(&self, id: i64) -> Result<common::archive::ConversationExport, ApiError> {
        self.get(&["conversations", &id.to_string(), "export"])
            .await
    }

    /// A conversation for people to read: its messages carry their outcome when the
    /// server can tell (the documented object has no `status`).
    pub async fn conversation_with_statuses(
        &self,
        id: i64,
    ) -> Result<ConversationWithMessages, ApiError> {
        let mut conversation = self.conversation(id).await?;
        // Only a nicety: a failure here costs the markers, not the command.
        if let Ok(Some(messages)) = self.messages(id).await {
            conversation.messages = messages;
        }
        Ok(conversation)
    }

    /// Extension `GET /models`; `None` when the server does not have it.
    pub async fn models(&self) -> Result<Option<common::ModelsResponse>, ApiError> {
        match self.get(&["models"]).await {
            Ok(models) => Ok(Some(models)),
            Err(err) if matches!(err.status(), Some(404 | 405)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Extension `GET /status`; `None` when the server does not have it.
    pub async fn status(&self) -> Result<Option<ServerStatus>, ApiError> {
        match self.get(&["status"]).await {
            Ok(status) => Ok(Some(status)),
            // Any server may lack the extension, but one whose base URL is not the
            // API's usual path is far more likely to be asked at the wrong place.
            Err(err) if err.is_not_found() => {
                let usual_path = self
                    .base
                    .path()
                    .trim_end_matches('/')
                    .ends_with(common::API_BASE);
                match self.at_documented_route(err) {
                    wrong @ ApiError::WrongBase { .. } if !usual_path => Err(wrong),
                    _ => Ok(None),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// Extension `POST /conversations/{id}/cancel`: answers once the reply has stopped
    /// and what it generated is stored.
    pub async fn cancel(&self, id: i64) -> Result<Cancelled, ApiError> {
        let url = self.url(&["conversations", &id.to_string(), "cancel"]);
        let response = self
            .send(|http| http.post(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        match self.json(response).await {
            Ok(answer) => Ok(Cancelled::Stopped(answer)),
            // Any path the server does not route gets the generic detail; chatd's own
            // 404 here says that nothing is streaming.
            Err(ApiError::Status {
                status: 404,
                detail,
            }) if detail == GENERIC_NOT_FOUND => Ok(Cancelled::Unsupported),
            Err(err) if err.is_not_found() => Ok(Cancelled::NothingInProgress),
            Err(err) => Err(err),
        }
    }

    /// Extension `GET /conversations/{id}/reply?events=true`: the reply in flight as
    /// SSE, or, with `after` (an event id chatd sent), what came after that event;
    /// `None` when there is none or the server does not have the endpoint.
    pub async fn attach(&self, id: i64, after: Option<&str>) -> Result<Option<Response>, ApiError> {
        let mut url = self.url(&["conversations", &id.to_string(), "reply"]);
        url.query_pairs_mut().append_pair("events", "true");
        if let Some(after) = after {
            url.query_pairs_mut().append_pair("after", after);
        }
        let response = self
            .send(|http| {
                http.get(url.clone())
                    .header(reqwest::header::ACCEPT, "text/event-stream")
            })
            .await?;
        match Self::check(response).await {
            Ok(response) => Ok(Some(response)),
            // 405 too: a server without the extension may route the path elsewhere.
            Err(err) if matches!(err.status(), Some(404 | 405)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Extension `POST /chat?detach=true`: the message stored and its reply started,
    /// answered without waiting for the reply.
    pub async fn chat_detached(
        &self,
        request: &ChatRequest,
        key: &str,
    ) -> Result<DetachedChat, ApiError> {
        let mut url = self.url(&["chat"]);
        url.query_pairs_mut().append_pair("detach", "true");
        let response = self
            .send(|http| {
                http.post(url.clone())
                    .header(super::IDEMPOTENCY_KEY, key)
                    .json(request)
            })
            .await?;
        let response = Self::check(response).await?;
        if response.status().as_u16() != 202 {
            return Err(ApiError::Protocol(
                "the server answered a detached chat with its reply: it does not have \
                 chatd's `?detach=true`"
                    .into(),
            ));
        }
        response
            .json()
            .await
            .map_err(|err| ApiError::Protocol(format!("a bad answer to a detached chat: {err}")))
    }

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
        } => detail == GENERIC_NOT_FOUND,
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
