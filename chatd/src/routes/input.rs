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
pub async fn discard<S, E>(body: &mut S)
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
    content_type_among(headers, &[], "Content-Type must be application/json")
}

/// Passes a JSON media type (`application/json`, `application/*+json`) or one of
/// `extra`; anything else is a 422 on the header saying `message`.
pub fn content_type_among(
    headers: &HeaderMap,
    extra: &[&str],
    message: &str,
) -> Result<(), ApiError> {
    let raw = headers.get(header::CONTENT_TYPE);
    let essence = raw.and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let is_json = essence.as_deref().is_some_and(|mime| {
        mime == "application/json"
            || extra.contains(&mime)
            || (mime.starts_with("application/") && mime.ends_with("+json"))
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
        message,
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

    pub fn loc(name: &str) -> Vec<Value> {
        vec![json!("body"), json!(name)]
    }

    /// A field as sent; `None` when it is absent (a `null` is `Some(Value::Null)`).
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name)
    }

    /// Refuses every field but `known` (pydantic's `extra="forbid"`).
    pub fn forbid_others(&mut self, known: &[&str]) {
        for (name, value) in self.object {
            if !known.contains(&name.as_str()) {
                self.errors.push(extra_forbidden(Self::loc(name), value));
            }
        }
    }

    fn missing(&mut self, name: &str) {
        self.errors.push(Invalid::new(
            "missing",
            Self::loc(name),
            "Field required",
            Value::Object(self.object.clone()),
        ));
    }

    /// A required integer field that names a row, so it must fit a 64-bit column.
    pub fn id(&mut self, name: &str) -> Option<i64> {
        let Some(value) = self.object.get(name) else {
            self.missing(name);
            return None;
        };
        match int_from_json(value).and_then(|number| number.within(i64::MIN, i64::MAX)) {
            Ok(number) => Some(number),
            Err(problem) => {
                self.errors
                    .push(problem.item(Self::loc(name), value.clone()));
                None
            }
        }
    }

    /// An optional integer field that names a row: absent and `null` are both `None`.
    pub fn optional_id(&mut self, name: &str) -> Option<i64> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(_) => self.id(name),
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

pub fn extra_forbidden(loc: Vec<Value>, input: &Value) -> Invalid {
    Invalid::new(
        "extra_forbidden",
        loc,
        "Extra inputs are not permitted",
        input.clone(),
    )
}

/// An integer field at `loc` within `min..=max`, as pydantic reads a field declared
/// `int = Field(ge=min, le=max)`.
pub fn bounded_int(
    loc: Vec<Value>,
    value: &Value,
    min: i64,
    max: i64,
) -> Result<i64, Box<Invalid>> {
    int_from_json(value)
        .and_then(|number| number.within(min, max))
        .map_err(|problem| Box::new(problem.item(loc, value.clone())))
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

/// An integer as read from text or JSON, before its bounds are checked: a value past
/// 64 bits is kept as the side it fell off, so that it is refused as out of range
/// rather than quietly turned into another number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Integer {
    Fits(i64),
    AboveI64,
    BelowI64,
}

/// Why a value is not an acceptable integer, as pydantic names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntProblem {
    Type,
    Fraction,
    Parsing,
    /// Past `le`: pydantic's `less_than_equal`.
    Above(i64),
    /// Below `ge`: pydantic's `greater_than_equal`.
    Below(i64),
}

impl Integer {
    /// The value if it lies in `min..=max`. Every integer column of chatd is 64-bit,
    /// so a value no `i64` holds is reported against the bound it broke, as pydantic
    /// does for a field declared `Field(ge=-2**63, le=2**63-1)`: the input is an
    /// integer, only too large, so `int_parsing` would misdescribe it.
    fn within(self, min: i64, max: i64) -> Result<i64, IntProblem> {
        match self {
            Integer::Fits(n) if n > max => Err(IntProblem::Above(max)),
            Integer::Fits(n) if n < min => Err(IntProblem::Below(min)),
            Integer::Fits(n) => Ok(n),
            Integer::AboveI64 => Err(IntProblem::Above(max)),
            Integer::BelowI64 => Err(IntProblem::Below(min)),
        }
    }
}

