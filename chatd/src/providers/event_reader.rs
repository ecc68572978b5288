//! A reader of server-sent events (the WHATWG `text/event-stream` format) that looks at
//! every byte once, however the stream is split, and refuses an event past a size cap.
//! A provider that sends one endless line therefore costs chatd the cap in memory and
//! time linear in what it sent, not a rescan of everything on each new chunk.
//!
//! Only what chatd reads is kept: the `data` of each event. `event`, `id` and `retry`
//! fields and comments are parsed and ignored, as the format allows.

/// The bytes of the UTF-8 byte order mark, which the format skips at the stream's start.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The line buffer kept between lines at the most; a larger one is freed once its line
/// is read, so one huge event does not hold its memory for the rest of the stream.
const KEPT_LINE_CAPACITY: usize = 64 << 10;

/// Why the stream cannot be read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// One event came to more than the cap (given in bytes).
    EventTooLarge(usize),
}

/// Reads events from a byte stream fed in pieces of any size.
#[derive(Debug)]
pub struct EventReader {
    max_event_bytes: usize,
    /// The line being read, when a piece ended inside it.
    line: Vec<u8>,
    /// The bytes of the current event's lines so far, line breaks not counted.
    event_bytes: usize,
    /// The current event's data: each `data` value followed by `\n`.
    data: String,
    /// A piece ended in CR, so an LF opening the next one completes that line break.
    after_cr: bool,
    /// The first line is read (and its byte order mark, if any, dropped).
    started: bool,
}

