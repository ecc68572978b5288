
use builtin;
use str;

set edit:completion:arg-completer[chatctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'chatctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'chatctl'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand user 'Create or show users'
            cand conv 'Create, list, show, rename, configure or delete conversations'
            cand chat 'Chat interactively: history first, replies live, /help for commands'
            cand send 'Send one message and stream the reply to stdout'
            cand regenerate 'Ask for another reply (the old one stays, on its own branch) and stream it'
            cand attach 'Print the reply being generated on a conversation live, from its start or a cursor'
            cand wait 'Wait for the reply in flight on a conversation to end; print how it ended'
            cand watch 'Print what happens in chatd as it happens: users, conversations, messages, replies'
            cand cancel 'Stop the reply being generated on a conversation (default: the current one)'
            cand daemon 'Start, stop or watch chatd: status, pid, log'
            cand status 'Show whether the daemon answers, and its version, provider, model and database'
            cand models 'List the models of every provider the daemon knows, and the default'
            cand search 'Search your messages: words, "phrases", -excluded, role:, before:, after:'
            cand export 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file'
            cand import 'Import conversations from chatd''s JSON or ChatGPT''s conversations.json'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;user'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
            cand create 'Create a user (and make it the default user)'
            cand show 'Show a user (default: the current user)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;user;create'= {
            cand --email 'An email address to store with the user'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;user;show'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;user;help'= {
            cand create 'Create a user (and make it the default user)'
            cand show 'Show a user (default: the current user)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;user;help;create'= {
        }
        &'chatctl;user;help;show'= {
        }
        &'chatctl;user;help;help'= {
        }
        &'chatctl;conv'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
            cand new 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
            cand list 'List the user''s conversations, the most recently active first'
            cand show 'Show a conversation with all its messages (default: the current one)'
            cand rename 'Rename a conversation'
            cand rm 'Delete conversations with all their messages (asks first on a terminal)'
            cand prune 'Delete the user''s conversations idle for longer than a duration'
            cand set 'Change a conversation''s model, system prompt or temperature'
            cand tree 'Show a conversation''s branches as an indented tree (the active path marked `*`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;conv;new'= {
            cand --name 'A name for the conversation'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;list'= {
            cand --skip 'How many conversations to skip'
            cand --limit 'How many conversations to list at most (0-1000)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --all 'List every conversation (pages through all of them)'
            cand --oldest-first 'The least recently active first (default: the most recently active first)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;show'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;rename'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;rm'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand -y 'Delete without asking (needed when stdin is not a terminal)'
            cand --yes 'Delete without asking (needed when stdin is not a terminal)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;prune'= {
            cand --older-than 'How long a conversation must have been idle: a number and a unit, s, m, h, d or w (e.g. 30d, 12h, 2w)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;set'= {
            cand --model 'The model to answer it: PROVIDER/MODEL, or a model of the default provider'
            cand --system-prompt 'Its system prompt, sent before its history instead of chatd''s'
            cand --system-prompt-file 'Its system prompt, read from a file'
            cand --temperature 'Its sampling temperature, 0 to 2'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;tree'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;conv;help'= {
            cand new 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
            cand list 'List the user''s conversations, the most recently active first'
            cand show 'Show a conversation with all its messages (default: the current one)'
            cand rename 'Rename a conversation'
            cand rm 'Delete conversations with all their messages (asks first on a terminal)'
            cand prune 'Delete the user''s conversations idle for longer than a duration'
            cand set 'Change a conversation''s model, system prompt or temperature'
            cand tree 'Show a conversation''s branches as an indented tree (the active path marked `*`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;conv;help;new'= {
        }
        &'chatctl;conv;help;list'= {
        }
        &'chatctl;conv;help;show'= {
        }
        &'chatctl;conv;help;rename'= {
        }
        &'chatctl;conv;help;rm'= {
        }
        &'chatctl;conv;help;prune'= {
        }
        &'chatctl;conv;help;set'= {
        }
        &'chatctl;conv;help;tree'= {
        }
        &'chatctl;conv;help;help'= {
        }
        &'chatctl;chat'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --new 'Start a new conversation'
            cand --continue 'Continue the last conversation used (a new one when there is none)'
            cand --show-reasoning 'Show the model''s reasoning, dimmed, while it streams (else a spinner says "thinking")'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;send'= {
            cand -c 'The conversation to send to (default: the last one used, else a new one)'
            cand --conversation 'The conversation to send to (default: the last one used, else a new one)'
            cand --edit-of 'Send the message as an edit of this earlier user message of the conversation: it is stored beside it on a new branch, and answered there (the old version stays; `chatctl conv tree` shows both)'
            cand --model 'Start a new conversation on this model (PROVIDER/MODEL, see `chatctl models`)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --new 'Start a new conversation for this message'
            cand --detach 'Return once the message is stored, printing the conversation id (the object with --json); the reply runs on: follow it with `chatctl attach` or `chatctl wait`'
            cand --stream 'With --json: print each event as it arrives, one JSON object per line'
            cand --show-reasoning 'Show the model''s reasoning, dimmed on stderr, while it streams'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;regenerate'= {
            cand --message 'The assistant message to answer again (default: the last reply)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --stream 'With --json: print each event as it arrives, one JSON object per line'
            cand --show-reasoning 'Show the model''s reasoning, dimmed on stderr, while it streams'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;attach'= {
            cand --after 'Start after this event id (a reply cursor such as `12:40`) instead of the start'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --stream 'With --json: print each event as it arrives, one JSON object per line'
            cand --show-reasoning 'Show the model''s reasoning, dimmed on stderr, while it streams'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;wait'= {
            cand --timeout 'Give up after this many seconds (exit code 1); the reply goes on'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;watch'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;cancel'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;daemon'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
            cand start 'Start chatd in the background for --server (arguments after `--` go to chatd)'
            cand stop 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
            cand status 'Show whether chatd runs at --server, its pid, provider and log'
            cand logs 'Print the log of the chatd that chatctl started (-f follows it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;daemon;start'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;daemon;stop'= {
            cand --timeout 'How long to wait for chatd to store its replies and exit, in seconds'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;daemon;status'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;daemon;logs'= {
            cand -n 'How many of the last lines to print first (0: the whole log)'
            cand --lines 'How many of the last lines to print first (0: the whole log)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand -f 'Keep printing what chatd writes, until Ctrl-C'
            cand --follow 'Keep printing what chatd writes, until Ctrl-C'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;daemon;help'= {
            cand start 'Start chatd in the background for --server (arguments after `--` go to chatd)'
            cand stop 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
            cand status 'Show whether chatd runs at --server, its pid, provider and log'
            cand logs 'Print the log of the chatd that chatctl started (-f follows it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;daemon;help;start'= {
        }
        &'chatctl;daemon;help;stop'= {
        }
        &'chatctl;daemon;help;status'= {
        }
        &'chatctl;daemon;help;logs'= {
        }
        &'chatctl;daemon;help;help'= {
        }
        &'chatctl;status'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;models'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;search'= {
            cand --limit 'Show at most this many hits (1 to 100), best first'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;export'= {
            cand --format 'The format of one conversation'
            cand -o 'Write to FILE instead of stdout'
            cand --output 'Write to FILE instead of stdout'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --all 'Every conversation of the user, as JSON Lines (one conversation per line)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'chatctl;import'= {
            cand --from 'What the file is (default: told apart by its shape)'
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'chatctl;completions'= {
            cand --server 'Base URL of the chat API'
            cand --user 'Act as this user (remembered as the default for next time)'
            cand --json 'Print the API''s JSON objects on stdout, and nothing else there'
            cand --raw 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-render 'Print replies as written, without rendering their Markdown (always so on a pipe)'
            cand --no-autostart 'Never start chatd, even when nothing answers at a local server address'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'chatctl;help'= {
            cand user 'Create or show users'
            cand conv 'Create, list, show, rename, configure or delete conversations'
            cand chat 'Chat interactively: history first, replies live, /help for commands'
            cand send 'Send one message and stream the reply to stdout'
            cand regenerate 'Ask for another reply (the old one stays, on its own branch) and stream it'
            cand attach 'Print the reply being generated on a conversation live, from its start or a cursor'
            cand wait 'Wait for the reply in flight on a conversation to end; print how it ended'
            cand watch 'Print what happens in chatd as it happens: users, conversations, messages, replies'
            cand cancel 'Stop the reply being generated on a conversation (default: the current one)'
            cand daemon 'Start, stop or watch chatd: status, pid, log'
            cand status 'Show whether the daemon answers, and its version, provider, model and database'
            cand models 'List the models of every provider the daemon knows, and the default'
            cand search 'Search your messages: words, "phrases", -excluded, role:, before:, after:'
            cand export 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file'
            cand import 'Import conversations from chatd''s JSON or ChatGPT''s conversations.json'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'chatctl;help;user'= {
            cand create 'Create a user (and make it the default user)'
            cand show 'Show a user (default: the current user)'
        }
        &'chatctl;help;user;create'= {
        }
        &'chatctl;help;user;show'= {
        }
        &'chatctl;help;conv'= {
            cand new 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)'
            cand list 'List the user''s conversations, the most recently active first'
            cand show 'Show a conversation with all its messages (default: the current one)'
            cand rename 'Rename a conversation'
            cand rm 'Delete conversations with all their messages (asks first on a terminal)'
            cand prune 'Delete the user''s conversations idle for longer than a duration'
            cand set 'Change a conversation''s model, system prompt or temperature'
            cand tree 'Show a conversation''s branches as an indented tree (the active path marked `*`)'
        }
        &'chatctl;help;conv;new'= {
        }
        &'chatctl;help;conv;list'= {
        }
        &'chatctl;help;conv;show'= {
        }
        &'chatctl;help;conv;rename'= {
        }
        &'chatctl;help;conv;rm'= {
        }
        &'chatctl;help;conv;prune'= {
        }
        &'chatctl;help;conv;set'= {
        }
        &'chatctl;help;conv;tree'= {
        }
        &'chatctl;help;chat'= {
        }
        &'chatctl;help;send'= {
        }
        &'chatctl;help;regenerate'= {
        }
        &'chatctl;help;attach'= {
        }
        &'chatctl;help;wait'= {
        }
        &'chatctl;help;watch'= {
        }
        &'chatctl;help;cancel'= {
        }
        &'chatctl;help;daemon'= {
            cand start 'Start chatd in the background for --server (arguments after `--` go to chatd)'
            cand stop 'Stop chatd: SIGTERM, then wait for it to store its replies and exit'
            cand status 'Show whether chatd runs at --server, its pid, provider and log'
            cand logs 'Print the log of the chatd that chatctl started (-f follows it)'
        }
        &'chatctl;help;daemon;start'= {
        }
        &'chatctl;help;daemon;stop'= {
        }
        &'chatctl;help;daemon;status'= {
        }
        &'chatctl;help;daemon;logs'= {
        }
        &'chatctl;help;status'= {
        }
        &'chatctl;help;models'= {
        }
        &'chatctl;help;search'= {
        }
        &'chatctl;help;export'= {
        }
        &'chatctl;help;import'= {
        }
        &'chatctl;help;completions'= {
        }
        &'chatctl;help;help'= {
        }
    ]
    $completions[$command]
}
