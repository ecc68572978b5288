//! Syntax highlighting of code blocks with syntect's bundled syntaxes and themes,
//! loaded once and only when a coloured code block is first shown (loading them costs
//! tens of milliseconds, which a reply without code never pays).

use std::sync::OnceLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;
use syntect::util::{LinesWithEndings, as_24_bit_terminal_escaped};

use super::inline::RESET;

/// The bundled theme used for code; dark, as most terminals are.
const THEME: &str = "base16-ocean.dark";

struct Assets {
    syntaxes: SyntaxSet,
    theme: Option<Theme>,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets {
        syntaxes: SyntaxSet::load_defaults_newlines(),
        theme: ThemeSet::load_defaults().themes.remove(THEME),
    })
}

/// The lines of `text`, highlighted as `lang` when colour is on and the language is
/// known; as they are otherwise.
pub fn code(lang: &str, text: &str, color: bool) -> Vec<String> {
    let plain = || text.lines().map(str::to_string).collect();
    if !color || lang.is_empty() {
        return plain();
    }
    let assets = assets();
    let (Some(syntax), Some(theme)) = (assets.syntaxes.find_syntax_by_token(lang), &assets.theme)
    else {
        return plain();
    };
    let mut highlighter = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in LinesWithEndings::from(text) {
        match highlighter.highlight_line(line, &assets.syntaxes) {
            Ok(ranges) => {
                let painted = as_24_bit_terminal_escaped(&ranges, false);
                out.push(format!("{}{RESET}", painted.trim_end_matches(['\n', '\r'])));
            }
            Err(_) => out.push(line.trim_end_matches(['\n', '\r']).to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_are_coloured_and_others_are_plain() {
        for token in [
            "rust", "rs", "py", "js", "sh", "json", "yaml", "c", "go", "sql",
        ] {
            assert!(
                assets().syntaxes.find_syntax_by_token(token).is_some(),
                "no syntax for ```{token}"
            );
        }
        let lines = code("rust", "let x = 1;\nx\n", true);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\u{1b}[38;2;"), "{lines:?}");
        assert_eq!(code("nosuchlang", "a\nb\n", true), ["a", "b"]);
        assert_eq!(code("rust", "let x = 1;\n", false), ["let x = 1;"]);
    }
}
