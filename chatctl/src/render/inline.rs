//! Styled runs of text and their wrapping into lines of a given width. Widths are
//! measured in terminal columns (a CJK character takes two), escape codes take none.

use unicode_width::UnicodeWidthStr;

/// How a run of text looks. Without colour, the markers people type (`*`, `**`, `` ` ``,
/// `~~`) stand in for the styles, so the meaning survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
    pub link: bool,
    pub dim: bool,
    pub underline: bool,
    /// An SGR foreground colour (30-37, 90-97).
    pub fg: Option<u8>,
}

impl Style {
    /// The SGR sequence that turns this style on (empty for plain text).
    pub fn sgr(self) -> String {
        let mut codes: Vec<String> = Vec::new();
        if self.bold {
            codes.push("1".into());
        }
        if self.dim {
            codes.push("2".into());
        }
        if self.italic {
            codes.push("3".into());
        }
        if self.underline || self.link {
            codes.push("4".into());
        }
        if self.strike {
            codes.push("9".into());
        }
        match (self.fg, self.code, self.link) {
            (Some(fg), _, _) => codes.push(fg.to_string()),
            (None, true, _) => codes.push("33".into()),
            (None, false, true) => codes.push("34".into()),
            _ => {}
        }
        if codes.is_empty() {
            String::new()
        } else {
            format!("\u{1b}[{}m", codes.join(";"))
        }
    }

    /// The markers around a run in this style when there is no colour.
    fn markers(self) -> &'static str {
        match (self.code, self.bold, self.italic, self.strike) {
            (true, ..) => "`",
            (false, true, true, _) => "***",
            (false, true, false, _) => "**",
            (false, false, true, _) => "*",
            (false, false, false, true) => "~~",
            _ => "",
        }
    }
}

pub const RESET: &str = "\u{1b}[0m";

/// Text in one style; a line break is a span of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
    pub line_break: bool,
}

impl Span {
    pub fn new(text: &str, style: Style) -> Span {
        Span {
            text: text.to_string(),
            style,
            line_break: false,
        }
    }

    pub fn line_break() -> Span {
        Span {
            text: String::new(),
            style: Style::default(),
            line_break: true,
        }
    }
}

pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` in `style`: with its escape codes, or with its markers when colour is off.
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if text.is_empty() {
        return String::new();
    }
    if color {
        let on = style.sgr();
        if on.is_empty() {
            text.to_string()
        } else {
            format!("{on}{text}{RESET}")
        }
    } else {
        let marks = style.markers();
        format!("{marks}{text}{marks}")
    }
}

/// One piece of a word: text that shares a style.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    style: Style,
}

/// `spans` as lines at most `max` columns wide (a word wider than that is cut), each
/// line painted. Without colour the style markers are part of the text and counted.
pub fn wrap(spans: &[Span], max: usize, color: bool) -> Vec<String> {
    let max = max.max(1);
    // Without colour, a run's markers go around the whole run, so runs are painted
    // before they are cut into words.
    let mut words: Vec<Vec<Piece>> = Vec::new();
    let mut breaks: Vec<usize> = Vec::new();
    let mut word: Vec<Piece> = Vec::new();
    for span in merged(spans) {
        if span.line_break {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            breaks.push(words.len());
            continue;
        }
        let text = if color {
            span.text.clone()
        } else {
            paint(&span.text, span.style, false)
        };
        for (i, part) in text.split(' ').enumerate() {
            if i > 0 && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if !part.is_empty() {
                word.push(Piece {
                    text: part.to_string(),
                    style: span.style,
                });
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }

    let mut lines = Vec::new();
    let mut line: Vec<Piece> = Vec::new();
    let mut used = 0;
    let mut next_break = breaks.iter().peekable();
    let mut flush = |line: &mut Vec<Piece>| lines.push(painted(std::mem::take(line), color));
    for (index, word) in words.iter().enumerate() {
        while next_break.next_if(|&&at| at == index).is_some() {
            flush(&mut line);
            used = 0;
        }
        let word_width: usize = word.iter().map(|p| width(&p.text)).sum();
        if used > 0 && used + 1 + word_width > max {
            flush(&mut line);
            used = 0;
        }
        if used > 0 {
            // A space inside a run (a link's words) keeps the run's style.
            let before = line.last().map(|p| p.style);
            let after = word.first().map(|p| p.style);
            let style = if before == after {
                before.unwrap_or_default()
            } else {
                Style::default()
            };
            line.push(Piece {
                text: " ".into(),
                style,
            });
            used += 1;
        }
        for piece in word {
            for chunk in cut(&piece.text, max, &mut used) {
                match chunk {
                    Some(text) => line.push(Piece {
                        text,
                        style: piece.style,
                    }),
                    None => flush(&mut line),
                }
            }
        }
    }
    for _ in next_break {
        flush(&mut line);
    }
    if !line.is_empty() {
        flush(&mut line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// One line's pieces painted, neighbours of one style as one run. Without colour the
/// markers are already in the text.
fn painted(pieces: Vec<Piece>, color: bool) -> String {
    if !color {
        return pieces.into_iter().map(|p| p.text).collect();
    }
    let mut runs: Vec<Piece> = Vec::new();
    for piece in pieces {
        match runs.last_mut() {
            Some(last) if last.style == piece.style => last.text.push_str(&piece.text),
            _ => runs.push(piece),
        }
    }
    runs.iter()
        .map(|run| paint(&run.text, run.style, true))
        .collect()
}

/// `text` cut so that no line passes `max` columns, given `used` columns already taken:
/// `Some(chunk)` to print, `None` for "start a new line".
fn cut(text: &str, max: usize, used: &mut usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if *used + w > max && *used > 0 {
            if !chunk.is_empty() {
                out.push(Some(std::mem::take(&mut chunk)));
            }
            out.push(None);
            *used = 0;
        }
        chunk.push(c);
        *used += w;
    }
    if !chunk.is_empty() {
        out.push(Some(chunk));
    }
    out
}

/// Neighbouring spans of one style as one (so markers go around whole runs).
fn merged(spans: &[Span]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for span in spans {
        match out.last_mut() {
            Some(last) if !last.line_break && !span.line_break && last.style == span.style => {
                last.text.push_str(&span.text);
            }
            _ => out.push(span.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(parts: &[(&str, Style)]) -> Vec<Span> {
        parts.iter().map(|(t, s)| Span::new(t, *s)).collect()
    }

    #[test]
    fn words_wrap_at_the_width() {
        let text = spans(&[("the quick brown fox jumps", Style::default())]);
        assert_eq!(wrap(&text, 10, false), ["the quick", "brown fox", "jumps"]);
        assert_eq!(
            wrap(&text, 4, false),
            ["the", "quic", "k", "brow", "n", "fox", "jump", "s"]
        );
    }

    #[test]
    fn styles_are_markers_without_colour_and_codes_with_it() {
        let bold = Style {
            bold: true,
            ..Style::default()
        };
        let text = spans(&[
            ("a ", Style::default()),
            ("big deal", bold),
            (".", Style::default()),
        ]);
        assert_eq!(wrap(&text, 80, false), ["a **big deal**."]);
        assert_eq!(wrap(&text, 80, true), ["a \u{1b}[1mbig deal\u{1b}[0m."]);
    }

    #[test]
    fn wide_characters_count_twice() {
        let text = spans(&[("漢字 漢字", Style::default())]);
        assert_eq!(wrap(&text, 4, false), ["漢字", "漢字"]);
    }
}
