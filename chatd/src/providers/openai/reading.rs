//! One streamed reply being read: bytes → events (`EventReader`, size-capped) → chunks →
//! deltas, with every silence of the byte stream bounded.
//!
//! A reply is over at `[DONE]`, or when the body ends (or breaks, or falls silent) after
//! a chunk gave a `finish_reason`: older llama.cpp builds close the body after one
//! without sending `[DONE]`. A body that ends before either was cut off, and the reply
//! fails.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};

use super::super::event_reader::{EventReader, ReadError};
use super::super::{Delta, DeltaStream, Ending, FinishReason, ProviderError};
use super::chunks::{Chunk, Part, parse_chunk, strongest};
use super::{describe_size, root_cause};

/// The body of a streamed reply, read as deltas.
pub(super) fn deltas<S, B>(
    bytes: S,
    endpoint: String,
    idle: Duration,
    max_event_bytes: usize,
) -> DeltaStream
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
{
    let state = Reading {
        bytes: Box::pin(bytes),
        reader: EventReader::new(max_event_bytes),
        events: VecDeque::new(),
        ready: VecDeque::new(),
        finish: None,
        said: None,
        model: None,
        over: false,
        endpoint,
        idle,
        silence: None,
        last_bytes: tokio::time::Instant::now(),
    };
    futures_util::stream::unfold(state, |mut state| async move {
        if state.over {
            return None;
        }
        let next = state.next_delta().await;
        state.over = matches!(next, Ok(Delta::End(_)) | Err(_));
        Some((next, state))
    })
    .boxed()
}

/// The deltas a part gives, in the order a listener wants them: who answers, what it
/// thought, what it said, what it cost. `model` is the name said last, so a name is
/// said once, not on every chunk.
pub(super) fn part_deltas(part: Part, model: &mut Option<String>, out: &mut VecDeque<Delta>) {
    if let Some(name) = part.model
        && model.as_ref() != Some(&name)
    {
        *model = Some(name.clone());
        out.push_back(Delta::Model(name));
    }
    if !part.reasoning.is_empty() {
        out.push_back(Delta::Reasoning(part.reasoning));
    }
    if !part.text.is_empty() {
        out.push_back(Delta::Text(part.text));
    }
    if let Some(calls) = part.tool_calls {
        out.push_back(Delta::ToolCalls(calls));
    }
    if let Some(usage) = part.usage {
        out.push_back(Delta::Usage(usage));
    }
}

/// One streamed reply being read: the body, the events read from it but not handed on
/// yet, the deltas made but not handed on yet, and the finish reason once a chunk gave
/// one.
struct Reading<S> {
    bytes: Pin<Box<S>>,
    reader: EventReader,
    events: VecDeque<String>,
    ready: VecDeque<Delta>,
    finish: Option<FinishReason>,
    said: Option<String>,
    model: Option<String>,
    /// Set once the end or an error was yielded: nothing follows them.
    over: bool,
    endpoint: String,
    idle: Duration,
    /// The one timer of the silences: it is moved on only when it fires, to `idle`
    /// after the last bytes, and fails the reply when it fires that late. A new timer
    /// per chunk (`tokio::time::timeout`) registered and removed a timer-wheel entry
    /// for every token, which showed in profiles of thousands of streams. Made at the
    /// first read, inside the runtime that polls the stream (a timer cannot be made
    /// outside one).
    silence: Option<Pin<Box<tokio::time::Sleep>>>,
    /// When bytes last came.
    last_bytes: tokio::time::Instant,
}

