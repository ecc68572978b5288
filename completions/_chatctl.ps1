
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'chatctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'chatctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'chatctl' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Create or show users')
            [CompletionResult]::new('conv', 'conv', [CompletionResultType]::ParameterValue, 'Create, list, show, rename, configure or delete conversations')
            [CompletionResult]::new('chat', 'chat', [CompletionResultType]::ParameterValue, 'Chat interactively: history first, replies live, /help for commands')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send one message and stream the reply to stdout')
            [CompletionResult]::new('regenerate', 'regenerate', [CompletionResultType]::ParameterValue, 'Ask for another reply (the old one stays, on its own branch) and stream it')
            [CompletionResult]::new('attach', 'attach', [CompletionResultType]::ParameterValue, 'Print the reply being generated on a conversation live, from its start or a cursor')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait for the reply in flight on a conversation to end; print how it ended')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print what happens in chatd as it happens: users, conversations, messages, replies')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Stop the reply being generated on a conversation (default: the current one)')
            [CompletionResult]::new('daemon', 'daemon', [CompletionResultType]::ParameterValue, 'Start, stop or watch chatd: status, pid, log')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether the daemon answers, and its version, provider, model and database')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List the models of every provider the daemon knows, and the default')
            [CompletionResult]::new('search', 'search', [CompletionResultType]::ParameterValue, 'Search your messages: words, "phrases", -excluded, role:, before:, after:')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import conversations from chatd''s JSON or ChatGPT''s conversations.json')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;user' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a user (and make it the default user)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a user (default: the current user)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;user;create' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'An email address to store with the user')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;user;show' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;user;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a user (and make it the default user)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a user (default: the current user)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;user;help;create' {
            break
        }
        'chatctl;user;help;show' {
            break
        }
        'chatctl;user;help;help' {
            break
        }
        'chatctl;conv' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the user''s conversations, the most recently active first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a conversation with all its messages (default: the current one)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a conversation')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete conversations with all their messages (asks first on a terminal)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete the user''s conversations idle for longer than a duration')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change a conversation''s model, system prompt or temperature')
            [CompletionResult]::new('tree', 'tree', [CompletionResultType]::ParameterValue, 'Show a conversation''s branches as an indented tree (the active path marked `*`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;conv;new' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A name for the conversation')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;list' {
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'How many conversations to skip')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many conversations to list at most (0-1000)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'List every conversation (pages through all of them)')
            [CompletionResult]::new('--oldest-first', '--oldest-first', [CompletionResultType]::ParameterName, 'The least recently active first (default: the most recently active first)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;show' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;rename' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;rm' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;prune' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'How long a conversation must have been idle: a number and a unit, s, m, h, d or w (e.g. 30d, 12h, 2w)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;set' {
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The model to answer it: PROVIDER/MODEL, or a model of the default provider')
            [CompletionResult]::new('--system-prompt', '--system-prompt', [CompletionResultType]::ParameterName, 'Its system prompt, sent before its history instead of chatd''s')
            [CompletionResult]::new('--system-prompt-file', '--system-prompt-file', [CompletionResultType]::ParameterName, 'Its system prompt, read from a file')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Its sampling temperature, 0 to 2')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;tree' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;conv;help' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the user''s conversations, the most recently active first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a conversation with all its messages (default: the current one)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a conversation')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete conversations with all their messages (asks first on a terminal)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete the user''s conversations idle for longer than a duration')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change a conversation''s model, system prompt or temperature')
            [CompletionResult]::new('tree', 'tree', [CompletionResultType]::ParameterValue, 'Show a conversation''s branches as an indented tree (the active path marked `*`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;conv;help;new' {
            break
        }
        'chatctl;conv;help;list' {
            break
        }
        'chatctl;conv;help;show' {
            break
        }
        'chatctl;conv;help;rename' {
            break
        }
        'chatctl;conv;help;rm' {
            break
        }
        'chatctl;conv;help;prune' {
            break
        }
        'chatctl;conv;help;set' {
            break
        }
        'chatctl;conv;help;tree' {
            break
        }
        'chatctl;conv;help;help' {
            break
        }
        'chatctl;chat' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--new', '--new', [CompletionResultType]::ParameterName, 'Start a new conversation')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Continue the last conversation used (a new one when there is none)')
            [CompletionResult]::new('--show-reasoning', '--show-reasoning', [CompletionResultType]::ParameterName, 'Show the model''s reasoning, dimmed, while it streams (else a spinner says "thinking")')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;send' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The conversation to send to (default: the last one used, else a new one)')
            [CompletionResult]::new('--conversation', '--conversation', [CompletionResultType]::ParameterName, 'The conversation to send to (default: the last one used, else a new one)')
            [CompletionResult]::new('--edit-of', '--edit-of', [CompletionResultType]::ParameterName, 'Send the message as an edit of this earlier user message of the conversation: it is stored beside it on a new branch, and answered there (the old version stays; `chatctl conv tree` shows both)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Start a new conversation on this model (PROVIDER/MODEL, see `chatctl models`)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--new', '--new', [CompletionResultType]::ParameterName, 'Start a new conversation for this message')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Return once the message is stored, printing the conversation id (the object with --json); the reply runs on: follow it with `chatctl attach` or `chatctl wait`')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'With --json: print each event as it arrives, one JSON object per line')
            [CompletionResult]::new('--show-reasoning', '--show-reasoning', [CompletionResultType]::ParameterName, 'Show the model''s reasoning, dimmed on stderr, while it streams')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;regenerate' {
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'The assistant message to answer again (default: the last reply)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'With --json: print each event as it arrives, one JSON object per line')
            [CompletionResult]::new('--show-reasoning', '--show-reasoning', [CompletionResultType]::ParameterName, 'Show the model''s reasoning, dimmed on stderr, while it streams')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;attach' {
            [CompletionResult]::new('--after', '--after', [CompletionResultType]::ParameterName, 'Start after this event id (a reply cursor such as `12:40`) instead of the start')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'With --json: print each event as it arrives, one JSON object per line')
            [CompletionResult]::new('--show-reasoning', '--show-reasoning', [CompletionResultType]::ParameterName, 'Show the model''s reasoning, dimmed on stderr, while it streams')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;wait' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this many seconds (exit code 1); the reply goes on')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;watch' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;cancel' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;daemon' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start chatd in the background for --server (arguments after `--` go to chatd)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop chatd: SIGTERM, then wait for it to store its replies and exit')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether chatd runs at --server, its pid, provider and log')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the log of the chatd that chatctl started (-f follows it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;daemon;start' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;daemon;stop' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for chatd to store its replies and exit, in seconds')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;daemon;status' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;daemon;logs' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many of the last lines to print first (0: the whole log)')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'How many of the last lines to print first (0: the whole log)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing what chatd writes, until Ctrl-C')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing what chatd writes, until Ctrl-C')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;daemon;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start chatd in the background for --server (arguments after `--` go to chatd)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop chatd: SIGTERM, then wait for it to store its replies and exit')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether chatd runs at --server, its pid, provider and log')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the log of the chatd that chatctl started (-f follows it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;daemon;help;start' {
            break
        }
        'chatctl;daemon;help;stop' {
            break
        }
        'chatctl;daemon;help;status' {
            break
        }
        'chatctl;daemon;help;logs' {
            break
        }
        'chatctl;daemon;help;help' {
            break
        }
        'chatctl;status' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;models' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;search' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most this many hits (1 to 100), best first')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The format of one conversation')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every conversation of the user, as JSON Lines (one conversation per line)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'chatctl;import' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'What the file is (default: told apart by its shape)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'chatctl;completions' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Base URL of the chat API')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Act as this user (remembered as the default for next time)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the API''s JSON objects on stdout, and nothing else there')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-render', '--no-render', [CompletionResultType]::ParameterName, 'Print replies as written, without rendering their Markdown (always so on a pipe)')
            [CompletionResult]::new('--no-autostart', '--no-autostart', [CompletionResultType]::ParameterName, 'Never start chatd, even when nothing answers at a local server address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'chatctl;help' {
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Create or show users')
            [CompletionResult]::new('conv', 'conv', [CompletionResultType]::ParameterValue, 'Create, list, show, rename, configure or delete conversations')
            [CompletionResult]::new('chat', 'chat', [CompletionResultType]::ParameterValue, 'Chat interactively: history first, replies live, /help for commands')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send one message and stream the reply to stdout')
            [CompletionResult]::new('regenerate', 'regenerate', [CompletionResultType]::ParameterValue, 'Ask for another reply (the old one stays, on its own branch) and stream it')
            [CompletionResult]::new('attach', 'attach', [CompletionResultType]::ParameterValue, 'Print the reply being generated on a conversation live, from its start or a cursor')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait for the reply in flight on a conversation to end; print how it ended')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print what happens in chatd as it happens: users, conversations, messages, replies')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Stop the reply being generated on a conversation (default: the current one)')
            [CompletionResult]::new('daemon', 'daemon', [CompletionResultType]::ParameterValue, 'Start, stop or watch chatd: status, pid, log')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether the daemon answers, and its version, provider, model and database')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'List the models of every provider the daemon knows, and the default')
            [CompletionResult]::new('search', 'search', [CompletionResultType]::ParameterValue, 'Search your messages: words, "phrases", -excluded, role:, before:, after:')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write a conversation (JSON or Markdown), or all of yours (JSON Lines), to a file')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import conversations from chatd''s JSON or ChatGPT''s conversations.json')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'chatctl;help;user' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a user (and make it the default user)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a user (default: the current user)')
            break
        }
        'chatctl;help;user;create' {
            break
        }
        'chatctl;help;user;show' {
            break
        }
        'chatctl;help;conv' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Start a new, empty conversation (and make it the one `send` and `chat --continue` use)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the user''s conversations, the most recently active first')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a conversation with all its messages (default: the current one)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a conversation')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete conversations with all their messages (asks first on a terminal)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete the user''s conversations idle for longer than a duration')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change a conversation''s model, system prompt or temperature')
            [CompletionResult]::new('tree', 'tree', [CompletionResultType]::ParameterValue, 'Show a conversation''s branches as an indented tree (the active path marked `*`)')
            break
        }
        'chatctl;help;conv;new' {
            break
        }
        'chatctl;help;conv;list' {
            break
        }
        'chatctl;help;conv;show' {
            break
        }
        'chatctl;help;conv;rename' {
            break
        }
        'chatctl;help;conv;rm' {
            break
        }
        'chatctl;help;conv;prune' {
            break
        }
        'chatctl;help;conv;set' {
            break
        }
        'chatctl;help;conv;tree' {
            break
        }
        'chatctl;help;chat' {
            break
        }
        'chatctl;help;send' {
            break
        }
        'chatctl;help;regenerate' {
            break
        }
        'chatctl;help;attach' {
            break
        }
        'chatctl;help;wait' {
            break
        }
        'chatctl;help;watch' {
            break
        }
        'chatctl;help;cancel' {
            break
        }
        'chatctl;help;daemon' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start chatd in the background for --server (arguments after `--` go to chatd)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop chatd: SIGTERM, then wait for it to store its replies and exit')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show whether chatd runs at --server, its pid, provider and log')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the log of the chatd that chatctl started (-f follows it)')
            break
        }
        'chatctl;help;daemon;start' {
            break
        }
        'chatctl;help;daemon;stop' {
            break
        }
        'chatctl;help;daemon;status' {
            break
        }
        'chatctl;help;daemon;logs' {
            break
        }
        'chatctl;help;status' {
            break
        }
        'chatctl;help;models' {
            break
        }
        'chatctl;help;search' {
            break
        }
        'chatctl;help;export' {
            break
        }
        'chatctl;help;import' {
            break
        }
        'chatctl;help;completions' {
            break
        }
        'chatctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
