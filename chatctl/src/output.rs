//! Everything `chatctl` writes: results on stdout (text or JSON), diagnostics on stderr,
//! colours only on a terminal and never under `NO_COLOR`, and the spinner shown while
//! waiting for the first token (only when stderr is a terminal).
//!
//! stdout is written with `write!` and never `println!`: `println!` panics when the reader
//! has gone away (`chatctl send hi | head -c 10`), while an `io::Error` of kind
//! `BrokenPipe` travels up to `main`, which exits 0 quietly.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use dialoguer::console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

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
}

impl Out {
    pub fn new(json: bool) -> Out {
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
        }
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

    /// Changes what the spinner says, if it still spins.
    pub fn say(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_string());
        }
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
