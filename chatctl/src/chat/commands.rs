//! The `/`-commands of `chatctl chat`, as one table: each entry's name, aliases, argument
//! and help line drive the parsing of a typed line, the `/help` text and Tab completion
//! alike, so a new command is one entry here plus what it does in the session.

/// What a command does; the session matches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    New,
    Switch,
    List,
    History,
    Regenerate,
    Edit,
    Branches,
    Branch,
    Search,
    Rename,
    Model,
    System,
    Remove,
    Help,
    Quit,
}

/// What a command's argument is, for completion and for checking it before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// Nothing may follow the command.
    None,
    /// Free text (a name, a system prompt).
    Text,
    /// A conversation id; completed with the user's conversations and their names.
    Conversation,
    /// A model name; completed from the models the daemon offers.
    Model,
}

/// One `/`-command.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub arg: ArgKind,
    /// Whether the argument may be left out.
    pub arg_optional: bool,
    /// The argument as shown in the help (`ID`, `NAME`), empty when there is none.
    pub arg_label: &'static str,
    pub help: &'static str,
    pub action: Action,
}

pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "new",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "NAME",
        help: "start a new conversation",
        action: Action::New,
    },
    Spec {
        name: "switch",
        aliases: &["open"],
        arg: ArgKind::Conversation,
        arg_optional: true,
        arg_label: "ID",
        help: "switch to another conversation (pick one when no ID is given)",
        action: Action::Switch,
    },
    Spec {
        name: "list",
        aliases: &["ls"],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "N|all",
        help: "list your conversations, the most recently active first",
        action: Action::List,
    },
    Spec {
        name: "history",
        aliases: &["show"],
        arg: ArgKind::None,
        arg_optional: true,
        arg_label: "",
        help: "show this conversation again",
        action: Action::History,
    },
    Spec {
        name: "regenerate",
        aliases: &["retry"],
        arg: ArgKind::None,
        arg_optional: true,
        arg_label: "",
        help: "another answer to your last message (the old one stays, see /branches)",
        action: Action::Regenerate,
    },
    Spec {
        name: "edit",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "N",
        help: "change your last message (or the N-th last) and send it as a new branch",
        action: Action::Edit,
    },
    Spec {
        name: "branches",
        aliases: &[],
        arg: ArgKind::None,
        arg_optional: true,
        arg_label: "",
        help: "list this conversation's branches (its edits and other answers)",
        action: Action::Branches,
    },
    Spec {
        name: "branch",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "N",
        help: "switch to branch N of /branches (pick one when no N is given)",
        action: Action::Branch,
    },
    Spec {
        name: "search",
        aliases: &["find"],
        arg: ArgKind::Text,
        arg_optional: false,
        arg_label: "QUERY",
        help: "search your messages, then open a hit",
        action: Action::Search,
    },
    Spec {
        name: "rename",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: false,
        arg_label: "NAME",
        help: "rename this conversation",
        action: Action::Rename,
    },
    Spec {
        name: "model",
        aliases: &[],
        arg: ArgKind::Model,
        arg_optional: true,
        arg_label: "NAME",
        help: "answer with another model (pick one when no NAME is given)",
        action: Action::Model,
    },
    Spec {
        name: "system",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "TEXT",
        help: "show or set the system prompt (--clear: chatd's default)",
        action: Action::System,
    },
    Spec {
        name: "rm",
        aliases: &[],
        arg: ArgKind::Text,
        arg_optional: true,
        arg_label: "--yes",
        help: "delete this conversation and go on in a new one (asks first)",
        action: Action::Remove,
    },
    Spec {
        name: "help",
        aliases: &["h", "?"],
        arg: ArgKind::None,
        arg_optional: true,
        arg_label: "",
        help: "show this help",
        action: Action::Help,
    },
    Spec {
        name: "quit",
        aliases: &["exit", "q"],
        arg: ArgKind::None,
        arg_optional: true,
        arg_label: "",
        help: "leave",
        action: Action::Quit,
    },
];

/// What one typed line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Nothing but white space.
    Empty,
    /// A message to send (`//TEXT` sends `/TEXT`).
    Message(&'a str),
    /// A command, with its argument (trimmed; `None` when nothing follows).
    Command(&'static Spec, Option<&'a str>),
}