impl EventReader {
    /// A reader that refuses any event whose lines (without their line breaks) come to
    /// more than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        EventReader {
            max_event_bytes,
            line: Vec::new(),
            event_bytes: 0,
            data: String::new(),
            after_cr: false,
            started: false,
        }
    }

    /// Reads the next piece of the stream and appends the data of every event it
    /// completes to `events`. After an error the reader must not be fed again.
    pub fn feed(
        &mut self,
        mut piece: &[u8],
        events: &mut impl Extend<String>,
    ) -> Result<(), ReadError> {
        if self.after_cr && !piece.is_empty() {
            self.after_cr = false;
            if piece[0] == b'\n' {
                piece = &piece[1..];
            }
        }
        while let Some(end) = piece.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.check_size(end)?;
            if self.line.is_empty() {
                self.take_line(&piece[..end], events);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&piece[..end]);
                self.take_line(&line, events);
                // Keep the buffer for the next line, unless one huge line grew it.
                if line.capacity() <= KEPT_LINE_CAPACITY {
                    line.clear();
                    self.line = line;
                }
            }
            let mut next = end + 1;
            if piece[end] == b'\r' {
                match piece.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            piece = &piece[next..];
        }
        self.check_size(piece.len())?;
        self.line.extend_from_slice(piece);
        Ok(())
    }

    /// Fails when `more` bytes on the current line would take the event past the cap.
    fn check_size(&self, more: usize) -> Result<(), ReadError> {
        let total = self
            .event_bytes
            .saturating_add(self.line.len())
            .saturating_add(more);
        if total > self.max_event_bytes {
            return Err(ReadError::EventTooLarge(self.max_event_bytes));
        }
        Ok(())
    }

    /// Interprets one complete line (without its line break).
    fn take_line(&mut self, mut line: &[u8], events: &mut impl Extend<String>) {
        if !self.started {
            self.started = true;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            // A blank line ends the event; one without data is not dispatched.
            self.event_bytes = 0;
            if !self.data.is_empty() {
                let mut data = std::mem::take(&mut self.data);
                data.pop();
                events.extend(std::iter::once(data));
            }
            return;
        }
        self.event_bytes += line.len();
        if line[0] == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if name == b"data" {
            // Line breaks and the bytes around a field are ASCII, so a line never splits
            // a UTF-8 sequence, and decoding line by line equals decoding the stream,
            // with U+FFFD for bytes that are not UTF-8, as the format says.
            self.data.push_str(&String::from_utf8_lossy(value));
            self.data.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of `stream` read in pieces of `split` bytes.
    fn read_split(stream: &[u8], split: usize, cap: usize) -> Result<Vec<String>, ReadError> {
        let mut reader = EventReader::new(cap);
        let mut events = Vec::new();
        for piece in stream.chunks(split.max(1)) {
            reader.feed(piece, &mut events)?;
        }
        Ok(events)
    }

    /// The events of `stream`, checked to be the same for every way of splitting it in
    /// two and for every piece size.
    fn read(stream: &str) -> Vec<String> {
        let bytes = stream.as_bytes();
        let whole = read_split(bytes, bytes.len(), usize::MAX).unwrap();
        for at in 0..=bytes.len() {
            let mut reader = EventReader::new(usize::MAX);
            let mut events = Vec::new();
            reader.feed(&bytes[..at], &mut events).unwrap();
            reader.feed(&[], &mut events).unwrap();
            reader.feed(&bytes[at..], &mut events).unwrap();
            assert_eq!(events, whole, "{stream:?} split at {at}");
        }
        for split in 1..=bytes.len() {
            assert_eq!(
                read_split(bytes, split, usize::MAX).unwrap(),
                whole,
                "{stream:?} in pieces of {split}"
            );
        }
        whole
    }

    #[test]
    fn every_line_break_ends_a_line() {
        for stream in [
            "data: a\n\ndata: b\n\n",
            "data: a\r\n\r\ndata: b\r\n\r\n",
            "data: a\r\rdata: b\r\r",
            "data: a\r\n\rdata: b\n\r\n",
        ] {
            assert_eq!(read(stream), ["a", "b"], "{stream:?}");
        }
        // CR then LF is one line break, not a line break and a blank line.
        assert_eq!(read("data: a\r\ndata: b\r\n\r\n"), ["a\nb"]);
        assert_eq!(read("data: a\n\rdata: b\n\n"), ["a", "b"]);
    }

    #[test]
    fn data_lines_join_with_line_feeds_and_other_fields_are_ignored() {
        assert_eq!(
            read(
                ": keep-alive\nevent: delta\nid: 7\nretry: 10\ndata: one\ndata:two\ndata:  three\ndata\ndata:\n\n"
            ),
            ["one\ntwo\n three\n\n"]
        );
        // Events without data are not dispatched; an event cut off by the end is lost.
        assert_eq!(
            read("event: ping\n\n: only a comment\n\ndata: last"),
            Vec::<String>::new()
        );
        assert_eq!(read("data\n\n"), [""]);
        assert_eq!(read("data: a:b: c\n\n"), ["a:b: c"]);
        assert_eq!(read("dat: x\ndata : y\n\n"), Vec::<String>::new());
    }

    #[test]
    fn a_byte_order_mark_is_skipped_only_at_the_start() {
        assert_eq!(read("\u{FEFF}data: a\n\n"), ["a"]);
        assert_eq!(read("\u{FEFF}\ndata: a\n\n"), ["a"]);
        assert_eq!(
            read("data: a\n\n\u{FEFF}data: b\n\ndata: \u{FEFF}c\n\n"),
            ["a", "\u{FEFF}c"]
        );
    }

    #[test]
    fn text_survives_any_split_and_bad_bytes_become_replacement_characters() {
        assert_eq!(read("data: 你好 😀\n\n"), ["你好 😀"]);
        let mut reader = EventReader::new(usize::MAX);
        let mut events = Vec::new();
        reader.feed(b"data: a\xFFb\n\n", &mut events).unwrap();
        assert_eq!(events, ["a\u{FFFD}b"]);
    }

    #[test]
    fn an_event_up_to_the_cap_is_read_and_one_byte_more_is_refused() {
        let line = format!("data: {}", "x".repeat(100));
        let cap = line.len();
        for split in [1, 7, cap, cap + 10] {
            let stream = format!("{line}\r\n\r\n{line}\n\n");
            assert_eq!(
                read_split(stream.as_bytes(), split, cap).unwrap().len(),
                2,
                "the cap holds per event; split {split}"
            );
            let over = format!("{line}x\n\n");
            assert_eq!(
                read_split(over.as_bytes(), split, cap),
                Err(ReadError::EventTooLarge(cap)),
                "split {split}"
            );
        }
        // Every line of the event counts, comments included, line breaks not.
        let half = "x".repeat(cap / 2);
        let stream = format!(":{half}\ndata: {half}\n\n");
        assert_eq!(
            read_split(stream.as_bytes(), 3, cap),
            Err(ReadError::EventTooLarge(cap))
        );
    }

    #[test]
    fn an_endless_line_is_refused_once_it_passes_the_cap_without_being_kept() {
        let mut reader = EventReader::new(1000);
        let mut events = Vec::new();
        reader.feed(b"data: ", &mut events).unwrap();
        let piece = [b'x'; 100];
        let mut fed = 6;
        let refused = loop {
            match reader.feed(&piece, &mut events) {
                Ok(()) => fed += piece.len(),
                Err(error) => break error,
            }
            assert!(fed <= 1000, "refused by the time the cap is passed");
        };
        assert_eq!(refused, ReadError::EventTooLarge(1000));
        assert!(reader.line.len() <= 1000);
        assert!(events.is_empty());
    }

    proptest::proptest! {
        /// For streams built of arbitrary fields, comments, blank lines and line breaks,
        /// read in arbitrary pieces, the data equals that of eventsource-stream, an
        /// independent implementation of the same specification, read in one piece.
        #[test]
        fn reads_as_an_independent_parser_does(
            lines in proptest::collection::vec(
                (
                    proptest::string::string_regex("(data|event|id|:|x|)").unwrap(),
                    proptest::string::string_regex("(:| |: )?[a-z é😀:]{0,5}").unwrap(),
                    proptest::sample::select(vec!["\n", "\r", "\r\n"]),
                ),
                0..30,
            ),
            split in 1usize..20,
        ) {
            use eventsource_stream::Eventsource;
            use futures_util::StreamExt;
            let mut stream = String::new();
            for (name, rest, end) in &lines {
                stream.push_str(name);
                stream.push_str(rest);
                stream.push_str(end);
            }
            // Both must see the last line end: eventsource-stream waits for the byte
            // after a CR before it takes the line.
            stream.push_str("\n\n");
            let ours = read_split(stream.as_bytes(), split, usize::MAX).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let theirs: Vec<String> = runtime.block_on(async {
                futures_util::stream::iter([Ok::<_, std::io::Error>(stream.clone().into_bytes())])
                    .eventsource()
                    .map(|event| event.unwrap().data)
                    .collect()
                    .await
            });
            proptest::prop_assert_eq!(ours, theirs, "{:?}", stream);
        }
    }
}
