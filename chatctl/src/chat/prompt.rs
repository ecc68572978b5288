//! The prompt of `chatctl chat` on a terminal: a rustyline editor with Emacs keys,
//! history kept across sessions in chatctl's data directory (Up/Down, Ctrl-R), bracketed
//! paste kept as one message, Alt-Enter or a trailing `\` for a new line, and Tab
//! completion of the `/`-commands and their arguments.
//!
//! rustyline reads the terminal in raw mode, so Ctrl-C at the prompt is a key (it clears
//! the line, which Ctrl-Y brings back) rather than SIGINT; during a reply the terminal
//! is back in cooked mode and Ctrl-C reaches the session's SIGINT handler, which
//! cancels the reply. The editor blocks, so each line is read on tokio's blocking pool.

use std::borrow::Cow;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{
    Behavior, Cmd, CompletionType, ConditionalEventHandler, Config, EditMode, Editor, Event,
    EventContext, EventHandler, KeyCode, KeyEvent, Modifiers, Movement, RepeatCount,
};

use super::commands::{self, ArgKind};
use super::editor::Edited;
use crate::output::warn;

/// How many lines the history file keeps.
const HISTORY_SIZE: usize = 2000;
const PROMPT: &str = "you › ";
/// The prompt of `/edit`'s inline editor.
const EDIT_PROMPT: &str = "edit › ";

/// Where completion finds conversation ids and model names. It is asked from the
/// editor's thread while the person presses Tab, so it must answer quickly.
pub trait Candidates: Send + Sync {
    /// The person's conversations: id and name (or title), most recent first.
    fn conversations(&self) -> Vec<(i64, Option<String>)>;
    /// The model names the daemon offers (none until it says which).
    fn models(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What one read of the prompt gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Line(String),
    /// Ctrl-D on an empty line (or the terminal went away).
    End,
}

pub struct Prompt {
    /// `None` only while a read is running on the blocking pool.
    editor: Option<Editor<ChatHelper, FileHistory>>,
    history_file: Option<PathBuf>,
    continued: Continuations,
}

impl Prompt {
    pub fn new(
        history_file: Option<PathBuf>,
        color: bool,
        candidates: Arc<dyn Candidates>,
    ) -> anyhow::Result<Prompt> {
        let config = Config::builder()
            .edit_mode(EditMode::Emacs)
            .max_history_size(HISTORY_SIZE)?
            .history_ignore_dups(true)?
            .history_ignore_space(true)
            .auto_add_history(false)
            .bracketed_paste(true)
            // Several candidates are listed with their display (an id with its name),
            // as bash lists files.
            .completion_type(CompletionType::List)
            // The terminal itself, even when stdout is a pipe (`chat | tee log`), so
            // the prompt never lands in the transcript.
            .behavior(Behavior::PreferTerm)
            .build();
        let mut editor = Editor::with_config(config)?;
        editor.set_helper(Some(ChatHelper { color, candidates }));
        editor.bind_sequence(
            KeyEvent(KeyCode::Enter, Modifiers::ALT),
            EventHandler::Simple(Cmd::Newline),
        );
        // Ctrl-C clears the line in place rather than ending the read: rustyline drops
        // keys typed ahead when a read ends with an error.
        editor.bind_sequence(
            KeyEvent::ctrl('C'),
            EventHandler::Simple(Cmd::Kill(Movement::WholeBuffer)),
        );
        let continued = Continuations::default();
        editor.bind_sequence(
            KeyEvent(KeyCode::Enter, Modifiers::NONE),
            EventHandler::Conditional(Box::new(continued.clone())),
        );
        if let Some(path) = &history_file {
            match editor.load_history(path) {
                Ok(()) => {}
                Err(ReadlineError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => warn(&format!(
                    "could not read the prompt history in {}: {err}",
                    path.display()
                )),
            }
        }
        Ok(Prompt {
            editor: Some(editor),
            history_file,
            continued,
        })
    }

    /// Reads one message or command; what is read goes into the history file at once,
    /// so a session that ends abruptly loses none of it.
    pub async fn read(&mut self) -> anyhow::Result<Read> {
        match self.read_from(PROMPT, None).await? {
            Ok(line) => Ok(Read::Line(line)),
            // Ctrl-C is bound to clearing the line, so this takes a signal; nothing was
            // sent either way.
            Err(ReadlineError::Interrupted) => Ok(Read::Line(String::new())),
            Err(ReadlineError::Eof) => Ok(Read::End),
            Err(err) => Err(anyhow::Error::new(err).context("the prompt failed")),
        }
    }

    /// `/edit` without an editor of the person's own: the prompt, prefilled with `text`
    /// and the cursor at its end, edited with the same keys as a new message.
    pub async fn edit(&mut self, text: &str) -> anyhow::Result<Edited> {
        match self.read_from(EDIT_PROMPT, Some(text.to_string())).await? {
            Ok(line) => Ok(Edited::Text(line)),
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => Ok(Edited::Left),
            Err(err) => Err(anyhow::Error::new(err).context("the prompt failed")),
        }
    }

    /// One read of the editor on the blocking pool; a line read is in the history.
    async fn read_from(
        &mut self,
        prompt: &'static str,
        initial: Option<String>,
    ) -> anyhow::Result<Result<String, ReadlineError>> {
        let Some(mut editor) = self.editor.take() else {
            anyhow::bail!("the prompt is already reading");
        };
        self.continued.clear();
        let (editor, result) = tokio::task::spawn_blocking(move || {
            let result = match &initial {
                Some(text) => editor.readline_with_initial(prompt, (text, "")),
                None => editor.readline(prompt),
            };
            (editor, result)
        })
        .await?;
        self.editor = Some(editor);
        Ok(result.map(|line| {
            let line = self.continued.strip_from(line);
            self.remember(&line);
            line
        }))
    }

    fn remember(&mut self, line: &str) {
        let Some(editor) = self.editor.as_mut() else {
            return;
        };
        if line.trim().is_empty() || !matches!(editor.add_history_entry(line), Ok(true)) {
            return;
        }
        let Some(path) = &self.history_file else {
            return;
        };
        // What people type can be private: the file is theirs alone, as shells' are.
        let private = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)
            });
        if let Err(err) = private {
            warn(&format!(
                "could not keep the prompt history in {}: {err}",
                path.display()
            ));
            self.history_file = None;
            return;
        }
        if let Err(err) = editor.append_history(path) {
            warn(&format!(
                "could not keep the prompt history in {}: {err}",
                path.display()
            ));
            // Once is enough to say so.
            self.history_file = None;
        }
    }

    #[cfg(test)]
    fn history_len(&self) -> usize {
        use rustyline::history::History as _;
        self.editor.as_ref().map_or(0, |e| e.history().len())
    }
}