/// Why a line that starts with `/` is not a command that can run.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown command /{0}; /help lists the commands")]
    Unknown(String),
    #[error("/{name} takes no argument")]
    NoArgument { name: &'static str },
    #[error("/{name} needs {label}: /{name} {label}")]
    MissingArgument {
        name: &'static str,
        label: &'static str,
    },
    #[error("not a conversation id: {0:?}")]
    NotAnId(String),
}

/// The command called `name` (or one of its aliases).
pub fn find(name: &str) -> Option<&'static Spec> {
    find_in(COMMANDS, name)
}

pub fn find_in(table: &'static [Spec], name: &str) -> Option<&'static Spec> {
    table
        .iter()
        .find(|spec| spec.name == name || spec.aliases.contains(&name))
}

pub fn parse(line: &str) -> Result<Line<'_>, ParseError> {
    let text = line.trim_end_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Ok(Line::Empty);
    }
    let Some(command) = text.strip_prefix('/') else {
        return Ok(Line::Message(text));
    };
    if command.starts_with('/') {
        return Ok(Line::Message(command));
    }
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(name, rest)| (name, rest.trim()));
    let spec = find(name).ok_or_else(|| ParseError::Unknown(name.to_string()))?;
    let arg = (!rest.is_empty()).then_some(rest);
    match (spec.arg, arg) {
        (ArgKind::None, Some(_)) => return Err(ParseError::NoArgument { name: spec.name }),
        (_, None) if !spec.arg_optional => {
            return Err(ParseError::MissingArgument {
                name: spec.name,
                label: spec.arg_label,
            });
        }
        (ArgKind::Conversation, Some(id)) if id.parse::<i64>().is_err() => {
            return Err(ParseError::NotAnId(id.to_string()));
        }
        _ => {}
    }
    Ok(Line::Command(spec, arg))
}

/// The `/help` text.
pub fn help() -> String {
    let usage = |spec: &Spec| match (spec.arg_label, spec.arg_optional) {
        ("", _) => format!("/{}", spec.name),
        (label, true) => format!("/{} [{label}]", spec.name),
        (label, false) => format!("/{} {label}", spec.name),
    };
    let width = COMMANDS.iter().map(|s| usage(s).len()).max().unwrap_or(0) + 2;
    let mut text = String::from(
        "Type a message and press Enter; Alt-Enter or a trailing \\ starts a new line.\n\
         Ctrl-C stops a reply or clears the line; Ctrl-D on an empty line leaves;\n\
         Up/Down and Ctrl-R search earlier lines; Tab completes commands.\n",
    );
    for spec in COMMANDS {
        let aliases = if spec.aliases.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = spec.aliases.iter().map(|a| format!("/{a}")).collect();
            format!(" (also {})", names.join(", "))
        };
        text.push_str(&format!(
            "  {:<width$}{}{aliases}\n",
            usage(spec),
            spec.help
        ));
    }
    text.push_str(&format!(
        "  {:<width$}send TEXT starting with a single /",
        "//TEXT"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_messages_commands_or_errors() {
        assert_eq!(parse("  \r\n"), Ok(Line::Empty));
        assert_eq!(parse("hello\n"), Ok(Line::Message("hello")));
        assert_eq!(parse("//etc/hosts"), Ok(Line::Message("/etc/hosts")));
        let Ok(Line::Command(spec, arg)) = parse("/open  12 ") else {
            panic!("not a command")
        };
        assert_eq!((spec.action, arg), (Action::Switch, Some("12")));
        let Ok(Line::Command(spec, None)) = parse("/q") else {
            panic!("not a command")
        };
        assert_eq!(spec.action, Action::Quit);
        assert_eq!(parse("/frob"), Err(ParseError::Unknown("frob".into())));
        assert_eq!(
            parse("/switch twelve"),
            Err(ParseError::NotAnId("twelve".into()))
        );
        assert_eq!(
            parse("/history everything"),
            Err(ParseError::NoArgument { name: "history" })
        );
    }

    #[test]
    fn the_help_names_every_command_once() {
        let help = help();
        for spec in COMMANDS {
            // The name and what follows it, so that /branch is not counted in /branches.
            let usage = format!("  /{} ", spec.name);
            assert_eq!(help.matches(&usage).count(), 1, "{usage} in {help}");
        }
        assert!(help.contains("/switch [ID]"), "{help}");
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut all: Vec<&str> = COMMANDS
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }
}
