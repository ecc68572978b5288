//! Server-Sent-Events framing as the contract fixes it: `data: <content>\n\n`, with one
//! space after the colon so that a conforming parser keeps a token's own leading space
//! (` sky` arrives as ` sky`), and one `data:` line per line of content so that the
//! concatenated event data equals the stored reply exactly.
//!
//! Content must use `\n` line breaks only: a lone `\r` would be read as a line break by
//! a conforming parser. chatd normalises provider text before it frames or stores it.

/// Appends the frame of one default (unnamed) event carrying `content` to `out`.
///
/// `content` must not be empty: an empty event would be dispatched as an empty string by
/// some parsers and dropped by others, so the contract sends none.
pub fn push_data_event(out: &mut String, content: &str) {
    push_lines(out, content);
    out.push('\n');
}

/// Appends the frame of one named event (`event: NAME`) carrying `data` to `out`.
pub fn push_named_event(out: &mut String, name: &str, data: &str) {
    out.push_str("event: ");
    out.push_str(name);
    out.push('\n');
    push_lines(out, data);
    out.push('\n');
}

/// Appends the `id:` field of the event pushed next (ids carry no line break).
pub fn push_event_id(out: &mut String, id: &str) {
    out.push_str("id: ");
    out.push_str(id);
    out.push('\n');
}

/// The frame of one default event, as a new string.
pub fn data_event(content: &str) -> String {
    let mut out = String::with_capacity(content.len() + 8);
    push_data_event(&mut out, content);
    out
}

fn push_lines(out: &mut String, content: &str) {
    for line in content.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
}

/// Turns `\r\n` and lone `\r` into `\n` across a sequence of deltas, remembering a `\r`
/// that ended the previous delta so that a `\r\n` split over two deltas still becomes
/// one line break.
#[derive(Debug, Default)]
pub struct LineBreakNormalizer {
    last_was_cr: bool,
}

impl LineBreakNormalizer {
    /// [`normalize`](Self::normalize) for an owned delta, given back as it is when it
    /// has nothing to change (no CR in it, none before it): the usual token is not
    /// copied.
    pub fn normalize_owned(&mut self, delta: String) -> String {
        if !self.last_was_cr && !delta.contains('\r') {
            return delta;
        }
        self.normalize(&delta)
    }

    pub fn normalize(&mut self, delta: &str) -> String {
        let mut out = String::with_capacity(delta.len());
        for ch in delta.chars() {
            match ch {
                '\r' => {
                    out.push('\n');
                    self.last_was_cr = true;
                }
                '\n' if self.last_was_cr => self.last_was_cr = false,
                other => {
                    out.push(other);
                    self.last_was_cr = false;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data of every event in `stream`, parsed as the WHATWG spec says (only the
    /// `data` field; one optional space after the colon is removed; lines joined by `\n`).
    fn parse_spec(stream: &str) -> Vec<String> {
        let mut events = Vec::new();
        let mut data: Option<String> = None;
        for line in stream.split('\n') {
            if line.is_empty() {
                if let Some(mut buffer) = data.take() {
                    buffer.pop();
                    events.push(buffer);
                }
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            if field == "data" {
                let buffer = data.get_or_insert_with(String::new);
                buffer.push_str(value);
                buffer.push('\n');
            }
        }
        events
    }

    #[test]
    fn leading_space_survives_a_conforming_parser() {
        assert_eq!(data_event(" sky"), "data:  sky\n\n");
        assert_eq!(parse_spec(&data_event(" sky")), vec![" sky"]);
    }

    #[test]
    fn the_contract_example_is_framed_byte_for_byte() {
        let mut out = String::new();
        for token in ["The", " sky", " is"] {
            push_data_event(&mut out, token);
        }
        assert_eq!(out, "data: The\n\ndata:  sky\n\ndata:  is\n\n");
    }

    #[test]
    fn multi_line_content_reassembles_exactly() {
        let deltas = ["line one\n", "\n", "  indented\nlast", "\n", "😀 中文"];
        let mut stream = String::new();
        for delta in deltas {
            push_data_event(&mut stream, delta);
        }
        let parsed = parse_spec(&stream);
        assert_eq!(parsed, deltas);
        assert_eq!(parsed.concat(), deltas.concat());
    }

    #[test]
    fn named_events_carry_their_name() {
        let mut out = String::new();
        push_named_event(&mut out, "end", "{\"status\":\"complete\"}");
        assert_eq!(out, "event: end\ndata: {\"status\":\"complete\"}\n\n");
    }

    #[test]
    fn carriage_returns_become_newlines_even_across_deltas() {
        let mut normalizer = LineBreakNormalizer::default();
        let out: Vec<String> = ["a\r", "\nb", "\r\r\n", "c\rd"]
            .iter()
            .map(|d| normalizer.normalize(d))
            .collect();
        assert_eq!(out.concat(), "a\nb\n\nc\nd");
        assert_eq!(out[1], "b");
    }
}
