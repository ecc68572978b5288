//! Everything `chatctl` writes: results on stdout (text or JSON), diagnostics on stderr,
//! colours only on a terminal and never under `NO_COLOR`, replies rendered as Markdown
//! only on a terminal and never with `--raw`, and the spinner shown while waiting for
//! the first token (only when stderr is a terminal).
//!
//! stdout is written with `write!` and never `println!`: `println!` panics when the reader
//! has gone away (`chatctl send hi | head -c 10`), while an `io::Error` of kind
//! `BrokenPipe` travels up to `main`, which exits 0 quietly.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use dialoguer::console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::render;

/// How far the lines of a message after its first sit under its speaker's label.
pub const MESSAGE_INDENT: &str = "  ";

/// Whether colour is allowed at all (https://no-color.org: present and not empty = off).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Prints `chatctl: warning: {message}` on stderr; a stderr that cannot be written to is
/// not worth failing over.
pub fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "chatctl: warning: {message}");
}

/// Prints a note for the person at the terminal on stderr (never in pipes' stdout).
pub fn note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

/// The stdout side of a command.
#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    /// Whether stdout is a terminal (people read it, not scripts).
    terminal: bool,
    color: bool,
    stderr_color: bool,
    /// Whether replies are rendered as Markdown (a terminal, and no `--raw`).
    markdown: bool,
}

impl Out {
    pub fn new(json: bool, raw: bool) -> Out {
        let terminal = io::stdout().is_terminal();
        let color = !no_color() && terminal;
        let stderr_color = !no_color() && io::stderr().is_terminal();
        // dialoguer and indicatif draw through `console`, which has its own switch.
        dialoguer::console::set_colors_enabled(color);
        dialoguer::console::set_colors_enabled_stderr(stderr_color);
        Out {
            json,
            terminal,
            color,
            stderr_color,
            markdown: !json && !raw && terminal,
        }
    }

    /// How to render Markdown `indent` columns in, at the terminal's width now; `None`
    /// when replies are printed as written.
    pub fn markdown(&self, indent: usize) -> Option<render::Options> {
        if !self.markdown {
            return None;
        }
        let columns = dialoguer::console::Term::stdout()
            .size_checked()
            .map_or(80, |(_, columns)| usize::from(columns));
        Some(render::Options::new(
            columns.saturating_sub(indent),
            self.color,
        ))
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    pub fn stderr_color(&self) -> bool {
        self.stderr_color
    }

    /// Prints one API object as pretty JSON followed by a newline.
    pub fn json<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value).map_err(io::Error::from)?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }

    /// Prints one JSON object on one line (for streams of events).
    pub fn json_line<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, value).map_err(io::Error::from)?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }

    /// Writes text as is and flushes, so each token shows the moment it arrives.
    pub fn text(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    pub fn line(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }

    /// `text` dimmed, when stdout takes colour.
    pub fn dim(&self, text: &str) -> String {
        paint(self.color, Style::new().dim(), text)
    }

    /// `text` in bold, when stdout takes colour.
    pub fn bold(&self, text: &str) -> String {
        paint(self.color, Style::new().bold(), text)
    }

    /// A search match, when stdout takes colour (on a pipe the text is left as is).
    pub fn highlight(&self, text: &str) -> String {
        paint(self.color, Style::new().bold().yellow(), text)
    }

    /// The label of a message's author, coloured by role.
    pub fn role_label(&self, role: common::Role) -> String {
        let (label, style) = match role {
            common::Role::User => ("you", Style::new().bold().green()),
            common::Role::Assistant => ("assistant", Style::new().bold().cyan()),
        };
        paint(self.color, style, label)
    }
}

fn paint(enabled: bool, style: Style, text: &str) -> String {
    if enabled {
        style.force_styling(true).apply_to(text).to_string()
    } else {
        text.to_string()
    }
}

/// A reply's text printed as it streams: as written (continuation lines indented when
/// `indent` is set), or rendered as Markdown block by block, every line indented.
pub struct ReplyText<'a> {
    out: &'a Out,
    markdown: Option<render::Stream>,
    indent: &'static str,
    /// A line break received but not printed yet, so that the reply's last one is not
    /// followed by an indent.
    held_break: bool,
    /// Whether the next character starts a line.
    at_line_start: bool,
    /// Shown while a rendered block is held, so a long paragraph does not look stuck.
    writing: Spinner,
}

impl<'a> ReplyText<'a> {
    /// `indent` goes before every rendered line, and before every line after the
    /// first of a reply printed as written.
    pub fn new(out: &'a Out, indent: &'static str) -> ReplyText<'a> {
        let markdown = out.markdown(indent.len()).map(|_| render::Stream::new());
        ReplyText {
            out,
            markdown,
            indent,
            held_break: false,
            at_line_start: true,
            writing: Spinner(None),
        }
    }

    /// Whether the reply is rendered (so a label goes on a line of its own).
    pub fn is_rendered(&self) -> bool {
        self.markdown.is_some()
    }

    pub fn push(&mut self, delta: &str) -> io::Result<()> {
        if let Some(stream) = &mut self.markdown {
            let options = self.out.markdown(self.indent.len());
            let rendered = options.map(|o| stream.push(delta, o)).unwrap_or_default();
            let holding = stream.is_holding();
            if !rendered.is_empty() {
                self.writing.stop();
                self.write_rendered(&rendered)?;
            }
            if holding && !self.writing.is_running() {
                self.writing = Spinner::start("writing…");
            }
            return Ok(());
        }
        if self.indent.is_empty() {
            self.at_line_start = delta.ends_with('\n') || (delta.is_empty() && self.at_line_start);
            return self.out.text(delta);
        }
        let mut text = String::with_capacity(delta.len() + 8);
        for c in delta.chars() {
            if std::mem::take(&mut self.held_break) {
                text.push('\n');
                text.push_str(self.indent);
            }
            if c == '\n' {
                self.held_break = true;
            } else {
                text.push(c);
            }
        }
        if !delta.is_empty() {
            self.at_line_start = false;
        }
        self.out.text(&text)
    }

    /// The end of the reply: what is still held, and a final line break.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(stream) = &mut self.markdown {
            let options = self.out.markdown(self.indent.len());
            let rendered = options.map(|o| stream.finish(o)).unwrap_or_default();
            self.writing.stop();
            return self.write_rendered(&rendered);
        }
        if self.held_break || !self.at_line_start {
            self.held_break = false;
            self.at_line_start = true;
            return self.out.text("\n");
        }
        Ok(())
    }

    fn write_rendered(&self, rendered: &str) -> io::Result<()> {
        if rendered.is_empty() {
            return Ok(());
        }
        self.out.text(&indent_lines(rendered, self.indent))
    }
}

/// Every line of `text` that is not empty, after `indent`.
pub fn indent_lines(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            out.push_str(indent);
        }
        out.push_str(line);
    }
    out
}

/// `text` with the lines after the first indented by [`MESSAGE_INDENT`].
pub fn indent_continuation(text: &str) -> String {
    text.trim_end_matches('\n')
        .replace('\n', &format!("\n{MESSAGE_INDENT}"))
}

/// A spinner on stderr while waiting for the first token; nothing at all when stderr is
/// not a terminal, so logs and pipes stay clean.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn start(message: &str) -> Spinner {
        if !io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let template = if no_color() {
            "{spinner} {msg}"
        } else {
            "{spinner:.cyan} {msg:.dim}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }

    pub fn is_running(&self) -> bool {
        self.0.is_some()
    }

    /// Removes the spinner (idempotent).
    pub fn stop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}
