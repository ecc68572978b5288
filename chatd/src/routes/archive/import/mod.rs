//! Extension: `POST /users/{user_id}/import`, chatd's own JSON (one conversation, or
//! JSON Lines of many) or ChatGPT's `conversations.json`, told apart by shape.
//!
//! The body may be far larger than any other route takes ([`IMPORT_MAX_BYTES`]), so it
//! is never held in memory: it is written to an anonymous temporary file as it
//! arrives, read once to check that it is well-formed JSON throughout (a malformed
//! document is a 422 naming its position, with nothing imported), then read again,
//! one conversation at a time, each stored in a transaction of its own. Memory holds
//! one conversation (at most [`CONVERSATION_MAX_BYTES`] of JSON), whatever the size of
//! the file.

mod chatd;
mod chatgpt;

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use bytes::Bytes;
use common::archive::{ImportSummary, SkippedConversation};
use futures_util::{Stream, StreamExt};
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserializer as _, de::IgnoredAny};
use serde_json::{Value, json};
use warp::http::{HeaderMap, StatusCode, header};
use warp::reply::Response;

use crate::routes::error::{Invalid, json_response};
use crate::routes::openapi::schemas::{Detail, ImportSource, ValidationError};
use crate::routes::{ApiError, App, CONVERSATION_NAME_MAX_CHARS, input, path_id};
use crate::store::{self, ImportedConversation};

/// The largest import body: far above a year of anyone's chats (ChatGPT's exports of
/// heavy users run to a few hundred MB with images, which it keeps apart).
pub const IMPORT_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// The largest conversation of a document, as JSON text: each is held in memory whole
/// (as a `serde_json::Value`, a few times its text) while it is converted and stored.
/// A conversation of 32 MB is tens of thousands of long messages.
pub const CONVERSATION_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// Conversations converted ahead of the one being stored.
const CONVERSATIONS_AHEAD: usize = 2;

/// Where a document comes from, when the client says so (`?from=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Chatd,
    ChatGpt,
}

#[utoipa::path(
    post, path = "/api/v1/users/{user_id}/import", tag = "archive",
    params(
        ("user_id" = i64, Path),
        ("from" = Option<ImportSource>, Query, description = "`auto` (the default: told by the document), `chatd` or `chatgpt`"),
    ),
    request_body(description = "chatd's export (one ConversationExport, a list of them, or JSON Lines of them) or ChatGPT's `conversations.json`; up to 1 GiB", content(
        (Object = "application/json"),
        (String = "application/jsonl"),
    )),
    responses(
        (status = 200, description = "What was imported, and what was skipped and why", body = ImportSummary),
        (status = 400, description = "The body could not be read", body = Detail),
        (status = 404, description = "`User not found`", body = Detail),
        (status = 413, description = "The body is over 1 GiB", body = Detail),
        (status = 422, description = "A bad id or `from`, a body that is not such a document", body = ValidationError),
    )
)]
/// Extension: POST /users/{user_id}/import?from=chatd|chatgpt
pub async fn import<S>(
    app: &App,
    raw_id: &str,
    query: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let mut body = body;
    let user_id = path_id("user_id", raw_id)?;
    let from = source(query)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > IMPORT_MAX_BYTES) {
        input::discard(&mut body).await;
        return Err(too_large());
    }
    check_content_type(headers)?;
    if !app.store.user_exists(user_id).await? {
        return Err(ApiError::not_found("User not found"));
    }
    let file = spool(&mut body).await?;
    let checked = file.try_clone().map_err(internal)?;
    let outcome = tokio::task::spawn_blocking(move || walk::<IgnoredAny>(&checked, |_, _| true))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    outcome.map_err(Malformed::into_error)?;

    let (ready, mut converted) = tokio::sync::mpsc::channel(CONVERSATIONS_AHEAD);
    let reader = tokio::task::spawn_blocking(move || {
        let now = store::now();
        walk::<Value>(&file, |index, value| {
            let item = (index, conversation_of(value, from, now));
            ready.blocking_send(item).is_ok()
        })
    });
    let mut summary = ImportSummary {
        imported: 0,
        skipped: Vec::new(),
    };
    while let Some((index, conversation)) = converted.recv().await {
        match conversation {
            Ok(conversation) => match app.store.import_conversation(user_id, conversation).await? {
                Some(conversation_id) => {
                    summary.imported += 1;
                    app.events
                        .announce(crate::events::Event::ConversationCreated {
                            conversation_id,
                            user_id,
                        });
                }
                None => return Err(ApiError::not_found("User not found")),
            },
            Err(reason) => summary.skipped.push(SkippedConversation { index, reason }),
        }
    }
    // Checked well-formed above; the file did not change since.
    let _ = reader.await;
    Ok(json_response(StatusCode::OK, &summary))
}

