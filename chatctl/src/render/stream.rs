//! Rendering a reply while it streams: text is held until a top-level block is known
//! to be complete, then that block is rendered once. What [`Stream`] prints for a reply
//! in any number of pieces is what [`super::render`] gives for the whole.
//!
//! Markdown decides block structure line by line, never looking ahead past a line, so
//! once a complete line starts another top-level block, every block before it is
//! final. Only complete lines are parsed. The last block is also final, without
//! waiting for the next one, when nothing can continue it: a heading or a rule, a
//! closed code fence, or a paragraph, quote or table followed by an empty line.

use std::ops::Range;

use super::tree::{self, Block};
use super::{Options, push_block};

#[derive(Debug, Default)]
pub struct Stream {
    /// Text not rendered yet: the open block and any partial line.
    pending: String,
    /// Whether a block has been printed (so the next one comes after an empty line).
    printed: bool,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Takes the next piece of the reply; returns what can be printed now (often
    /// nothing). `options` may change between calls (the terminal was resized): each
    /// block is laid out with the options of the call that completes it.
    pub fn push(&mut self, delta: &str, options: Options) -> String {
        self.pending.push_str(delta);
        // Only a new line break can complete anything.
        if !delta.contains('\n') {
            return String::new();
        }
        let Some(last_break) = self.pending.rfind('\n') else {
            return String::new();
        };
        let lines = &self.pending[..=last_break];
        let blocks = tree::parse(lines);
        let Some(final_count) = final_blocks(lines, &blocks) else {
            return String::new();
        };
        let mut out = String::new();
        for (_, block) in &blocks[..final_count] {
            push_block(&mut out, self.printed, block, options);
            self.printed = true;
        }
        let cut = match blocks.get(final_count) {
            Some((range, _)) => line_start(lines, range.start),
            None => last_break + 1,
        };
        self.pending.drain(..cut);
        out
    }

    /// Whether text is held back (an open block, or a line not ended yet).
    pub fn is_holding(&self) -> bool {
        !self.pending.trim().is_empty()
    }

    /// The end of the reply: whatever is still held.
    pub fn finish(&mut self, options: Options) -> String {
        let text = std::mem::take(&mut self.pending);
        let mut out = String::new();
        for (_, block) in tree::parse(&text) {
            push_block(&mut out, self.printed, &block, options);
            self.printed = true;
        }
        out
    }
}

/// How many of `blocks` (parsed from `lines`, which end with a line break) are final;
/// `None` when none is.
fn final_blocks(lines: &str, blocks: &[(Range<usize>, Block)]) -> Option<usize> {
    let (last_range, last) = blocks.last()?;
    let count = if last_is_final(lines, last_range, last) {
        blocks.len()
    } else {
        blocks.len() - 1
    };
    (count > 0).then_some(count)
}

fn last_is_final(lines: &str, range: &Range<usize>, block: &Block) -> bool {
    let source = lines.get(range.clone()).unwrap_or("");
    let after = lines.get(range.end..).unwrap_or("");
    match block {
        Block::Heading(..) | Block::Rule => true,
        Block::Code { .. } => fence_is_closed(source),
        Block::Paragraph(_) | Block::Quote(_) | Block::Table(_) => {
            // An empty line after it: the block's own line break, then a line of
            // nothing but spaces.
            let tail = if source.ends_with('\n') {
                after
            } else {
                after.split_once('\n').map_or("", |(_, rest)| rest)
            };
            tail.split_inclusive('\n')
                .any(|line| line.ends_with('\n') && line.trim().is_empty())
        }
        Block::List(_) | Block::Html(_) => false,
    }
}

/// Whether a fenced code block's source ends with its closing fence.
fn fence_is_closed(source: &str) -> bool {
    let mut lines = source.trim_end_matches('\n').lines();
    let Some(opening) = lines.next().map(str::trim_start) else {
        return false;
    };
    let Some(mark) = opening.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return false;
    };
    let length = opening.chars().take_while(|c| *c == mark).count();
    lines.next_back().is_some_and(|closing| {
        let closing = closing.trim();
        closing.chars().all(|c| c == mark) && closing.chars().count() >= length
    })
}

/// The start of the line holding byte `at`.
fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1)
}
