//! The HTTP client of the chat API (`docs/API.md`): one method per endpoint, the
//! server's `{"detail": …}` turned into `ApiError::Status`, and a daemon started on
//! demand when nothing answers at a local address.
//!
//! Only the documented endpoints are required; the extensions (`extensions.rs`) answer
//! `None` on a 404 so that chatctl works against any server that implements API.md.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{
    ChatRequest, Conversation, ConversationWithMessages, CreateConversationRequest,
    CreateUserRequest, ErrorBody, User,
};
use reqwest::{RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

mod extensions;

pub use extensions::{Cancelled, unsupported_or};

use crate::autostart;
use crate::error::{ApiError, Coded};

/// The default server, where chatd listens unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000/api/v1";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The header that makes a repeated `POST` answer as the first did (chatd's extension).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Bound for every request except the reply stream, which lasts as long as the reply.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The `detail` of a 404 for a path that is no route at all.
pub const GENERIC_NOT_FOUND: &str = "Not Found";

/// Whether a daemon may be started when nothing answers, and if not, why not (the hint
/// of "no daemon answered" depends on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autostart {
    /// Start chatd with these extra arguments (from the `[daemon]` table of the config).
    Allowed(Vec<String>),
    /// `--no-autostart` was given.
    RefusedByFlag,
    /// The command itself must not start one (`status`, `daemon stop`, ...).
    NotForThisCommand,
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// The base URL as shown to people (no trailing slash).
    server: String,
    /// `host:port` to start chatd on when nothing answers; `None` when not allowed.
    autostart: Option<String>,
    policy: Autostart,
    autostart_tried: AtomicBool,
    data_dir: Option<PathBuf>,
}