fn source(query: &str) -> Result<Option<Source>, ApiError> {
    let pairs = input::query_pairs(query);
    match input::query_value(&pairs, "from") {
        None | Some("") | Some("auto") => Ok(None),
        Some("chatd") => Ok(Some(Source::Chatd)),
        Some("chatgpt") => Ok(Some(Source::ChatGpt)),
        Some(other) => Err(ApiError::invalid(
            Invalid::new(
                "enum",
                vec![json!("query"), json!("from")],
                "Input should be 'auto', 'chatd' or 'chatgpt'",
                json!(other),
            )
            .with_ctx(json!({"expected": "'auto', 'chatd' or 'chatgpt'"})),
        )),
    }
}

fn too_large() -> ApiError {
    ApiError::detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large: the limit of an import is {IMPORT_MAX_BYTES} bytes"),
    )
}

fn internal(error: std::io::Error) -> ApiError {
    ApiError::Internal(format!("could not keep the import body: {error}"))
}

/// JSON or JSON Lines; anything else could be posted by any web page without a CORS
/// preflight, as `input::json_object` explains.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    input::content_type_among(
        headers,
        &[
            "application/jsonl",
            "application/x-ndjson",
            "application/jsonlines",
        ],
        "Content-Type must be application/json or application/jsonl",
    )
}

/// Writes the body to an anonymous temporary file as it arrives (on a blocking thread,
/// a few chunks behind), refusing it past [`IMPORT_MAX_BYTES`].
async fn spool<S>(body: &mut S) -> Result<File, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Unpin,
{
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<File> {
        let mut file = tempfile::tempfile()?;
        let mut buffered = BufWriter::with_capacity(256 * 1024, &mut file);
        while let Some(chunk) = received.blocking_recv() {
            buffered.write_all(&chunk)?;
        }
        buffered.flush()?;
        drop(buffered);
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    });
    let mut total: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::detail(
                StatusCode::BAD_REQUEST,
                format!("Could not read the request body: {e}"),
            )
        })?;
        total += chunk.len() as u64;
        if total > IMPORT_MAX_BYTES {
            drop(chunks);
            input::discard(body).await;
            return Err(too_large());
        }
        if chunks.send(chunk).await.is_err() {
            // The writer stopped: its error is below.
            break;
        }
    }
    drop(chunks);
    let file = writer
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    file.map_err(|e| match e.kind() {
        std::io::ErrorKind::StorageFull => ApiError::Storage(store::Fault::DiskFull),
        _ => internal(e),
    })
}

/// Where a document stopped being JSON, or held a conversation too large to import.
struct Malformed {
    /// The conversation being read, from 0.
    index: u64,
    error: serde_json::Error,
    too_large: bool,
}

impl Malformed {
    fn new(index: u64, error: serde_json::Error) -> Malformed {
        Malformed {
            index,
            error,
            too_large: false,
        }
    }

    fn into_error(self) -> ApiError {
        let Malformed {
            index,
            error,
            too_large,
        } = self;
        if too_large {
            return ApiError::invalid(
                Invalid::new(
                    "too_long",
                    vec![json!("body"), json!(index)],
                    format!(
                        "conversation {index} is larger than {CONVERSATION_MAX_BYTES} bytes of JSON"
                    ),
                    json!({}),
                )
                .with_ctx(json!({"max_bytes": CONVERSATION_MAX_BYTES, "conversation": index})),
            );
        }
        if error.is_io() {
            return ApiError::Internal(format!("could not read the import body back: {error}"));
        }
        let (line, column) = (error.line(), error.column());
        ApiError::invalid(
            Invalid::new(
                "json_invalid",
                vec![json!("body"), json!(index)],
                format!("JSON decode error at line {line}, column {column} (conversation {index})"),
                json!({}),
            )
            .with_ctx(json!({
                "error": error.to_string(),
                "line": line,
                "column": column,
                "conversation": index,
            })),
        )
    }
}

impl fmt::Debug for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conversation {}: {}", self.index, self.error)
    }
}

