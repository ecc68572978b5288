//! How the session prints a reply: as it streams (JSON lines, or the label and the text,
//! rendered on a terminal, the reasoning dimmed when asked for) and how it ended.

use common::{MessageStatus, Role};

use crate::error;
use crate::output::{MESSAGE_INDENT, Out, ReplyText, note};
use crate::reply::{self, ReplyEvent};

/// Says on stderr how a reply ended, unless it completed, and what it took.
pub(super) fn report(outcome: &reply::Outcome, out: &Out) {
    match (outcome.interrupted, outcome.end.status) {
        (true, _) => note("[reply stopped; what was generated is stored]"),
        (false, MessageStatus::Complete) if outcome.end.stored => {}
        (false, status) => note(&format!(
            "[reply {}]",
            error::outcome(status, outcome.end.error.as_deref())
        )),
    }
    crate::reply_details::show(&outcome.end, out);
}

/// Prints one reply as it streams: JSON lines, or `assistant: ` and the text (rendered
/// below the label on a terminal, as written elsewhere).
pub(super) struct Render<'a> {
    out: &'a Out,
    text: ReplyText<'a>,
    labelled: bool,
    /// Print the reasoning (dimmed) as it streams.
    show_reasoning: bool,
    /// Reasoning was printed and its line is still open.
    reasoning_open: bool,
}

impl<'a> Render<'a> {
    pub(super) fn new(out: &'a Out, show_reasoning: bool) -> Self {
        Render {
            out,
            text: ReplyText::new(out, MESSAGE_INDENT),
            labelled: false,
            show_reasoning,
            reasoning_open: false,
        }
    }

    pub(super) fn event(&mut self, event: ReplyEvent<'_>) -> std::io::Result<()> {
        if self.out.json {
            return self.out.json_line(&event);
        }
        if let ReplyEvent::Reasoning { content } = event
            && self.show_reasoning
            && !self.labelled
        {
            self.reasoning_open = !content.ends_with('\n');
            self.out.text(&self.out.dim(content))?;
        }
        if let ReplyEvent::Token { content } = event {
            if std::mem::take(&mut self.reasoning_open) {
                self.out.text("\n")?;
            }
            // The label waits for the first token: until then the spinner owns the line,
            // and clearing the spinner would wipe a label printed before it.
            if !self.labelled {
                self.labelled = true;
                let label = self.out.role_label(Role::Assistant);
                if self.text.is_rendered() {
                    self.out.line(&format!("{label}:"))?;
                } else {
                    self.out.text(&format!("{label}: "))?;
                }
            }
            self.text.push(content)?;
        }
        Ok(())
    }

    /// Ends the reply's line, if a reply was printed.
    pub(super) fn close_line(&mut self) -> std::io::Result<()> {
        if self.labelled {
            self.text.finish()?;
        }
        Ok(())
    }
}
