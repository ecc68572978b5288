//! The excerpt shown for a hit and where the query's terms are in it. Done here rather
//! than by FTS5's `snippet()` or PostgreSQL's `ts_headline` so both backends give the
//! same excerpt, and so the highlights are character ranges a client can mark without
//! parsing markup out of the text.

pub use common::archive::Highlight;

use super::Term;

/// Characters of context kept before the first match.
const BEFORE_MATCH: usize = 60;
/// The excerpt's length at most, in characters, ellipses aside.
const SNIPPET_CHARS: usize = 200;
const ELLIPSIS: char = '…';

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Highlight>,
}

/// The excerpt of `content` around the first match of any of `terms`, on one line, with
/// `…` where it was cut, and every match of every term inside it.
pub fn snippet(content: &str, terms: &[Term]) -> Snippet {
    let chars: Vec<char> = content.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| fold(*c)).collect();
    let needles: Vec<Vec<char>> = terms
        .iter()
        .map(|term| term.text.chars().map(fold).collect())
        .filter(|needle: &Vec<char>| !needle.is_empty())
        .collect();
    let first = needles
        .iter()
        .filter_map(|needle| find(&folded, needle, 0))
        .min()
        .unwrap_or(0);
    let mut start = first.saturating_sub(BEFORE_MATCH);
    // Begin at a word when one begins shortly after the cut.
    if start > 0
        && let Some(space) = chars[start..first]
            .iter()
            .take(20)
            .position(|c| c.is_whitespace())
    {
        start += space + 1;
    }
    let end = (start + SNIPPET_CHARS).min(chars.len());
    let mut text = String::new();
    let offset = usize::from(start > 0);
    if start > 0 {
        text.push(ELLIPSIS);
    }
    text.extend(
        chars[start..end]
            .iter()
            .map(|c| if c.is_whitespace() { ' ' } else { *c }),
    );
    if end < chars.len() {
        text.push(ELLIPSIS);
    }
    let window = &folded[start..end];
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for needle in &needles {
        let mut from = 0;
        while let Some(at) = find(window, needle, from) {
            ranges.push((at, at + needle.len()));
            from = at + needle.len();
        }
    }
    ranges.sort_unstable();
    let mut highlights: Vec<Highlight> = Vec::new();
    for (s, e) in ranges {
        match highlights.last_mut() {
            Some(last) if s + offset <= last.end => last.end = last.end.max(e + offset),
            _ => highlights.push(Highlight {
                start: s + offset,
                end: e + offset,
            }),
        }
    }
    Snippet { text, highlights }
}

/// Case folding one character to one character, so positions in the folded text are
/// positions in the original (a character whose lowercase is longer stays as it is).
pub fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`; a phrase's single space
/// matches any run of whitespace only as one character, as stored text rarely differs.
fn find(haystack: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&at| {
        haystack[at..at + needle.len()]
            .iter()
            .zip(needle)
            .all(|(h, n)| h == n || (n.is_whitespace() && h.is_whitespace()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> Vec<Term> {
        words
            .iter()
            .map(|w| Term {
                text: w.to_string(),
                phrase: false,
            })
            .collect()
    }

    fn marked(snippet: &Snippet) -> Vec<String> {
        let chars: Vec<char> = snippet.text.chars().collect();
        snippet
            .highlights
            .iter()
            .map(|h| chars[h.start..h.end].iter().collect())
            .collect()
    }

    #[test]
    fn a_short_message_is_whole_with_every_match_marked() {
        let s = snippet("Rust is fast.\nrust is safe.", &terms(&["rust", "SAFE"]));
        assert_eq!(s.text, "Rust is fast. rust is safe.");
        assert_eq!(marked(&s), ["Rust", "rust", "safe"]);
    }

    #[test]
    fn a_long_message_is_cut_around_the_first_match() {
        let content = format!("{} 数据库 needle {}", "前".repeat(300), "后".repeat(300));
        let s = snippet(&content, &terms(&["needle", "数据"]));
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        assert!(s.text.chars().count() <= SNIPPET_CHARS + 2);
        assert_eq!(marked(&s), ["数据", "needle"]);
    }

    #[test]
    fn overlapping_matches_merge() {
        let s = snippet("abcdef", &terms(&["abcd", "cdef"]));
        assert_eq!(s.highlights, vec![Highlight { start: 0, end: 6 }]);
    }

    #[test]
    fn no_match_gives_the_start() {
        let s = snippet("hello world", &terms(&["zzz"]));
        assert_eq!(s.text, "hello world");
        assert!(s.highlights.is_empty());
    }
}