impl IntProblem {
    fn item(self, loc: Vec<Value>, input: Value) -> Invalid {
        match self {
            IntProblem::Type => {
                Invalid::new("int_type", loc, "Input should be a valid integer", input)
            }
            IntProblem::Fraction => Invalid::new(
                "int_from_float",
                loc,
                "Input should be a valid integer, got a number with a fractional part",
                input,
            ),
            IntProblem::Parsing => Invalid::new(
                "int_parsing",
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                input,
            ),
            IntProblem::Above(max) => Invalid::new(
                "less_than_equal",
                loc,
                format!("Input should be less than or equal to {max}"),
                input,
            )
            .with_ctx(json!({ "le": max })),
            IntProblem::Below(min) => Invalid::new(
                "greater_than_equal",
                loc,
                format!("Input should be greater than or equal to {min}"),
                input,
            )
            .with_ctx(json!({ "ge": min })),
        }
    }
}

/// pydantic's lax integer: JSON integers, floats without a fraction, and strings of an
/// integer.
fn int_from_json(value: &Value) -> Result<Integer, IntProblem> {
    match value {
        Value::Number(number) => {
            if let Some(n) = number.as_i64() {
                Ok(Integer::Fits(n))
            } else if number.as_u64().is_some() {
                Ok(Integer::AboveI64)
            } else {
                let float = number.as_f64().ok_or(IntProblem::Type)?;
                if float.fract() != 0.0 || !float.is_finite() {
                    Err(IntProblem::Fraction)
                } else if float >= I64_END_AS_F64 {
                    Ok(Integer::AboveI64)
                } else if float < -I64_END_AS_F64 {
                    Ok(Integer::BelowI64)
                } else {
                    // A whole float inside the range converts exactly.
                    Ok(Integer::Fits(float as i64))
                }
            }
        }
        Value::String(text) => parse_int(text).ok_or(IntProblem::Parsing),
        _ => Err(IntProblem::Type),
    }
}

/// 2^63, the first whole number past `i64::MAX`; exact as an `f64`.
const I64_END_AS_F64: f64 = 9_223_372_036_854_775_808.0;

/// An integer written in text (path segments, query values, JSON strings). As in
/// pydantic, a decimal point followed by zeros only is a whole number (`1.0`, `7.`):
/// JSON Schema counts `1.0` an integer, and clients generated from it may send one.
fn parse_int(text: &str) -> Option<Integer> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let digits = match digits.split_once('.') {
        Some((whole, zeros)) if zeros.bytes().all(|b| b == b'0') => whole,
        _ => digits,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Through i128 so that `-9223372036854775808` itself still fits.
    let magnitude = digits.parse::<i128>().ok();
    Some(match magnitude.map(|m| if negative { -m } else { m }) {
        Some(n) => match i64::try_from(n) {
            Ok(n) => Integer::Fits(n),
            Err(_) if n < 0 => Integer::BelowI64,
            Err(_) => Integer::AboveI64,
        },
        // More digits than even an i128 holds.
        None if negative => Integer::BelowI64,
        None => Integer::AboveI64,
    })
}

