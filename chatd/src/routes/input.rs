//! Reading what a request sends: the JSON body (size-limited, `Content-Type` checked),
//! fields of it, path segments and query parameters, with pydantic's lenient number
//! rules and its error items, so every bad input gets the 422 a FastAPI backend gives.

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;
use warp::http::{HeaderMap, StatusCode, header};

use super::error::{ApiError, Invalid};

/// Request bodies larger than this are refused with a 413 (addendum 9).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads a JSON object body. Refuses a body declared or streamed over the limit (413), a
/// `Content-Type` that is not JSON (422: otherwise any web page could post here without
/// a CORS preflight), malformed JSON and anything but an object (422).
pub async fn json_object<S, E>(headers: &HeaderMap, body: S) -> Result<Map<String, Value>, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let too_large = || {
        ApiError::detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body too large: the limit is {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        discard(&mut body).await;
        return Err(too_large());
    }
    check_content_type(headers)?;

    let mut buffer = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::detail(
                StatusCode::BAD_REQUEST,
                format!("Could not read the request body: {e}"),
            )
        })?;
        if buffer.len() + chunk.len() > MAX_BODY_BYTES {
            discard(&mut body).await;
            return Err(too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    if buffer.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(Invalid::new(
            "missing",
            vec![json!("body")],
            "Field required",
            Value::Null,
        )));
    }
    let value: Value = serde_json::from_slice(&buffer).map_err(|e| {
        let position = byte_offset(&buffer, e.line(), e.column());
        ApiError::invalid(
            Invalid::new(
                "json_invalid",
                vec![json!("body"), json!(position)],
                "JSON decode error",
                json!({}),
            )
            .with_ctx(json!({ "error": e.to_string() })),
        )
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(Invalid::new(
            "model_attributes_type",
            vec![json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            other,
        ))),
    }
}

/// Reads and drops what is left of a refused body, within bounds, so the client sees
/// the 413 instead of a connection reset while it is still sending.
async fn discard<S, E>(body: &mut S)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    const DISCARD_AT_MOST: usize = 16 * MAX_BODY_BYTES;
    let mut discarded = 0;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(Ok(chunk)) = body.next().await {
            discarded += chunk.len();
            if discarded > DISCARD_AT_MOST {
                break;
            }
        }
    })
    .await;
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let raw = headers.get(header::CONTENT_TYPE);
    let essence = raw.and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let is_json = essence.as_deref().is_some_and(|mime| {
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    });
    if is_json {
        return Ok(());
    }
    let input = raw
        .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .unwrap_or(Value::Null);
    Err(ApiError::invalid(Invalid::new(
        "content_type",
        vec![json!("header"), json!("content-type")],
        "Content-Type must be application/json",
        input,
    )))
}

/// serde_json reports 1-based line and column; FastAPI reports a 0-based byte offset.
fn byte_offset(buffer: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, text) in buffer.split(|b| *b == b'\n').enumerate() {
        if index + 1 == line {
            return offset + column.saturating_sub(1).min(text.len());
        }
        offset += text.len() + 1;
    }
    buffer.len()
}