/// Reads the document's conversations one at a time, handing each to `each` (which
/// says whether to go on): the elements of a top-level array, or a sequence of JSON
/// values (one document, or JSON Lines).
fn walk<T: DeserializeOwned>(
    file: &File,
    mut each: impl FnMut(u64, T) -> bool,
) -> Result<(), Malformed> {
    let at = |index: u64| move |error: serde_json::Error| Malformed::new(index, error);
    let io = |e: std::io::Error| Malformed::new(0, serde_json::Error::io(e));
    let too_large = |index: u64| Malformed {
        too_large: true,
        ..Malformed::new(index, serde::de::Error::custom("too large"))
    };
    let mut file = file.try_clone().map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let first = loop {
        let buffer = reader.fill_buf().map_err(io)?;
        if buffer.is_empty() {
            break None;
        }
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(start) => {
                let byte = buffer[start];
                reader.consume(start);
                break Some(byte);
            }
            None => {
                let whole = buffer.len();
                reader.consume(whole);
            }
        }
    };
    // serde_json reads an `io::Read` a byte at a time (the buffering is `reader`'s), so
    // the count of bytes it took is where it is in the document.
    let read = Rc::new(Cell::new(0u64));
    let reader = Counted {
        inner: reader,
        read: read.clone(),
    };
    match first {
        Some(b'[') => {
            let mut deserializer = serde_json::Deserializer::from_reader(reader);
            let mut elements = Elements {
                each: &mut each,
                index: 0,
                read,
                too_large: false,
                _element: std::marker::PhantomData,
            };
            let result = (&mut deserializer).deserialize_seq(&mut elements);
            let index = elements.index;
            if elements.too_large {
                return Err(too_large(index));
            }
            result.map_err(at(index))?;
            deserializer.end().map_err(at(index))
        }
        Some(b'{') => {
            let mut values = serde_json::Deserializer::from_reader(reader).into_iter::<T>();
            for index in 0u64.. {
                let before = read.get();
                let Some(value) = values.next() else { break };
                if read.get() - before > CONVERSATION_MAX_BYTES {
                    return Err(too_large(index));
                }
                if !each(index, value.map_err(at(index))?) {
                    break;
                }
            }
            Ok(())
        }
        Some(_) => Err(Malformed::new(
            0,
            serde::de::Error::custom(
                "expected a JSON object, JSON Lines of objects, or an array of conversations",
            ),
        )),
        None => Err(Malformed::new(
            0,
            serde::de::Error::custom("the body is empty"),
        )),
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Visits a top-level array one element at a time, never holding more than one.
struct Elements<'f, F, T> {
    each: &'f mut F,
    index: u64,
    /// Bytes of the document read so far.
    read: Rc<Cell<u64>>,
    /// Set when the element at `index` was over [`CONVERSATION_MAX_BYTES`].
    too_large: bool,
    _element: std::marker::PhantomData<T>,
}

impl<'de, F, T> Visitor<'de> for &mut Elements<'_, F, T>
where
    F: FnMut(u64, T) -> bool,
    T: DeserializeOwned,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let before = self.read.get();
            let Some(element) = seq.next_element::<T>()? else {
                break;
            };
            if self.read.get() - before > CONVERSATION_MAX_BYTES {
                self.too_large = true;
                return Err(serde::de::Error::custom("a conversation is too large"));
            }
            if !(self.each)(self.index, element) {
                return Err(serde::de::Error::custom("the import stopped"));
            }
            self.index += 1;
        }
        Ok(())
    }
}

/// One element of the document as chatd stores it, or why it is skipped.
fn conversation_of(
    value: Value,
    from: Option<Source>,
    now: chrono::NaiveDateTime,
) -> Result<ImportedConversation, String> {
    let Value::Object(object) = value else {
        return Err("not a conversation object".into());
    };
    let source = match from {
        Some(source) => source,
        None if chatd::is_chatd(&object) => Source::Chatd,
        None if chatgpt::is_chatgpt(&object) => Source::ChatGpt,
        None => {
            return Err(
                "neither a chatd export (no `format`) nor a ChatGPT conversation (no `mapping`)"
                    .into(),
            );
        }
    };
    match source {
        Source::Chatd => chatd::convert(object),
        Source::ChatGpt => chatgpt::convert(&object, now),
    }
}

/// Text as chatd can store it on either backend: PostgreSQL refuses NUL.
fn clean_text(text: &str) -> String {
    text.replace('\0', "")
}

/// A conversation's name: trimmed, at most the length a user may give, `None` if empty.
fn conversation_name(name: Option<&str>) -> Option<String> {
    let name = clean_text(name?.trim());
    if name.is_empty() {
        return None;
    }
    Some(name.chars().take(CONVERSATION_NAME_MAX_CHARS).collect())
}