impl Client {
    pub fn new(
        server: &str,
        policy: Autostart,
        data_dir: Option<PathBuf>,
    ) -> Result<Client, Coded> {
        let bad = |why: &str| Coded::usage(format!("invalid --server {server:?}: {why}"));
        let base = Url::parse(server).map_err(|err| bad(&err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("expected an http:// or https:// URL"));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = bearer_token(&base) {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| bad("the bearer token holds characters a header cannot carry"))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("chatctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| bad(&err.to_string()))?;
        let autostart = matches!(policy, Autostart::Allowed(_))
            .then(|| autostart::listen_address(&base))
            .flatten();
        Ok(Client {
            http,
            server: base.as_str().trim_end_matches('/').to_string(),
            base,
            autostart,
            policy,
            autostart_tried: AtomicBool::new(false),
            data_dir,
        })
    }

    /// The parsed base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The data directory for the started daemon's log and pid.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// The server's base URL, as given (without a trailing slash).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `base` + the path `segments`, each percent-encoded as one segment (a username may
    /// hold `?`, `#`, `%` or any script).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends the request built by `build`; when nothing answers at a local address,
    /// starts chatd once and tries again.
    pub(crate) async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        match build(&self.http).send().await {
            Ok(response) => Ok(response),
            Err(err) if err.is_connect() => {
                let Some(listen) = &self.autostart else {
                    return Err(self.unreachable(None));
                };
                if self.autostart_tried.swap(true, Ordering::SeqCst) {
                    return Err(self.unreachable(None));
                }
                let extra = match &self.policy {
                    Autostart::Allowed(extra) => extra.clone(),
                    _ => Vec::new(),
                };
                match autostart::start(listen, &extra, self.data_dir.as_deref()).await {
                    Ok(started) => crate::output::note(&format!(
                        "chatctl: started chatd in the background at {} (log: {})",
                        self.server,
                        started.log.display()
                    )),
                    Err(why) => return Err(self.unreachable(Some(why))),
                }
                build(&self.http)
                    .send()
                    .await
                    .map_err(|err| self.transport(err))
            }
            Err(err) => Err(self.transport(err)),
        }
    }

    /// Sends a request whose body can be sent only once (a file streamed from disk): no
    /// daemon is started for it, so a caller makes an ordinary request first.
    pub(crate) async fn send_once(
        &self,
        build: impl FnOnce(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        build(&self.http)
            .send()
            .await
            .map_err(|err| self.transport(err))
    }

    fn transport(&self, err: reqwest::Error) -> ApiError {
        if err.is_connect() {
            return self.unreachable(None);
        }
        ApiError::Transport {
            server: self.server.clone(),
            source: err,
        }
    }

    fn unreachable(&self, autostart_failure: Option<String>) -> ApiError {
        let hint = match autostart_failure {
            Some(why) => format!("tried to start chatd: {why}"),
            None if self.autostart_tried.load(Ordering::SeqCst) => {
                "chatd was started but does not answer; see chatd.log in chatctl's data directory"
                    .to_string()
            }
            None if autostart::listen_address(&self.base).is_some() => match self.policy {
                Autostart::RefusedByFlag => {
                    "start it with `chatctl daemon start` (or `chatd`), or drop `--no-autostart`"
                        .to_string()
                }
                _ => "start it with `chatctl daemon start` (or `chatd`)".to_string(),
            },
            None => "check --server (or CHATCTL_SERVER) and that the server runs".to_string(),
        };
        ApiError::Unreachable {
            server: self.server.clone(),
            hint,
        }
    }

    /// A documented route answered with the generic 404 every unknown path gets (chatd's
    /// and FastAPI's `{"detail": "Not Found"}`): the server answers, but the API is not
    /// under the base URL's path (`--server http://localhost:8000` without `/api/v1`).
    fn at_documented_route(&self, err: ApiError) -> ApiError {
        match &err {
            ApiError::Status {
                status: 404,
                detail,
            } if detail == GENERIC_NOT_FOUND => {
                let path = self.base.path().trim_end_matches('/');
                let hint = if path.ends_with(common::API_BASE) {
                    "check the path of --server (or CHATCTL_SERVER)".to_string()
                } else {
                    format!(
                        "the API is usually under {}: --server {}{}",
                        common::API_BASE,
                        self.server,
                        common::API_BASE
                    )
                };
                ApiError::WrongBase {
                    server: self.server.clone(),
                    hint,
                }
            }
            _ => err,
        }
    }

    /// Passes a success through; turns an error status into `ApiError::Status` with the
    /// server's `detail`.
    pub async fn check(response: Response) -> Result<Response, ApiError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let detail = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(error) => crate::error::plain_detail(&error),
            Err(_) => {
                let text: String = body.trim().chars().take(200).collect();
                if text.is_empty() {
                    format!("the server answered {status}")
                } else {
                    format!("the server answered {status}: {text}")
                }
            }
        };
        Err(ApiError::Status {
            status: status.as_u16(),
            detail,
        })
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        response: Response,
    ) -> Result<T, ApiError> {
        let response = Self::check(response).await?;
        let bytes = response.bytes().await.map_err(|err| self.transport(err))?;
        serde_json::from_slice(&bytes).map_err(|err| ApiError::Protocol(err.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        let url = self.url(segments);
        let response = self
            .send(|http| http.get(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(response).await
    }

    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        url: Url,
        body: &B,
    ) -> Result<T, ApiError> {
        let response = self
            .send(|http| http.post(url.clone()).json(body).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(response).await
    }

    /// `POST /users/`
    pub async fn create_user(&self, request: &CreateUserRequest) -> Result<User, ApiError> {
        self.post(self.url(&["users", ""]), request)
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// `GET /users/{username}`
    pub async fn user(&self, username: &str) -> Result<User, ApiError> {
        self.get(&["users", username])
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// `POST /conversations/`
    pub async fn create_conversation(
        &self,
        request: &CreateConversationRequest,
    ) -> Result<Conversation, ApiError> {
        self.post(self.url(&["conversations", ""]), request)
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// `GET /users/{user_id}/conversations?skip=&limit=`
    pub async fn conversations(
        &self,
        user_id: i64,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Conversation>, ApiError> {
        let mut url = self.url(&["users", &user_id.to_string(), "conversations"]);
        url.query_pairs_mut()
            .append_pair("skip", &skip.to_string())
            .append_pair("limit", &limit.to_string());
        let response = self
            .send(|http| http.get(url.clone()).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(response)
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// Every conversation of a user, oldest first, a page of the largest allowed size at
    /// a time.
    pub async fn all_conversations(&self, user_id: i64) -> Result<Vec<Conversation>, ApiError> {
        const PAGE: u64 = 1000;
        // A server that ignored `skip` would page forever; 10,000 pages is ten million
        // conversations, far past any real history.
        const MAX_PAGES: u64 = 10_000;
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let batch = self.conversations(user_id, page * PAGE, PAGE).await?;
            let done = (batch.len() as u64) < PAGE;
            all.extend(batch);
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// `POST /conversations/` with chatd's optional `model` (a server that does not
    /// know the field ignores it, as the original backend does with extra fields).
    pub async fn create_conversation_with_model(
        &self,
        request: &CreateConversationRequest,
        model: &str,
    ) -> Result<Conversation, ApiError> {
        let body = serde_json::json!({
            "user_id": request.user_id,
            "name": request.name,
            "model": model,
        });
        self.post(self.url(&["conversations", ""]), &body)
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// `GET /conversations/{id}`
    pub async fn conversation(&self, id: i64) -> Result<ConversationWithMessages, ApiError> {
        self.get(&["conversations", &id.to_string()])
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    /// `POST /chat?events=true`: the reply as an SSE response (checked for an error
    /// status). Servers without the extension ignore the query and send plain tokens.
    ///
    /// With `key` it is sent as the `Idempotency-Key`, so that the same request sent
    /// again (a retry after a dropped connection) is answered with the same reply.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        key: Option<&str>,
    ) -> Result<Response, ApiError> {
        let mut url = self.url(&["chat"]);
        url.query_pairs_mut().append_pair("events", "true");
        let response = self
            .send(|http| {
                let builder = http
                    .post(url.clone())
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .json(request);
                match key {
                    Some(key) => builder.header(IDEMPOTENCY_KEY, key),
                    None => builder,
                }
            })
            .await?;
        Self::check(response)
            .await
            .map_err(|e| self.at_documented_route(e))
    }

    pub fn transport_error(&self, err: reqwest::Error) -> ApiError {
        self.transport(err)
    }
}

/// The bearer token a chatd listening beyond loopback requires: `CHATCTL_TOKEN`, else
/// the token file chatd writes on this machine (`CHATD_TOKEN_FILE`, else `token` in
/// chatd's data directory). The file is only read for a server on this machine's
/// loopback, so the local daemon's token never travels to another host.
fn bearer_token(base: &Url) -> Option<String> {
    if let Some(token) = std::env::var("CHATCTL_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Some(token.trim().to_string());
    }
    let local = base
        .host_str()
        .and_then(common::loopback::loopback_host)
        .is_some_and(common::loopback::LoopbackHost::surely_local);
    if !local {
        return None;
    }
    let path = std::env::var_os("CHATD_TOKEN_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "chatd").map(|d| d.data_dir().join("token"))
        })?;
    let token = std::fs::read_to_string(path).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(server: &str) -> Client {
        Client::new(server, Autostart::RefusedByFlag, None).unwrap()
    }

    #[test]
    fn usernames_are_one_percent_encoded_segment() {
        let c = client("http://127.0.0.1:8000/api/v1");
        assert_eq!(
            c.url(&["users", "a/b?c#d%e f"]).as_str(),
            "http://127.0.0.1:8000/api/v1/users/a%2Fb%3Fc%23d%25e%20f"
        );
        assert_eq!(
            c.url(&["users", "张三"]).as_str(),
            "http://127.0.0.1:8000/api/v1/users/%E5%BC%A0%E4%B8%89"
        );
    }

    #[test]
    fn a_trailing_slash_on_the_server_changes_nothing() {
        let c = client("http://127.0.0.1:8000/api/v1/");
        assert_eq!(c.server(), "http://127.0.0.1:8000/api/v1");
        assert_eq!(
            c.url(&["users", ""]).as_str(),
            "http://127.0.0.1:8000/api/v1/users/"
        );
        assert_eq!(
            c.url(&["conversations", "3"]).as_str(),
            "http://127.0.0.1:8000/api/v1/conversations/3"
        );
    }

    #[test]
    fn bad_servers_are_usage_errors() {
        for server in ["not a url", "ftp://x/api/v1", "mailto:a@b"] {
            assert!(
                Client::new(server, Autostart::RefusedByFlag, None).is_err(),
                "{server}"
            );
        }
    }
}