/// Enter after a `\` at the end of the line starts a new line instead of sending; the
/// `\` stays on screen (as in a shell) and is taken out of the message when it is sent.
/// What the buffer held at each such Enter is kept, so that only those backslashes go
/// and a pasted `\` at the end of a line stays.
#[derive(Debug, Default, Clone)]
struct Continuations(Arc<Mutex<Vec<String>>>);

impl Continuations {
    fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// `line` without the backslashes that asked for its new lines.
    fn strip_from(&self, mut line: String) -> String {
        let mut at: Vec<usize> = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|before| {
                line.strip_prefix(before.as_str())
                    .is_some_and(|rest| rest.starts_with('\n'))
            })
            .map(|before| before.len() - 1)
            .collect();
        at.sort_unstable();
        at.dedup();
        for index in at.into_iter().rev() {
            line.remove(index);
        }
        line
    }
}

impl ConditionalEventHandler for Continuations {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let line = ctx.line();
        if ctx.pos() != line.len() || !line.ends_with('\\') {
            return None;
        }
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_string());
        Some(Cmd::Newline)
    }
}

struct ChatHelper {
    color: bool,
    candidates: Arc<dyn Candidates>,
}

impl rustyline::Helper for ChatHelper {}
impl Validator for ChatHelper {}

impl Hinter for ChatHelper {
    type Hint = String;
}

impl Highlighter for ChatHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        if self.color {
            Cow::Owned(format!("\u{1b}[1;32m{prompt}\u{1b}[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        false
    }
}

impl Completer for ChatHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        Ok(complete(
            commands::COMMANDS,
            before,
            self.candidates.as_ref(),
        ))
    }
}

