//! The renderer against committed snapshots (`snapshots/`, escape codes shown as `␛`;
//! `CHATCTL_UPDATE_SNAPSHOTS=1` rewrites them), and the streaming renderer against the
//! whole-text one for every way of cutting a reply.

use std::path::PathBuf;

use proptest::prelude::*;

use super::{Options, Stream, render};

/// A reply with every element the renderer knows.
const SAMPLE: &str = include_str!("sample.md");

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/render/snapshots")
        .join(format!("{name}.txt"))
}

#[track_caller]
fn assert_snapshot(name: &str, rendered: &str) {
    let shown = rendered.replace('\u{1b}', "␛");
    let path = snapshot_path(name);
    if std::env::var_os("CHATCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &shown).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("no snapshot {} ({err})", path.display()));
    assert!(
        expected == shown,
        "{name} differs from {}:\n{shown}",
        path.display()
    );
}

#[test]
fn every_element_at_80_and_40_columns_with_and_without_colour() {
    for width in [80, 40] {
        for color in [true, false] {
            let rendered = render(SAMPLE, Options::new(width, color));
            let name = format!(
                "sample-{width}-{}",
                if color { "color" } else { "no-color" }
            );
            assert_snapshot(&name, &rendered);
            if !color {
                assert!(!rendered.contains('\u{1b}'), "{name} has escape codes");
            }
            for line in rendered.lines() {
                let shown = super::layout::strip_escapes(line);
                let in_code = line.starts_with("    ") || shown.contains("println");
                assert!(
                    in_code || super::inline::width(&shown) <= width,
                    "{name}: a line wider than {width}: {shown:?}"
                );
            }
        }
    }
}

fn streamed(pieces: &[&str], options: Options) -> String {
    let mut stream = Stream::new();
    let mut out = String::new();
    for piece in pieces {
        out.push_str(&stream.push(piece, options));
    }
    out.push_str(&stream.finish(options));
    out
}

#[test]
fn the_sample_cut_at_every_byte_streams_as_the_whole() {
    for color in [false, true] {
        let options = Options::new(60, color);
        let whole = render(SAMPLE, options);
        for at in (0..=SAMPLE.len()).filter(|at| SAMPLE.is_char_boundary(*at)) {
            let (a, b) = SAMPLE.split_at(at);
            assert_eq!(streamed(&[a, b], options), whole, "cut at byte {at}");
        }
    }
}

#[test]
fn blocks_show_as_soon_as_they_are_complete() {
    let options = Options::new(80, false);
    let mut stream = Stream::new();
    assert_eq!(stream.push("# Title\nSome ", options), "# Title\n");
    assert_eq!(stream.push("text\n", options), "");
    assert_eq!(stream.push("\n", options), "\nSome text\n");
    assert_eq!(stream.push("```sh\nls\n", options), "");
    assert_eq!(stream.push("```\n", options), "\n```sh\nls\n```\n");
    assert_eq!(stream.push("- a\n", options), "");
    assert_eq!(stream.finish(options), "\n• a\n");
}

#[test]
fn each_block_takes_the_width_of_the_moment_it_completes() {
    let words = "one two three four five six seven eight nine ten eleven twelve";
    let mut stream = Stream::new();
    let wide = stream.push(&format!("{words}\n\n"), Options::new(80, false));
    assert_eq!(wide, format!("{words}\n"));
    // The terminal got narrower: the next block follows, the first stays as it was.
    let narrow = stream.push(&format!("{words}\n\n"), Options::new(30, false));
    assert_eq!(
        narrow,
        "\none two three four five six\nseven eight nine ten eleven\ntwelve\n"
    );
}

/// `text` in pieces, cut at the offsets of `cuts` (taken modulo its length) that fall
/// between characters.
fn cut_at(text: &str, cuts: Vec<usize>) -> Vec<&str> {
    let mut cuts: Vec<usize> = cuts
        .into_iter()
        .map(|at| at % (text.len() + 1))
        .filter(|at| text.is_char_boundary(*at))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for at in cuts {
        pieces.push(&text[from..at]);
        from = at;
    }
    pieces.push(&text[from..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_reply_in_random_pieces_streams_as_the_whole(
        cuts in proptest::collection::vec(0..SAMPLE.len(), 0..40),
        width in 20usize..120,
    ) {
        let pieces = cut_at(SAMPLE, cuts);
        let options = Options::new(width, true);
        prop_assert_eq!(streamed(&pieces, options), render(SAMPLE, options));
    }

    /// Replies made of lines that open and close every kind of block, in any order.
    #[test]
    fn any_mix_of_blocks_streams_as_the_whole(
        lines in proptest::collection::vec(proptest::sample::select(LINES), 0..30),
        cuts in proptest::collection::vec(0usize..2000, 0..20),
    ) {
        let text = lines.join("\n");
        let pieces = cut_at(&text, cuts);
        let options = Options::new(40, false);
        prop_assert_eq!(streamed(&pieces, options), render(&text, options));
    }
}

/// Lines for the mixed replies: openers, closers, continuations and blank lines of
/// every block the renderer knows.
const LINES: &[&str] = &[
    "",
    "   ",
    "plain words here",
    "# heading",
    "Setext",
    "===",
    "---",
    "- item",
    "  - nested",
    "1. first",
    "2) second",
    "  continued",
    "    indented code",
    "> quote",
    ">",
    "> > deeper",
    "```",
    "```rust",
    "~~~",
    "fn x() {}",
    "| a | b |",
    "| --- | :-: |",
    "| 1 | 2 |",
    "<div>",
    "</div>",
    "*em* **strong** `code` [link](http://x)",
    "- [ ] task",
    "line with break  ",
];
