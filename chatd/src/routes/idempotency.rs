//! The `Idempotency-Key` header of `POST /chat`, `POST /users/` and
//! `POST /conversations/` (docs/API.md §3.15): reading it, the request body's
//! fingerprint, and the in-process gate that makes concurrent requests with one key
//! take turns, so that the second finds the first's answer in the database instead of
//! racing it (across processes the database's transaction does that:
//! `store/idempotency.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;
use warp::http::HeaderMap;

use super::ApiError;
use super::error::Invalid;
use crate::store::idempotency::RequestKey;

/// The longest key a client may send, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

const HEADER: &str = "idempotency-key";

/// The request's key, `None` without the header; 422 for an empty or too long one.
pub fn read_key(
    headers: &HeaderMap,
    scope: &'static str,
    body: &Map<String, Value>,
) -> Result<Option<RequestKey>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let problem = if bytes.is_empty() || bytes.len() > MAX_KEY_BYTES {
        Some(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_BYTES} bytes (it has {})",
            bytes.len()
        ))
    } else if std::str::from_utf8(bytes).is_err() {
        Some("Idempotency-Key must be UTF-8 text".into())
    } else {
        None
    };
    if let Some(msg) = problem {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_KEY_BYTES)]);
        return Err(ApiError::invalid(Invalid::new(
            "value_error",
            vec![json!("header"), json!(HEADER)],
            msg,
            json!(shown),
        )));
    }
    Ok(Some(RequestKey {
        scope,
        key: String::from_utf8_lossy(bytes).into_owned(),
        fingerprint: fingerprint(body),
    }))
}

/// The answer to a key sent before with another body.
pub fn key_reused() -> ApiError {
    // A list item like every other 422, so that a client (and the OpenAPI document) reads
    // one shape of 422; the key itself is not at hand here, and `input` says so.
    ApiError::invalid(Invalid::new(
        "value_error",
        vec![json!("header"), json!(HEADER)],
        "This Idempotency-Key was used with a different request body in the last 24 hours; \
         send a new key for a new request",
        Value::Null,
    ))
}

/// SHA-256 of the body's JSON with every object's keys sorted, so that a repeat that
/// orders its fields differently is still the same request.
fn fingerprint(body: &Map<String, Value>) -> String {
    let mut canonical = Value::Object(body.clone());
    sort_keys(&mut canonical);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// A key as the gate knows it: its scope and the client's string.
type KeyId = (&'static str, String);

/// The keys whose requests run now, each with the lock its requests take turns on.
type Held = HashMap<KeyId, Arc<tokio::sync::Mutex<()>>>;

/// Requests with the same key take turns in this process.
#[derive(Debug, Default)]
pub struct KeyGate {
    held: Mutex<Held>,
}

/// A key's turn; the next request with the key goes once this is dropped.
pub struct KeyTurn<'g> {
    gate: &'g KeyGate,
    id: KeyId,
    turn: Option<OwnedMutexGuard<()>>,
}

impl KeyGate {
    /// Waits for the key's turn.
    pub async fn turn(&self, key: &RequestKey) -> KeyTurn<'_> {
        let id = (key.scope, key.key.clone());
        let lock = self.map().entry(id.clone()).or_default().clone();
        let turn = lock.lock_owned().await;
        KeyTurn {
            gate: self,
            id,
            turn: Some(turn),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, Held> {
        // Every update is one insert or remove: a panic cannot leave it half-changed.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for KeyTurn<'_> {
    fn drop(&mut self) {
        drop(self.turn.take());
        let mut held = self.gate.map();
        // Nobody waits (only the map holds the lock): the key is forgotten, so the map
        // holds only keys in use.
        if held
            .get(&self.id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            held.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_field_order_only() {
        let a = json!({"conversation_id": 1, "message": "hi", "x": {"b": 1, "a": 2}});
        let b = json!({"x": {"a": 2, "b": 1}, "message": "hi", "conversation_id": 1});
        let c = json!({"conversation_id": 1, "message": "hi!", "x": {"b": 1, "a": 2}});
        let print = |v: &Value| fingerprint(v.as_object().unwrap());
        assert_eq!(print(&a), print(&b));
        assert_ne!(print(&a), print(&c));
    }

    #[tokio::test]
    async fn turns_of_one_key_are_one_at_a_time_and_then_forgotten() {
        let gate = KeyGate::default();
        let key = RequestKey {
            scope: "chat",
            key: "k".into(),
            fingerprint: String::new(),
        };
        let first = gate.turn(&key).await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), gate.turn(&key));
        assert!(second.await.is_err(), "the second waits for the first");
        drop(first);
        let again = gate.turn(&key).await;
        drop(again);
        assert!(gate.map().is_empty());
    }
}