/// Completions for `before` (the line up to the cursor) from the commands of `table`:
/// where the completed word starts and its candidates.
fn complete(
    table: &'static [commands::Spec],
    before: &str,
    candidates: &dyn Candidates,
) -> (usize, Vec<Pair>) {
    let Some(command) = before.strip_prefix('/') else {
        return (0, Vec::new());
    };
    let Some((name, arg)) = command.split_once(' ') else {
        let pairs = table
            .iter()
            .filter(|spec| spec.name.starts_with(command))
            .map(|spec| Pair {
                display: format!("/{}", spec.name),
                replacement: format!(
                    "/{}{}",
                    spec.name,
                    if spec.arg_label.is_empty() { "" } else { " " }
                ),
            })
            .collect();
        return (0, pairs);
    };
    let Some(spec) = commands::find_in(table, name) else {
        return (0, Vec::new());
    };
    let start = before.len() - arg.len();
    let pairs = match spec.arg {
        ArgKind::Conversation => candidates
            .conversations()
            .into_iter()
            .filter(|(id, name)| {
                id.to_string().starts_with(arg)
                    || name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(&arg.to_lowercase()))
            })
            .map(|(id, name)| Pair {
                display: match name {
                    Some(name) => format!("{id}  {name}"),
                    None => id.to_string(),
                },
                replacement: id.to_string(),
            })
            .collect(),
        ArgKind::Model => candidates
            .models()
            .into_iter()
            .filter(|model| model.starts_with(arg))
            .map(|model| Pair {
                display: model.clone(),
                replacement: model,
            })
            .collect(),
        ArgKind::None | ArgKind::Text => Vec::new(),
    };
    (start, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Candidates for Fixed {
        fn conversations(&self) -> Vec<(i64, Option<String>)> {
            vec![(12, Some("Trip to Lyon".into())), (7, None), (120, None)]
        }
        fn models(&self) -> Vec<String> {
            vec!["llama3".into(), "qwen".into()]
        }
    }

    fn replacements(before: &str) -> (usize, Vec<String>) {
        let (start, pairs) = complete(commands::COMMANDS, before, &Fixed);
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn commands_complete_by_prefix() {
        assert_eq!(replacements("/sw"), (0, vec!["/switch ".to_string()]));
        // A command that takes an argument is completed with the space before it.
        assert_eq!(replacements("/l"), (0, vec!["/list ".to_string()]));
        assert_eq!(replacements("/qu"), (0, vec!["/quit".to_string()]));
        assert_eq!(replacements("/zz").1, Vec::<String>::new());
        assert_eq!(replacements("hello /sw").1, Vec::<String>::new());
    }

    #[test]
    fn conversations_complete_by_id_or_name() {
        assert_eq!(
            replacements("/switch 12"),
            (8, vec!["12".to_string(), "120".to_string()])
        );
        assert_eq!(replacements("/open lyon"), (6, vec!["12".to_string()]));
        let (_, pairs) = complete(commands::COMMANDS, "/switch ", &Fixed);
        assert_eq!(pairs[0].display, "12  Trip to Lyon");
        assert_eq!(pairs.len(), 3);
        assert_eq!(replacements("/new trip").1, Vec::<String>::new());
    }

    #[test]
    fn model_arguments_complete_from_the_daemon_s_models() {
        static TABLE: &[commands::Spec] = &[commands::Spec {
            name: "model",
            aliases: &[],
            arg: ArgKind::Model,
            arg_optional: true,
            arg_label: "NAME",
            help: "",
            action: commands::Action::Help,
        }];
        let (start, pairs) = complete(TABLE, "/model ll", &Fixed);
        let names: Vec<&str> = pairs.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!((start, names), (7, vec!["llama3"]));
    }

    #[test]
    fn only_the_backslashes_that_continued_a_line_go() {
        let continued = Continuations::default();
        continued.0.lock().unwrap().push("a\\".into());
        continued.0.lock().unwrap().push("a\\\nb \\".into());
        assert_eq!(continued.strip_from("a\\\nb \\\nc".into()), "a\nb \nc");
        // A pasted continuation, or one edited away, stays as it is.
        assert_eq!(continued.strip_from("x\\\ny".into()), "x\\\ny");
    }

    #[test]
    fn history_survives_a_new_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join("history");
        let mut prompt = Prompt::new(Some(file.clone()), false, Arc::new(Fixed)).unwrap();
        prompt.remember("first line");
        prompt.remember("two\nlines");
        prompt.remember("   ");
        let again = Prompt::new(Some(file.clone()), false, Arc::new(Fixed)).unwrap();
        assert_eq!(again.history_len(), 2);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
