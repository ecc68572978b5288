//! Reading chatd's event streams as a spec-conforming client does.

use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::WAIT;

/// One event as a spec-conforming parser reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Reads a whole SSE response with eventsource-stream, which follows the WHATWG spec.
pub async fn read_events(response: reqwest::Response) -> Vec<SseEvent> {
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("stream ended in time")
        {
            None => return events,
            Some(Ok(event)) => events.push(SseEvent {
                event: event.event,
                data: event.data,
            }),
            Some(Err(e)) => panic!("bad event stream: {e}"),
        }
    }
}

/// Like `read_events`, but reads the whole body first and parses it in one piece: a
/// multi-megabyte line then costs one scan, where eventsource-stream rescans its buffer
/// on every chunk that does not end the line.
pub async fn read_events_at_once(response: reqwest::Response) -> Vec<SseEvent> {
    let body = tokio::time::timeout(WAIT, response.bytes())
        .await
        .expect("body read in time")
        .expect("read body");
    futures_util::stream::iter([Ok::<_, std::io::Error>(body)])
        .eventsource()
        .map(|event| {
            let event = event.expect("a valid event stream");
            SseEvent {
                event: event.event,
                data: event.data,
            }
        })
        .collect()
        .await
}

/// The concatenated data of the default (`message`) events: the reply text.
pub fn reply_text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| e.data.as_str())
        .collect()
}

/// The `end` event of a `?events=true` stream, parsed; it must be the last event.
pub fn end_event(events: &[SseEvent]) -> serde_json::Value {
    let end = events.last().expect("an end event");
    assert_eq!(end.event, "end", "the stream ends with its end event");
    serde_json::from_str(&end.data).expect("the end event is JSON")
}
