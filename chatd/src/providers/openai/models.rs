//! `GET {base}/models`: the models an OpenAI-compatible server offers, read bounded in
//! time, in bytes and in count, since the answer comes from the provider.

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;

use super::chunks::a_name;
use super::{OpenAiProvider, Refusal, provider_message, send_cause};

/// The largest list body read.
const BODY_LIMIT: usize = 1 << 20;

/// Models kept of one provider's list at most (OpenRouter lists a few hundred).
pub const MODELS_MAX: usize = 2000;

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

impl OpenAiProvider {
    /// The ids of the provider's models, in its order, or why they could not be had.
    pub async fn list_models(&self, timeout: Duration) -> Result<Vec<String>, String> {
        let url = format!("{}/models", self.base_url);
        let fetch = async {
            let response = self
                .request(reqwest::Method::GET, &url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| format!("could not reach {url}: {}", send_cause(&e)))?;
            if !response.status().is_success() {
                let refusal = Refusal::read(response).await;
                let message = provider_message(&refusal.body);
                let mut text = format!("{url} answered HTTP {}", refusal.status);
                if !message.is_empty() {
                    text.push_str(": ");
                    text.push_str(&message);
                }
                return Err(text);
            }
            let mut body = Vec::new();
            let mut pieces = response.bytes_stream();
            while let Some(piece) = pieces.next().await {
                let piece = piece.map_err(|e| format!("the list from {url} broke off: {e}"))?;
                if body.len() + piece.len() > BODY_LIMIT {
                    return Err(format!("{url} sent a list larger than 1 MiB"));
                }
                body.extend_from_slice(&piece);
            }
            parse_models(&body).ok_or_else(|| format!("{url} did not answer with a model list"))
        };
        tokio::time::timeout(timeout, fetch).await.map_err(|_| {
            format!(
                "{url} did not answer within {} s (timeout)",
                timeout.as_secs()
            )
        })?
    }
}

/// The ids of an OpenAI `{"object": "list", "data": [{"id": ...}, ...]}`, each once,
/// without the ones that are no model name, at most `MODELS_MAX`.
fn parse_models(body: &[u8]) -> Option<Vec<String>> {
    let list: ModelList = serde_json::from_slice(body).ok()?;
    let mut seen = std::collections::HashSet::new();
    Some(
        list.data
            .into_iter()
            .filter_map(|entry| a_name(entry.id.as_ref()))
            .filter(|id| seen.insert(id.clone()))
            .take(MODELS_MAX)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_are_read_and_bounded() {
        let body = br#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"},{"id":"llama3.2:latest"},{"id":"gpt-4o-mini"},{"id":7},{"name":"no id"}]}"#;
        assert_eq!(
            parse_models(body).unwrap(),
            ["gpt-4o-mini", "llama3.2:latest"]
        );
        assert!(parse_models(b"{\"models\":[]}").is_none());
        assert!(parse_models(b"<html>").is_none());
        let many: Vec<_> = (0..MODELS_MAX + 5)
            .map(|i| serde_json::json!({"id": format!("m{i}")}))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "data": many })).unwrap();
        assert_eq!(parse_models(&body).unwrap().len(), MODELS_MAX);
    }
}