/// Collects the validation errors of one body so that all of them are reported at once,
/// as FastAPI does.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    pub errors: Vec<Invalid>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Fields {
            object,
            errors: Vec::new(),
        }
    }

    fn loc(name: &str) -> Vec<Value> {
        vec![json!("body"), json!(name)]
    }

    fn missing(&mut self, name: &str) {
        self.errors.push(Invalid::new(
            "missing",
            Self::loc(name),
            "Field required",
            Value::Object(self.object.clone()),
        ));
    }

    /// A required integer field.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        let Some(value) = self.object.get(name) else {
            self.missing(name);
            return None;
        };
        match int_from_json(value) {
            Ok(number) => Some(number),
            Err((kind, msg)) => {
                self.errors
                    .push(Invalid::new(kind, Self::loc(name), msg, value.clone()));
                None
            }
        }
    }

    /// A required string field, at most `max_chars` characters.
    pub fn string(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let Some(value) = self.object.get(name) else {
            self.missing(name);
            return None;
        };
        self.string_value(name, value, max_chars)
    }

    /// An optional string field: absent and `null` are both `None`.
    pub fn optional_string(&mut self, name: &str, max_chars: usize) -> Option<Option<String>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.string_value(name, value, max_chars).map(Some),
        }
    }

    fn string_value(&mut self, name: &str, value: &Value, max_chars: usize) -> Option<String> {
        let Value::String(text) = value else {
            self.errors.push(Invalid::new(
                "string_type",
                Self::loc(name),
                "Input should be a valid string",
                value.clone(),
            ));
            return None;
        };
        if text.chars().count() > max_chars {
            self.errors.push(too_long(Self::loc(name), text, max_chars));
            return None;
        }
        // PostgreSQL's text cannot hold NUL; refusing it everywhere keeps both backends
        // answering alike.
        if text.contains('\0') {
            self.reject(name, text, "text must not contain NUL characters");
            return None;
        }
        Some(text.clone())
    }

    /// Records a rule of our own that a value breaks (pydantic's `value_error`).
    pub fn reject(&mut self, name: &str, input: &str, reason: &str) {
        self.errors
            .push(value_error(Self::loc(name), input, reason));
    }

    /// The two values read, or the 422 listing every problem found.
    pub fn finish<A, B>(self, first: Option<A>, second: Option<B>) -> Result<(A, B), ApiError> {
        if !self.errors.is_empty() {
            return Err(ApiError::Invalid(self.errors));
        }
        match (first, second) {
            (Some(first), Some(second)) => Ok((first, second)),
            // Every accessor that yields None records an error, so this is a bug.
            _ => Err(ApiError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

pub fn too_long(loc: Vec<Value>, text: &str, max_chars: usize) -> Invalid {
    Invalid::new(
        "string_too_long",
        loc,
        format!("String should have at most {max_chars} characters"),
        json!(text),
    )
    .with_ctx(json!({ "max_length": max_chars }))
}

pub fn value_error(loc: Vec<Value>, input: &str, reason: &str) -> Invalid {
    Invalid::new(
        "value_error",
        loc,
        format!("Value error, {reason}"),
        json!(input),
    )
    .with_ctx(json!({ "error": reason }))
}

/// pydantic's lax integer: JSON integers, floats without a fraction, and strings of an
/// integer. Integers past i64 saturate, which names no row and so reads as "not found".
fn int_from_json(value: &Value) -> Result<i64, (&'static str, &'static str)> {
    const NOT_INT: (&str, &str) = ("int_type", "Input should be a valid integer");
    match value {
        Value::Number(number) => {
            if let Some(n) = number.as_i64() {
                Ok(n)
            } else if number.as_u64().is_some() {
                Ok(i64::MAX)
            } else {
                let float = number.as_f64().ok_or(NOT_INT)?;
                if float.fract() != 0.0 || !float.is_finite() {
                    Err((
                        "int_from_float",
                        "Input should be a valid integer, got a number with a fractional part",
                    ))
                } else {
                    // `as` saturates, which is what we want for huge whole floats.
                    Ok(float as i64)
                }
            }
        }
        Value::String(text) => parse_int(text).ok_or((
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        )),
        _ => Err(NOT_INT),
    }
}

/// An integer written in text (path segments, query values, JSON strings), saturating.
pub fn parse_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<i64>() {
        Ok(n) if negative => -n,
        Ok(n) => n,
        Err(_) if negative => i64::MIN,
        Err(_) => i64::MAX,
    })
}

/// An integer path parameter, or the 422 FastAPI gives for it.
pub fn path_int(name: &str, segment: &str) -> Result<i64, ApiError> {
    parse_int(segment).ok_or_else(|| {
        ApiError::invalid(Invalid::new(
            "int_parsing",
            vec![json!("path"), json!(name)],
            "Input should be a valid integer, unable to parse string as an integer",
            json!(segment),
        ))
    })
}

/// The query string's parameters, decoded as a form (`+` is a space). The last of
/// repeated names wins.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

pub fn query_value<'q>(pairs: &'q [(String, String)], name: &str) -> Option<&'q str> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// An integer query parameter within `min..=max`, or `default` when absent.
pub fn query_int(
    pairs: &[(String, String)],
    name: &str,
    default: i64,
    min: i64,
    max: Option<i64>,
) -> Result<i64, Box<Invalid>> {
    let loc = vec![json!("query"), json!(name)];
    let Some(text) = query_value(pairs, name) else {
        return Ok(default);
    };
    let value = parse_int(text).ok_or_else(|| {
        Box::new(Invalid::new(
            "int_parsing",
            loc.clone(),
            "Input should be a valid integer, unable to parse string as an integer",
            json!(text),
        ))
    })?;
    if value < min {
        return Err(Box::new(
            Invalid::new(
                "greater_than_equal",
                loc,
                format!("Input should be greater than or equal to {min}"),
                json!(text),
            )
            .with_ctx(json!({ "ge": min })),
        ));
    }
    if let Some(max) = max.filter(|max| value > *max) {
        return Err(Box::new(
            Invalid::new(
                "less_than_equal",
                loc,
                format!("Input should be less than or equal to {max}"),
                json!(text),
            )
            .with_ctx(json!({ "le": max })),
        ));
    }
    Ok(value)
}