impl<S, B> Reading<S>
where
    S: Stream<Item = Result<B, reqwest::Error>>,
    B: AsRef<[u8]>,
{
    fn ending(&self) -> Ending {
        Ending {
            reason: self.finish.unwrap_or(FinishReason::Stop),
            said: self.said.clone(),
        }
    }

    /// The next delta, the end, or why there is neither.
    async fn next_delta(&mut self) -> Result<Delta, ProviderError> {
        let endpoint = &self.endpoint;
        loop {
            if let Some(delta) = self.ready.pop_front() {
                return Ok(delta);
            }
            if let Some(data) = self.events.pop_front() {
                match parse_chunk(&data) {
                    Chunk::Done => return Ok(Delta::End(self.ending())),
                    Chunk::Error(message) => {
                        return Err(ProviderError(format!(
                            "the LLM provider reported an error mid-stream: {message}"
                        )));
                    }
                    Chunk::Part(mut part) => {
                        self.finish = strongest(self.finish, part.finish);
                        if let Some(said) = part.said.take() {
                            // A later "length" wins over an earlier "stop", as above.
                            if self.said.is_none() || part.finish == Some(FinishReason::Length) {
                                self.said = Some(said);
                            }
                        }
                        part_deltas(part, &mut self.model, &mut self.ready);
                    }
                }
                continue;
            }
            // The silence is timed on the bytes, not on events, so a provider that is
            // sending is never reported silent.
            let first_due = self.last_bytes + self.idle;
            let silence = self
                .silence
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(first_due)));
            let next = tokio::select! {
                biased;
                next = self.bytes.next() => Ok(next),
                () = silence.as_mut() => {
                    let due = self.last_bytes + self.idle;
                    if due > tokio::time::Instant::now() {
                        silence.as_mut().reset(due);
                        continue;
                    }
                    Err(())
                }
            };
            if let Ok(Some(Ok(_))) = &next {
                self.last_bytes = tokio::time::Instant::now();
            }
            let cut_off = match next {
                Ok(Some(Ok(piece))) => {
                    self.reader.feed(piece.as_ref(), &mut self.events).map_err(
                        |ReadError::EventTooLarge(cap)| {
                            ProviderError(format!(
                                "the LLM provider at {endpoint} sent an event larger than the \
                                 {} limit (max_event_bytes)",
                                describe_size(cap)
                            ))
                        },
                    )?;
                    continue;
                }
                Err(_) => format!(
                    "the LLM provider at {endpoint} sent no data for {} s",
                    self.idle.as_secs()
                ),
                Ok(None) => format!(
                    "the LLM provider at {endpoint} closed the stream before the reply was \
                     finished"
                ),
                Ok(Some(Err(e))) => format!(
                    "the connection to the LLM provider at {endpoint} broke: {}",
                    root_cause(&e)
                ),
            };
            // After a finish_reason only `[DONE]` or usage can follow: the reply is whole.
            return match self.finish {
                Some(_) => Ok(Delta::End(self.ending())),
                None => Err(ProviderError(cut_off)),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ENDPOINT: &str = "http://127.0.0.1:9/v1/chat/completions";

    /// What the provider makes of an upstream body arriving in these pieces.
    fn read_bytes(
        pieces: Vec<Vec<u8>>,
        max_event_bytes: usize,
    ) -> Vec<Result<Delta, ProviderError>> {
        let pieces = pieces.into_iter().map(Ok::<_, reqwest::Error>);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(
            deltas(
                futures_util::stream::iter(pieces),
                ENDPOINT.into(),
                Duration::from_secs(60),
                max_event_bytes,
            )
            .collect(),
        )
    }

    fn read(pieces: &[&str], max_event_bytes: usize) -> Vec<Result<Delta, ProviderError>> {
        read_bytes(
            pieces.iter().map(|p| p.as_bytes().to_vec()).collect(),
            max_event_bytes,
        )
    }

    fn event(content: &str, finish_reason: &str) -> String {
        let chunk = json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}]});
        format!("data: {chunk}\n\n")
    }

    fn event_without_finish(content: &str) -> String {
        let chunk = json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
        format!("data: {chunk}\n\n")
    }

    fn texts(texts: &[&str]) -> Vec<Result<Delta, ProviderError>> {
        texts
            .iter()
            .map(|t| Ok(Delta::Text(t.to_string())))
            .collect()
    }

    fn end(reason: FinishReason, said: Option<&str>) -> Result<Delta, ProviderError> {
        Ok(Delta::End(Ending::new(reason, said)))
    }

    #[test]
    fn a_reply_ends_at_done_or_at_a_finish_reason_and_fails_at_an_early_close() {
        let a = event_without_finish("a");
        let b = event_without_finish("b");

        let mut expected = texts(&["a", "b"]);
        expected.push(end(FinishReason::Stop, None));
        assert_eq!(read(&[&a, &b, "data: [DONE]\n\n"], 1 << 20), expected);

        // Older llama.cpp: a finish_reason, then the body closes without [DONE]; a
        // usage chunk or a last event cut off may come between.
        let stop = event("", "stop");
        let usage = "data: {\"choices\":[],\"usage\":{\"total_tokens\":9}}\n\n";
        let mut expected = texts(&["a", "b"]);
        expected.push(end(FinishReason::Stop, Some("stop")));
        assert_eq!(read(&[&a, &b, &stop], 1 << 20), expected);
        assert_eq!(read(&[&a, &stop, &b, usage], 1 << 20), expected);
        assert_eq!(read(&[&a, &b, &stop, "data: {cut"], 1 << 20), expected);
        // `""` is no reason: servers that send it on every chunk are not cut short.
        let no_reason = read(&[&event("a", ""), &event("b", "")], 1 << 20);
        assert_eq!(no_reason[..2], texts(&["a", "b"]));
        assert!(no_reason[2].is_err(), "{no_reason:?}");

        let mut cut = texts(&["a"]);
        cut.push(end(FinishReason::Length, Some("length")));
        assert_eq!(read(&[&a, &event("", "length")], 1 << 20), cut);
        let mut cut = texts(&["a", "b"]);
        cut.push(end(FinishReason::Length, Some("length")));
        assert_eq!(read(&[&a, &event("b", "length")], 1 << 20), cut);
        assert_eq!(
            read(&[&a, &event("b", "length"), &event("", "stop")], 1 << 20),
            cut,
            "a cut anywhere makes the reply cut"
        );

        let closed = read(&[&a, &b], 1 << 20);
        assert_eq!(closed[..2], texts(&["a", "b"]));
        let Err(error) = &closed[2] else {
            panic!("{closed:?}")
        };
        assert_eq!(
            error.0,
            "the LLM provider at http://127.0.0.1:9/v1/chat/completions closed the stream \
             before the reply was finished"
        );
        assert_eq!(closed.len(), 3, "nothing follows an error");
        assert!(matches!(&read(&[], 1 << 20)[..], [Err(_)]));
    }

    #[test]
    fn the_model_reasoning_and_usage_come_as_their_own_deltas() {
        let chunk = |delta: serde_json::Value| {
            let chunk = json!({"model": "m-1", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
            format!("data: {chunk}\n\n")
        };
        let usage = "data: {\"model\":\"m-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n";
        let read = read(
            &[
                &chunk(json!({"reasoning_content": "let me"})),
                &chunk(json!({"reasoning": " think"})),
                &chunk(json!({"content": "Hi"})),
                &event("", "stop"),
                usage,
                "data: [DONE]\n\n",
            ],
            1 << 20,
        );
        assert_eq!(
            read,
            vec![
                Ok(Delta::Model("m-1".into())),
                Ok(Delta::Reasoning("let me".into())),
                Ok(Delta::Reasoning(" think".into())),
                Ok(Delta::Text("Hi".into())),
                Ok(Delta::Usage(common::Usage {
                    prompt_tokens: Some(4),
                    completion_tokens: Some(2)
                })),
                end(FinishReason::Stop, Some("stop")),
            ]
        );
    }

    #[test]
    fn silence_is_timed_from_the_last_bytes_however_long_the_reply_runs() {
        // Chunks 60% of the idle time apart, for more than twice the idle time, then
        // nothing: no chunk is reported silent, and the silence after the last one is
        // reported once it has lasted the idle time, not before.
        let idle = Duration::from_millis(300);
        let gap = Duration::from_millis(180);
        let chunks = ["a", "b", "c", "d"].map(|t| Ok::<_, reqwest::Error>(event_without_finish(t)));
        let pieces = futures_util::stream::iter(chunks)
            .then(move |chunk| async move {
                tokio::time::sleep(gap).await;
                chunk
            })
            .chain(futures_util::stream::pending());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (read, last, end) = runtime.block_on(async {
            let mut stream = deltas(pieces, ENDPOINT.into(), idle, 1 << 20);
            let mut read = Vec::new();
            let mut last = tokio::time::Instant::now();
            while let Some(delta) = stream.next().await {
                if delta.is_ok() {
                    last = tokio::time::Instant::now();
                }
                read.push(delta);
            }
            (read, last, tokio::time::Instant::now())
        });
        assert_eq!(read[..4], texts(&["a", "b", "c", "d"]), "{read:?}");
        let Some(Err(error)) = read.get(4) else {
            panic!("{read:?}")
        };
        assert!(error.0.contains("sent no data for"), "{error}");
        assert_eq!(read.len(), 5);
        assert!(end - last >= idle, "reported after {:?}", end - last);
    }

    #[test]
    fn an_event_past_the_cap_fails_the_reply() {
        let a = event_without_finish("a");
        let big = event_without_finish(&"x".repeat(2000));
        let cap = big.trim_end().len();
        let mut expected = texts(&["a", &"x".repeat(2000)]);
        expected.push(end(FinishReason::Stop, None));
        assert_eq!(read(&[&a, &big, "data: [DONE]\n\n"], cap), expected);

        let over = event_without_finish(&"x".repeat(2001));
        let read_over = read(&[&a, &over[..1000], &over[1000..]], cap);
        assert_eq!(read_over[0], Ok(Delta::Text("a".into())));
        let Err(error) = &read_over[1] else {
            panic!("{read_over:?}")
        };
        assert!(
            error.0.ends_with(&format!(
                "sent an event larger than the {cap} bytes limit (max_event_bytes)"
            )),
            "{error}"
        );
        assert_eq!(read_over.len(), 2);
    }

    proptest::proptest! {
        /// For any deltas, the upstream's SSE (split at any byte) read by the provider,
        /// normalised, framed as chatd frames them and parsed again by a conforming
        /// parser (eventsource-stream), gives back the deltas' text.
        #[test]
        fn any_deltas_survive_parsing_and_framing(
            deltas in proptest::collection::vec(
                proptest::string::string_regex("[a-z \\n\\r\\t:é😀中]{0,6}").unwrap(), 0..20),
            split in 1usize..50,
        ) {
            use eventsource_stream::Eventsource;
            let mut upstream = String::new();
            for delta in &deltas {
                upstream.push_str(&event_without_finish(delta));
            }
            upstream.push_str("data: [DONE]\n\n");
            let pieces = upstream.as_bytes().chunks(split).map(<[u8]>::to_vec).collect();
            let read = read_bytes(pieces, 1 << 20);
            proptest::prop_assert_eq!(read.last(), Some(&end(FinishReason::Stop, None)));
            let mut normalizer = common::sse::LineBreakNormalizer::default();
            let mut framed = String::new();
            let mut sent = String::new();
            for delta in read {
                let Ok(Delta::Text(delta)) = delta else { continue };
                let delta = normalizer.normalize(&delta);
                if !delta.is_empty() {
                    common::sse::push_data_event(&mut framed, &delta);
                    sent.push_str(&delta);
                }
            }
            let expected = deltas.concat().replace("\r\n", "\n").replace('\r', "\n");
            proptest::prop_assert_eq!(&sent, &expected);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let reparsed: Vec<String> = runtime.block_on(async {
                futures_util::stream::iter([Ok::<_, std::io::Error>(framed.into_bytes())])
                    .eventsource()
                    .map(|event| event.map(|e| e.data).unwrap_or_default())
                    .collect()
                    .await
            });
            proptest::prop_assert_eq!(reparsed.concat(), expected);
        }
    }
}
