//! The search query syntax: words (all must match), `"exact phrase"`, `-word` and
//! `-"phrase"` (must not match), `role:user` / `role:assistant`, `before:DATE` and
//! `after:DATE` (`YYYY-MM-DD` or RFC 3339). Anything else is plain words: an operator
//! whose value is not understood (`role:admin`, `before:soon`) is searched for as the
//! word it is.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use common::Role;

/// Terms a query may hold; more are refused (they would only make a slower query).
pub const MAX_TERMS: usize = 16;

/// One thing to find (or to exclude): a word or a phrase, literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    /// Written in quotes: its words next to each other, in order.
    pub phrase: bool,
}

impl Term {
    /// Its length in characters: SQLite's trigram index needs three.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }

    /// Whether it holds a character of a script written without spaces between words,
    /// which a word index cannot split into the words a person searches for.
    pub fn is_unspaced(&self) -> bool {
        self.text.chars().any(is_unspaced_script)
    }
}

/// A query as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Every one must match.
    pub terms: Vec<Term>,
    /// None may match.
    pub excluded: Vec<Term>,
    pub role: Option<Role>,
    /// Messages created before this instant.
    pub before: Option<NaiveDateTime>,
    /// Messages created at or after this instant.
    pub after: Option<NaiveDateTime>,
}

impl Query {
    /// Reads a query; never fails: what is not syntax is text.
    pub fn parse(text: &str) -> Query {
        let mut query = Query::default();
        for token in tokens(text) {
            query.add(token);
        }
        query
    }

    fn add(&mut self, token: Token) {
        match token {
            Token::Phrase { text, negated } => self.push_term(text, true, negated),
            Token::Word { text, negated } => {
                if !negated && self.operator(&text) {
                    return;
                }
                let trimmed = text.trim_matches(|c: char| !c.is_alphanumeric());
                self.push_term(trimmed.to_string(), false, negated);
            }
        }
    }

    /// Takes `role:`, `before:` and `after:` with a value it understands.
    fn operator(&mut self, word: &str) -> bool {
        let Some((name, value)) = word.split_once(':') else {
            return false;
        };
        match name.to_ascii_lowercase().as_str() {
            "role" => match value.to_ascii_lowercase().as_str() {
                "user" => self.role = Some(Role::User),
                "assistant" => self.role = Some(Role::Assistant),
                _ => return false,
            },
            "before" => match instant(value) {
                Some(at) => self.before = Some(at),
                None => return false,
            },
            "after" => match instant(value) {
                Some(at) => self.after = Some(at),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    fn push_term(&mut self, text: String, phrase: bool, negated: bool) {
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // A term without a letter or a digit matches nothing a word index holds.
        if !text.chars().any(char::is_alphanumeric) {
            return;
        }
        let term = Term { text, phrase };
        let list = if negated {
            &mut self.excluded
        } else {
            &mut self.terms
        };
        if !list.contains(&term) {
            list.push(term);
        }
    }

    /// Terms and exclusions together, to bound a query's cost.
    pub fn term_count(&self) -> usize {
        self.terms.len() + self.excluded.len()
    }
}

/// `YYYY-MM-DD` (the start of that day, UTC) or an RFC 3339 date and time: `after:` of
/// a day takes that day in, `before:` of a day ends before it.
fn instant(value: &str) -> Option<NaiveDateTime> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return day.and_hms_opt(0, 0, 0);
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|at| at.naive_utc())
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word { text: String, negated: bool },
    Phrase { text: String, negated: bool },
}

/// Splits on whitespace, keeping `"…"` together (an unclosed quote runs to the end).
fn tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().filter(|c| *c != '\0').peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            match chars.peek() {
                Some(next) if !next.is_whitespace() && *next != '-' => negated = true,
                _ => continue,
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let text: String = chars.by_ref().take_while(|c| *c != '"').collect();
            tokens.push(Token::Phrase { text, negated });
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push(Token::Word {
            text: word,
            negated,
        });
    }
    tokens
}

/// Han, kana, Thai, Lao, Khmer, Myanmar and Tibetan: scripts whose words are written
/// without spaces between them.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x0F00..=0x0FFF    // Tibetan
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x3134F) // CJK Extensions B to G
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Term {
        Term {
            text: text.into(),
            phrase: false,
        }
    }

    #[test]
    fn words_phrases_exclusions_and_operators() {
        let query = Query::parse(
            r#"rust  "borrow checker" -python -"bad idea" role:Assistant after:2026-01-02 before:2026-02-01T00:00:00+01:00"#,
        );
        assert_eq!(
            query.terms,
            vec![
                word("rust"),
                Term {
                    text: "borrow checker".into(),
                    phrase: true
                }
            ]
        );
        assert_eq!(
            query.excluded,
            vec![
                word("python"),
                Term {
                    text: "bad idea".into(),
                    phrase: true
                }
            ]
        );
        assert_eq!(query.role, Some(Role::Assistant));
        assert_eq!(
            query.after.map(|t| t.to_string()).as_deref(),
            Some("2026-01-02 00:00:00")
        );
        assert_eq!(
            query.before.map(|t| t.to_string()).as_deref(),
            Some("2026-01-31 23:00:00")
        );
    }

    #[test]
    fn unknown_operators_and_syntax_are_plain_words() {
        let query = Query::parse(r#"role:admin before:soon NEAR(a* b) x:y &|! "open"#);
        let texts: Vec<&str> = query.terms.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            ["role:admin", "before:soon", "NEAR(a", "b", "x:y", "open"]
        );
        assert!(query.terms[5].phrase);
        assert!(query.role.is_none() && query.before.is_none());
    }

    #[test]
    fn lone_dashes_and_empty_quotes_are_nothing() {
        let query = Query::parse(r#"- -- "" -"" *"#);
        assert_eq!(query, Query::default());
    }

    #[test]
    fn unspaced_scripts_are_told_apart() {
        assert!(word("数据库").is_unspaced());
        assert!(word("カタカナ").is_unspaced());
        assert!(!word("한국어").is_unspaced());
        assert!(!word("données").is_unspaced());
    }
}