/// An integer path parameter that names a row, or the 422 FastAPI gives for it.
pub fn path_id(name: &str, segment: &str) -> Result<i64, ApiError> {
    parse_int(segment)
        .ok_or(IntProblem::Parsing)
        .and_then(|number| number.within(i64::MIN, i64::MAX))
        .map_err(|problem| {
            ApiError::invalid(problem.item(vec![json!("path"), json!(name)], json!(segment)))
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

/// An integer query parameter within `min..=max` (at most `i64::MAX` without a `max`),
/// or `default` when absent.
pub fn query_int(
    pairs: &[(String, String)],
    name: &str,
    default: i64,
    min: i64,
    max: Option<i64>,
) -> Result<i64, Box<Invalid>> {
    let Some(text) = query_value(pairs, name) else {
        return Ok(default);
    };
    parse_int(text)
        .ok_or(IntProblem::Parsing)
        .and_then(|number| number.within(min, max.unwrap_or(i64::MAX)))
        .map_err(|problem| Box::new(problem.item(vec![json!("query"), json!(name)], json!(text))))
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
        let fits = |n| Ok(Integer::Fits(n));
        assert_eq!(int_from_json(&json!(5)), fits(5));
        assert_eq!(int_from_json(&json!(5.0)), fits(5));
        assert_eq!(int_from_json(&json!("5")), fits(5));
        assert_eq!(
            int_from_json(&json!(-9.0e18)),
            fits(-9_000_000_000_000_000_000)
        );
        assert_eq!(int_from_json(&json!(5.5)), Err(IntProblem::Fraction));
        assert_eq!(int_from_json(&json!("five")), Err(IntProblem::Parsing));
        assert_eq!(int_from_json(&json!(true)), Err(IntProblem::Type));
        assert_eq!(int_from_json(&Value::Null), Err(IntProblem::Type));
    }

    #[test]
    fn integers_past_64_bits_are_out_of_range_not_saturated() {
        assert_eq!(int_from_json(&json!(u64::MAX)), Ok(Integer::AboveI64));
        // i64::MAX has no f64 of its own: written as a float it is 2^63, one past it.
        assert_eq!(
            int_from_json(&json!(i64::MAX as f64)),
            Ok(Integer::AboveI64)
        );
        assert_eq!(
            int_from_json(&json!(i64::MIN as f64)),
            Ok(Integer::Fits(i64::MIN))
        );
        assert_eq!(int_from_json(&json!(-1e19)), Ok(Integer::BelowI64));
        assert_eq!(
            int_from_json(&json!("1180591620717411303424")),
            Ok(Integer::AboveI64)
        );
        let above = Integer::AboveI64.within(i64::MIN, i64::MAX).unwrap_err();
        let item = above.item(vec![json!("body"), json!("id")], json!(1));
        assert_eq!(item.kind, "less_than_equal");
        assert_eq!(
            item.msg,
            "Input should be less than or equal to 9223372036854775807"
        );
        assert_eq!(item.ctx, Some(json!({"le": i64::MAX})));
        let below = Integer::BelowI64.within(i64::MIN, i64::MAX).unwrap_err();
        assert_eq!(below, IntProblem::Below(i64::MIN));
        // The tighter bound is the one reported.
        assert_eq!(
            Integer::AboveI64.within(0, 1000),
            Err(IntProblem::Above(1000))
        );
    }

    #[test]
    fn text_integers_keep_the_side_they_overflow_on() {
        assert_eq!(parse_int("42"), Some(Integer::Fits(42)));
        assert_eq!(parse_int(" +7 "), Some(Integer::Fits(7)));
        assert_eq!(parse_int("-3"), Some(Integer::Fits(-3)));
        assert_eq!(
            parse_int("9223372036854775807"),
            Some(Integer::Fits(i64::MAX))
        );
        assert_eq!(
            parse_int("-9223372036854775808"),
            Some(Integer::Fits(i64::MIN))
        );
        assert_eq!(parse_int("9223372036854775808"), Some(Integer::AboveI64));
        assert_eq!(parse_int("-9223372036854775809"), Some(Integer::BelowI64));
        assert_eq!(parse_int(&"9".repeat(60)), Some(Integer::AboveI64));
        assert_eq!(
            parse_int(&format!("-{}", "9".repeat(60))),
            Some(Integer::BelowI64)
        );
        assert_eq!(parse_int("1.0"), Some(Integer::Fits(1)));
        assert_eq!(parse_int("-7.00"), Some(Integer::Fits(-7)));
        assert_eq!(parse_int("7."), Some(Integer::Fits(7)));
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_int("1.0.0"), None);
        assert_eq!(parse_int("."), None);
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
        let huge = query_int(
            &query_pairs("skip=99999999999999999999"),
            "skip",
            0,
            0,
            None,
        )
        .unwrap_err();
        assert_eq!(huge.kind, "less_than_equal");
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
