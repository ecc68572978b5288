//! The front door's errors, in OpenAI's shape `{"error": {"message", "type", "param",
//! "code"}}`, so OpenAI's SDKs raise them as their own exception types
//! (`BadRequestError`, `NotFoundError`, `ConflictError`, ...) with chatd's message.
//! chatd's own errors (`ApiError`) are turned into it with their status and text.

use serde_json::json;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::replies::BeginError;
use crate::routes::error::{ApiError, json_response};
use crate::store::{Fault, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
    pub retry_after: Option<u32>,
}

impl OpenAiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> OpenAiError {
        let kind = match status.as_u16() {
            400 | 404 | 405 | 409 | 413 | 415 | 422 => "invalid_request_error",
            401 => "authentication_error",
            503 | 507 => "service_unavailable_error",
            _ => "api_error",
        };
        OpenAiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// A 400 naming the field that is wrong.
    pub fn invalid(param: &str, message: &str) -> OpenAiError {
        OpenAiError {
            param: Some(param.to_string()),
            ..OpenAiError::new(StatusCode::BAD_REQUEST, message)
        }
    }

    pub fn with_code(mut self, code: &'static str) -> OpenAiError {
        self.code = Some(code);
        self
    }

    /// The error object, as a response body or a stream's error event.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }

    pub fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body());
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ApiError> for OpenAiError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Detail(status, text) => OpenAiError::new(status, text),
            // chatd's 422 list (a body that is not JSON, not an object): its first item.
            ApiError::Invalid(items) => {
                let first = items.first();
                let message = first.map_or("the request body is not valid".into(), |item| {
                    item.msg.clone()
                });
                let param = first
                    .and_then(|item| item.loc.last())
                    .and_then(|loc| loc.as_str())
                    .filter(|loc| *loc != "body")
                    .map(str::to_string);
                OpenAiError {
                    param,
                    ..OpenAiError::new(StatusCode::BAD_REQUEST, message)
                }
            }
            ApiError::MethodNotAllowed(_) => {
                OpenAiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
            }
            ApiError::Storage(fault) => OpenAiError::from(fault),
            ApiError::RetryLater { detail, seconds } => OpenAiError {
                retry_after: Some(seconds),
                ..OpenAiError::new(StatusCode::SERVICE_UNAVAILABLE, detail)
            },
            ApiError::Internal(text) => {
                tracing::error!("internal error (a bug; please report it): {text}");
                OpenAiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

impl From<Fault> for OpenAiError {
    fn from(fault: Fault) -> Self {
        let status = match fault {
            Fault::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        OpenAiError {
            retry_after: fault.retry_after(),
            ..OpenAiError::new(status, fault.detail())
        }
    }
}

impl From<StoreError> for OpenAiError {
    fn from(error: StoreError) -> Self {
        OpenAiError::from(ApiError::from(error))
    }
}

impl From<BeginError> for OpenAiError {
    fn from(error: BeginError) -> Self {
        let code = match &error {
            BeginError::Busy | BeginError::Moved => Some("conversation_busy"),
            BeginError::NoConversation => Some("conversation_not_found"),
            BeginError::ProviderFailed(_) => Some("provider_failed"),
            _ => None,
        };
        let mut converted = OpenAiError::from(crate::routes::begin_error(error));
        converted.code = code;
        converted
    }
}
