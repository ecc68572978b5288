//! Replies shown as Markdown on a terminal: headings, emphasis, lists, tables, links,
//! block quotes and highlighted code, wrapped to the terminal's width.
//!
//! [`render`] is a pure function of the text, the width and whether colour is on, so it
//! is tested without a terminal. [`Stream`] renders a reply while it arrives: each
//! top-level block is printed once, as soon as it is complete, and never re-printed;
//! the block still open is held back until it closes (or the reply ends). Nothing is
//! ever erased or redrawn, so there is no flicker at any token rate, and the cost of a
//! token is a parse of the open block only. Without colour the layout stays and the
//! escape codes go (`NO_COLOR`); pipes and `--raw` get the reply as it was written and
//! never come here.

mod highlight;
mod inline;
mod layout;
mod stream;
mod tree;

pub use stream::Stream;

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Columns available.
    pub width: usize,
    pub color: bool,
    /// How deep in lists the block is (for the bullet's shape).
    list_depth: usize,
}

impl Options {
    pub fn new(width: usize, color: bool) -> Options {
        Options {
            width: width.max(MIN_WIDTH),
            color,
            list_depth: 0,
        }
    }

    fn narrower(self, by: usize) -> Options {
        Options {
            width: self.width.saturating_sub(by).max(MIN_WIDTH / 2),
            ..self
        }
    }
}

/// Below this, wrapping makes text harder to read than letting the terminal do it.
const MIN_WIDTH: usize = 20;

/// `markdown` as terminal text: every line ends with a line break, and top-level blocks
/// are set apart by one empty line.
pub fn render(markdown: &str, options: Options) -> String {
    let mut out = String::new();
    for (i, (_, block)) in tree::parse(markdown).iter().enumerate() {
        push_block(&mut out, i > 0, block, options);
    }
    out
}

/// Appends one top-level block (after an empty line unless it is the first).
fn push_block(out: &mut String, after_another: bool, block: &tree::Block, options: Options) {
    if after_another {
        out.push('\n');
    }
    for line in layout::lines(block, options) {
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests;
