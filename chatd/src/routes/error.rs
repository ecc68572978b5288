//! The one error type of chatd's HTTP edge, and its FastAPI-shaped bodies: `{"detail":
//! "..."}` for most errors, and for a 422 a list of `{type, loc, msg, input}` items as
//! pydantic writes them, so a frontend written against the original backend can read
//! chatd's errors unchanged.

use serde_json::{Value, json};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::store::{Fault, StoreError};

/// One item of a 422's `detail` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub kind: &'static str,
    pub loc: Vec<Value>,
    pub msg: String,
    pub input: Value,
    pub ctx: Option<Value>,
}

impl Invalid {
    pub fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>, input: Value) -> Self {
        Invalid {
            kind,
            loc,
            msg: msg.into(),
            input,
            ctx: None,
        }
    }

    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    fn to_json(&self) -> Value {
        let mut item = json!({
            "type": self.kind,
            "loc": self.loc,
            "msg": self.msg,
            "input": self.input,
        });
        if let (Some(ctx), Some(map)) = (&self.ctx, item.as_object_mut()) {
            map.insert("ctx".into(), ctx.clone());
        }
        item
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// Any error whose body is `{"detail": "<text>"}`.
    Detail(StatusCode, String),
    /// 422 with a list of validation errors.
    Invalid(Vec<Invalid>),
    /// 405 with the `Allow` header the path supports.
    MethodNotAllowed(&'static str),
    /// Storage that cannot do it now: 507 for a full disk, else 503, with the fault's
    /// detail and, where waiting helps, `Retry-After`.
    Storage(Fault),
    /// 503 with `Retry-After`: chatd can serve this shortly, not now.
    RetryLater { detail: String, seconds: u32 },
    /// A bug: logged in full, answered with a generic 500.
    Internal(String),
}

impl ApiError {
    pub fn detail(status: StatusCode, text: impl Into<String>) -> Self {
        ApiError::Detail(status, text.into())
    }

    pub fn not_found(text: &str) -> Self {
        ApiError::Detail(StatusCode::NOT_FOUND, text.to_string())
    }

    pub fn invalid(item: Invalid) -> Self {
        ApiError::Invalid(vec![item])
    }

    pub fn into_response(self) -> Response {
        match self {
            ApiError::Detail(status, text) => json_response(status, &json!({ "detail": text })),
            ApiError::Invalid(items) => {
                let detail: Vec<Value> = items.iter().map(Invalid::to_json).collect();
                json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &json!({ "detail": detail }),
                )
            }
            ApiError::MethodNotAllowed(allow) => {
                let mut response = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &json!({"detail": "Method Not Allowed"}),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                response
            }
            ApiError::Storage(fault) => {
                let status = match fault {
                    Fault::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                let mut response = json_response(status, &json!({ "detail": fault.detail() }));
                if let Some(seconds) = fault.retry_after() {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
            ApiError::RetryLater { detail, seconds } => {
                let mut response = json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({ "detail": detail }),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                response
            }
            ApiError::Internal(text) => {
                tracing::error!("internal error (a bug; please report it): {text}");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"detail": "Internal Server Error"}),
                )
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error.fault() {
            Some(fault) => {
                tracing::warn!("a request could not be served: {error}");
                ApiError::Storage(fault)
            }
            None => ApiError::Internal(error.to_string()),
        }
    }
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        // Our own types always serialise; should one not, say so rather than panic.
        Err(e) => {
            tracing::error!("could not serialise a response: {e}");
            return ApiError::Detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error".into(),
            )
            .into_response();
        }
    };
    let mut response = json_bytes_response(bytes.into());
    *response.status_mut() = status;
    response
}

/// A 200 whose JSON body is already written.
pub fn json_bytes_response(body: bytes::Bytes) -> Response {
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
