//! The command line: global options and the subcommands, whose `///` comments are the
//! help text (and the descriptions in the generated shell completions).

use clap::{Args, Parser, Subcommand};

use crate::client::DEFAULT_SERVER;
use crate::{
    archive, attach, cancel, chat, completions, conv, daemon, exit_codes, models, search, send,
    status, user, wait, watch,
};

/// Talk to chatd, the local chat daemon: chat in the terminal, or script it with --json.
#[derive(Debug, Parser)]
#[command(name = "chatctl", version, after_long_help = exit_codes::HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Shown after each subcommand's own options in its `--help`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Base URL of the chat API.
    #[arg(
        long,
        global = true,
        env = "CHATCTL_SERVER",
        hide_env_values = true,
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    pub server: String,

    /// Act as this user (remembered as the default for next time).
    #[arg(
        long,
        global = true,
        env = "CHATCTL_USER",
        hide_env_values = true,
        value_name = "NAME",
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::usernames)
    )]
    pub user: Option<String>,

    /// Print the API's JSON objects on stdout, and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print replies as written, without rendering their Markdown (always so on a pipe).
    #[arg(long, global = true, visible_alias = "no-render")]
    pub raw: bool,

    /// Never start chatd, even when nothing answers at a local server address.
    #[arg(long, global = true)]
    pub no_autostart: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or show users.
    #[command(subcommand)]
    User(user::Command),

    /// Create, list, show, rename, configure or delete conversations.
    #[command(subcommand)]
    Conv(conv::Command),

    /// Chat interactively: history first, replies live, /help for commands.
    #[command(after_help = CHAT_EXAMPLES)]
    Chat(chat::Args),

    /// Send one message and stream the reply to stdout.
    #[command(after_help = send::EXAMPLES)]
    Send(send::Args),

    /// Ask for another reply (the old one stays, on its own branch) and stream it.
    #[command(after_help = crate::regenerate::AFTER_HELP)]
    Regenerate(crate::regenerate::Args),

    /// Print the reply being generated on a conversation live, from its start or a cursor.
    #[command(after_help = attach::AFTER_HELP)]
    Attach(attach::Args),

    /// Wait for the reply in flight on a conversation to end; print how it ended.
    #[command(after_help = wait::AFTER_HELP)]
    Wait(wait::Args),

    /// Print what happens in chatd as it happens: users, conversations, messages, replies.
    #[command(after_help = watch::AFTER_HELP)]
    Watch(watch::Args),

    /// Stop the reply being generated on a conversation (default: the current one).
    #[command(after_help = cancel::AFTER_HELP)]
    Cancel(cancel::Args),

    /// Start, stop or watch chatd: status, pid, log.
    #[command(subcommand)]
    Daemon(daemon::Command),

    /// Show whether the daemon answers, and its version, provider, model and database.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(status::Args),

    /// List the models of every provider the daemon knows, and the default.
    #[command(after_help = models::EXAMPLES)]
    Models(models::Args),

    /// Search your messages: words, "phrases", -excluded, role:, before:, after:.
    #[command(after_help = SEARCH_EXAMPLES)]
    Search(search::Args),

    /// Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(archive::ExportArgs),

    /// Import conversations from chatd's JSON or ChatGPT's conversations.json.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(archive::ImportArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(completions::Args),
}

const SEARCH_EXAMPLES: &str = "\
Examples:
  chatctl search kyoto temple
  chatctl search '\"exact phrase\" -excluded role:user after:2026-01-01'
  chatctl --json search --limit 5 数据库 | jq '.[].conversation_id'";

const EXPORT_EXAMPLES: &str = "\
Examples:
  chatctl export 7 --format md -o kyoto.md
  chatctl export --all -o backup.jsonl";

const IMPORT_EXAMPLES: &str = "\
Examples:
  chatctl import ~/Downloads/conversations.json
  chatctl --json import --from chatd backup.jsonl";

const CHAT_EXAMPLES: &str = "\
Examples:
  chatctl chat              pick a conversation (or a new one)
  chatctl chat --continue   go on with the last one
  chatctl chat 12           open conversation 12";

const STATUS_EXAMPLES: &str = "\
Examples:
  chatctl status
  chatctl --json status | jq .reachable";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  chatctl completions bash > ~/.local/share/bash-completion/completions/chatctl
  chatctl completions zsh > ~/.zfunc/_chatctl
  chatctl completions fish > ~/.config/fish/completions/chatctl.fish";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn send_takes_the_message_as_words() {
        let cli = Cli::try_parse_from(["chatctl", "send", "-c", "3", "hello", "world"]).unwrap();
        let Command::Send(args) = cli.command else {
            panic!("not send")
        };
        assert_eq!(args.conversation, Some(3));
        assert_eq!(args.message, ["hello", "world"]);
    }

    #[test]
    fn a_search_takes_excluded_words_and_still_its_options() {
        let cli = Cli::try_parse_from(["chatctl", "search", "fox -lazy", "--limit", "3"]).unwrap();
        let Command::Search(args) = cli.command else {
            panic!("not search")
        };
        assert_eq!(args.query, ["fox -lazy"]);
        assert_eq!(args.limit, 3);
        let cli = Cli::try_parse_from(["chatctl", "search", "--limit", "3", "--", "-lazy", "fox"])
            .unwrap();
        let Command::Search(args) = cli.command else {
            panic!("not search")
        };
        assert_eq!(args.query, ["-lazy", "fox"]);
    }

    #[test]
    fn conflicting_choices_are_usage_errors() {
        for line in [
            &["chatctl", "send", "-c", "3", "--new", "hi"][..],
            &["chatctl", "conv", "list", "--all", "--limit", "3"],
            &["chatctl", "chat", "4", "--new"],
            &["chatctl", "chat", "--new", "--continue"],
            &["chatctl", "export"],
            &["chatctl", "export", "3", "--all"],
            &["chatctl", "export", "--all", "--format", "md"],
            &["chatctl", "search"],
            &["chatctl", "search", "x", "--limit", "0"],
            &["chatctl", "import", "f.json", "--from", "excel"],
        ] {
            let err = Cli::try_parse_from(line).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{line:?}");
        }
    }
}
