# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chatctl_global_optspecs
    string join \n server= user= json raw no-autostart h/help V/version
end

function __fish_chatctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chatctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chatctl_using_subcommand
    set -l cmd (__fish_chatctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chatctl -n "__fish_chatctl_needs_command" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_needs_command" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_needs_command" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_needs_command" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_needs_command" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chatctl -n "__fish_chatctl_needs_command" -s V -l version -d 'Print version'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "user" -d 'Create or show users'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "conv" -d 'Create, list, show, rename, configure or delete conversations'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "chat" -d 'Chat interactively: history first, replies live, /help for commands'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "send" -d 'Send one message and stream the reply to stdout'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "regenerate" -d 'Ask for another reply (the old one stays, on its own branch) and stream it'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "attach" -d 'Print the reply being generated on a conversation live, from its start or a cursor'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "wait" -d 'Wait for the reply in flight on a conversation to end; print how it ended'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "watch" -d 'Print what happens in chatd as it happens: users, conversations, messages, replies'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "cancel" -d 'Stop the reply being generated on a conversation (default: the current one)'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "daemon" -d 'Start, stop or watch chatd: status, pid, log'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "status" -d 'Show whether the daemon answers, and its version, provider, model and database'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "models" -d 'List the models of every provider the daemon knows, and the default'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "search" -d 'Search your messages: words, "phrases", -excluded, role:, before:, after:'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "export" -d 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "import" -d 'Import conversations from chatd\'s JSON or ChatGPT\'s conversations.json'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c chatctl -n "__fish_chatctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -f -a "create" -d 'Create a user (and make it the default user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -f -a "show" -d 'Show a user (default: the current user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and not __fish_seen_subcommand_from create show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l email -d 'An email address to store with the user' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a user (and make it the default user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a user (default: the current user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "new" -d 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "list" -d 'List the user\'s conversations, the most recently active first'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "show" -d 'Show a conversation with all its messages (default: the current one)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "rename" -d 'Rename a conversation'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "rm" -d 'Delete conversations with all their messages (asks first on a terminal)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "prune" -d 'Delete the user\'s conversations idle for longer than a duration'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "set" -d 'Change a conversation\'s model, system prompt or temperature'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "tree" -d 'Show a conversation\'s branches as an indented tree (the active path marked `*`)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and not __fish_seen_subcommand_from new list show rename rm prune set tree help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l name -d 'A name for the conversation' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l skip -d 'How many conversations to skip' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l limit -d 'How many conversations to list at most (0-1000)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l all -d 'List every conversation (pages through all of them)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l oldest-first -d 'The least recently active first (default: the most recently active first)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -s y -l yes -d 'Delete without asking (needed when stdin is not a terminal)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l older-than -d 'How long a conversation must have been idle: a number and a unit, s, m, h, d or w (e.g. 30d, 12h, 2w)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l model -d 'The model to answer it: PROVIDER/MODEL, or a model of the default provider' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l system-prompt -d 'Its system prompt, sent before its history instead of chatd\'s' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l system-prompt-file -d 'Its system prompt, read from a file' -r -F
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l temperature -d 'Its sampling temperature, 0 to 2' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from tree" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "new" -d 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the user\'s conversations, the most recently active first'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a conversation with all its messages (default: the current one)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename a conversation'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete conversations with all their messages (asks first on a terminal)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete the user\'s conversations idle for longer than a duration'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a conversation\'s model, system prompt or temperature'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "tree" -d 'Show a conversation\'s branches as an indented tree (the active path marked `*`)'
complete -c chatctl -n "__fish_chatctl_using_subcommand conv; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l new -d 'Start a new conversation'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l continue -d 'Continue the last conversation used (a new one when there is none)'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l show-reasoning -d 'Show the model\'s reasoning, dimmed, while it streams (else a spinner says "thinking")'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand chat" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -s c -l conversation -d 'The conversation to send to (default: the last one used, else a new one)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l edit-of -d 'Send the message as an edit of this earlier user message of the conversation: it is stored beside it on a new branch, and answered there (the old version stays; `chatctl conv tree` shows both)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l model -d 'Start a new conversation on this model (PROVIDER/MODEL, see `chatctl models`)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l new -d 'Start a new conversation for this message'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l detach -d 'Return once the message is stored, printing the conversation id (the object with --json); the reply runs on: follow it with `chatctl attach` or `chatctl wait`'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l stream -d 'With --json: print each event as it arrives, one JSON object per line'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l show-reasoning -d 'Show the model\'s reasoning, dimmed on stderr, while it streams'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l message -d 'The assistant message to answer again (default: the last reply)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l stream -d 'With --json: print each event as it arrives, one JSON object per line'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l show-reasoning -d 'Show the model\'s reasoning, dimmed on stderr, while it streams'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand regenerate" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l after -d 'Start after this event id (a reply cursor such as `12:40`) instead of the start' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l stream -d 'With --json: print each event as it arrives, one JSON object per line'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l show-reasoning -d 'Show the model\'s reasoning, dimmed on stderr, while it streams'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand attach" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l timeout -d 'Give up after this many seconds (exit code 1); the reply goes on' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand wait" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -f -a "start" -d 'Start chatd in the background for --server (arguments after `--` go to chatd)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -f -a "stop" -d 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -f -a "status" -d 'Show whether chatd runs at --server, its pid, provider and log'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -f -a "logs" -d 'Print the log of the chatd that chatctl started (-f follows it)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and not __fish_seen_subcommand_from start stop status logs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l timeout -d 'How long to wait for chatd to store its replies and exit, in seconds' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -s n -l lines -d 'How many of the last lines to print first (0: the whole log)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -s f -l follow -d 'Keep printing what chatd writes, until Ctrl-C'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from logs" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start chatd in the background for --server (arguments after `--` go to chatd)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show whether chatd runs at --server, its pid, provider and log'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from help" -f -a "logs" -d 'Print the log of the chatd that chatctl started (-f follows it)'
complete -c chatctl -n "__fish_chatctl_using_subcommand daemon; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand models" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l limit -d 'Show at most this many hits (1 to 100), best first' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand search" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l format -d 'The format of one conversation' -r -f -a "json\t'chatd\'s own versioned JSON, which `chatctl import` reads back'
md\t'Markdown for people: front matter, a section per message, reasoning folded'"
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -s o -l output -d 'Write to FILE instead of stdout' -r -F
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l all -d 'Every conversation of the user, as JSON Lines (one conversation per line)'
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l from -d 'What the file is (default: told apart by its shape)' -r -f -a "chatd\t'chatd\'s own JSON: one conversation, or JSON Lines of many (`chatctl export`)'
chatgpt\t'ChatGPT\'s `conversations.json` (Settings → Data controls → Export data)'"
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -l server -d 'Base URL of the chat API' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -l user -d 'Act as this user (remembered as the default for next time)' -r
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -l json -d 'Print the API\'s JSON objects on stdout, and nothing else there'
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -l raw -l no-render -d 'Print replies as written, without rendering their Markdown (always so on a pipe)'
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -l no-autostart -d 'Never start chatd, even when nothing answers at a local server address'
complete -c chatctl -n "__fish_chatctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "user" -d 'Create or show users'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "conv" -d 'Create, list, show, rename, configure or delete conversations'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "chat" -d 'Chat interactively: history first, replies live, /help for commands'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "send" -d 'Send one message and stream the reply to stdout'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "regenerate" -d 'Ask for another reply (the old one stays, on its own branch) and stream it'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "attach" -d 'Print the reply being generated on a conversation live, from its start or a cursor'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "wait" -d 'Wait for the reply in flight on a conversation to end; print how it ended'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "watch" -d 'Print what happens in chatd as it happens: users, conversations, messages, replies'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "cancel" -d 'Stop the reply being generated on a conversation (default: the current one)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "daemon" -d 'Start, stop or watch chatd: status, pid, log'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "status" -d 'Show whether the daemon answers, and its version, provider, model and database'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "models" -d 'List the models of every provider the daemon knows, and the default'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "search" -d 'Search your messages: words, "phrases", -excluded, role:, before:, after:'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "export" -d 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "import" -d 'Import conversations from chatd\'s JSON or ChatGPT\'s conversations.json'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and not __fish_seen_subcommand_from user conv chat send regenerate attach wait watch cancel daemon status models search export import completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "create" -d 'Create a user (and make it the default user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "show" -d 'Show a user (default: the current user)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "new" -d 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "list" -d 'List the user\'s conversations, the most recently active first'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "show" -d 'Show a conversation with all its messages (default: the current one)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "rename" -d 'Rename a conversation'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "rm" -d 'Delete conversations with all their messages (asks first on a terminal)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "prune" -d 'Delete the user\'s conversations idle for longer than a duration'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "set" -d 'Change a conversation\'s model, system prompt or temperature'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from conv" -f -a "tree" -d 'Show a conversation\'s branches as an indented tree (the active path marked `*`)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from daemon" -f -a "start" -d 'Start chatd in the background for --server (arguments after `--` go to chatd)'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from daemon" -f -a "stop" -d 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from daemon" -f -a "status" -d 'Show whether chatd runs at --server, its pid, provider and log'
complete -c chatctl -n "__fish_chatctl_using_subcommand help; and __fish_seen_subcommand_from daemon" -f -a "logs" -d 'Print the log of the chatd that chatctl started (-f follows it)'