/// A boolean query parameter as pydantic reads one, `false` when absent.
pub fn query_bool(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    let Some(text) = query_value(pairs, name) else {
        return Ok(false);
    };
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "t" | "y" => Ok(true),
        "0" | "false" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(ApiError::invalid(Invalid::new(
            "bool_parsing",
            vec![json!("query"), json!(name)],
            "Input should be a valid boolean, unable to interpret input",
            json!(text),
        ))),
    }
}

/// Usernames are NFC-normalised before they are checked, stored or looked up, so the
/// same name typed on two keyboards is one user (addendum 4).
pub fn normalize_username(raw: &str) -> String {
    raw.nfc().collect()
}

/// Why a (normalised) username is not acceptable, if it is not.
pub fn username_problem(name: &str) -> Option<Invalid> {
    let loc = vec![json!("body"), json!("username")];
    let chars = name.chars().count();
    if chars == 0 {
        return Some(
            Invalid::new(
                "string_too_short",
                loc,
                "String should have at least 1 character",
                json!(name),
            )
            .with_ctx(json!({ "min_length": 1 })),
        );
    }
    if chars > 64 {
        return Some(too_long(loc, name, 64));
    }
    if name.chars().any(char::is_control) {
        return Some(value_error(
            loc,
            name,
            "username must not contain control characters",
        ));
    }
    if name.contains('/') {
        return Some(value_error(loc, name, "username must not contain '/'"));
    }
    if name.trim().is_empty() {
        return Some(value_error(loc, name, "username must not be blank"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_pydantic_lax_rules() {
        assert_eq!(int_from_json(&json!(5)), Ok(5));
        assert_eq!(int_from_json(&json!(5.0)), Ok(5));
        assert_eq!(int_from_json(&json!("5")), Ok(5));
        assert_eq!(int_from_json(&json!(u64::MAX)), Ok(i64::MAX));
        assert_eq!(int_from_json(&json!(5.5)).unwrap_err().0, "int_from_float");
        assert_eq!(int_from_json(&json!("five")).unwrap_err().0, "int_parsing");
        assert_eq!(int_from_json(&json!(true)).unwrap_err().0, "int_type");
        assert_eq!(int_from_json(&Value::Null).unwrap_err().0, "int_type");
    }

    #[test]
    fn text_integers_saturate_instead_of_failing() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("99999999999999999999999"), Some(i64::MAX));
        assert_eq!(parse_int("-99999999999999999999999"), Some(i64::MIN));
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
    }

    #[test]
    fn query_strings_decode_as_forms() {
        let pairs = query_pairs("skip=1&limit=%32&name=a+b&limit=3&flag");
        assert_eq!(query_value(&pairs, "limit"), Some("3"));
        assert_eq!(query_value(&pairs, "name"), Some("a b"));
        assert_eq!(query_value(&pairs, "flag"), Some(""));
        assert_eq!(query_int(&pairs, "skip", 0, 0, Some(1000)), Ok(1));
        let over = query_int(&query_pairs("limit=1001"), "limit", 10, 0, Some(1000)).unwrap_err();
        assert_eq!(over.kind, "less_than_equal");
        let under = query_int(&query_pairs("skip=-1"), "skip", 0, 0, None).unwrap_err();
        assert_eq!(under.kind, "greater_than_equal");
    }

    #[test]
    fn usernames_are_checked_after_normalisation() {
        assert!(username_problem("张三").is_none());
        assert!(username_problem(&"é".repeat(64)).is_none());
        assert_eq!(username_problem("").unwrap().kind, "string_too_short");
        assert_eq!(
            username_problem(&"a".repeat(65)).unwrap().kind,
            "string_too_long"
        );
        assert_eq!(username_problem("a/b").unwrap().kind, "value_error");
        assert_eq!(username_problem("a\u{0}b").unwrap().kind, "value_error");
        assert_eq!(username_problem("   ").unwrap().kind, "value_error");
        // e + combining acute is two code points, one after NFC.
        assert_eq!(normalize_username("e\u{301}"), "é");
    }

    #[test]
    fn json_error_offsets_are_bytes_from_the_start() {
        assert_eq!(byte_offset(b"{\"a\":\n  x}", 2, 3), 8);
        assert_eq!(byte_offset(b"{", 1, 1), 0);
    }
}
