#!/usr/bin/env bash
# Instructions chatd spends relaying N chats from the fake upstream, counted by callgrind
# from just before the streams to just after (BENCHMARKS.md, "Issue 19, part two"):
#
#   bench/callgrind-streams.sh LABEL N [TOKENS [DELAY_MS [RAMP_MS]]]
#
# after `cargo build --profile profiling -p chatd -p chatd-bench` (BIN= another folder of
# both binaries). A fresh database each run (200 conversations, no messages), one chat
# first so that start-up is not counted. Instructions per stream come from two N (their
# difference over the difference of N), per token from two TOKENS; RAMP_MS of N x 150
# starts the chats one at a time, so that the writer's group commit does not batch them
# differently from run to run (check that the time to first token printed is small).
set -euo pipefail
label=$1; n=$2; tokens=${3:-20}; delay=${4:-0}; ramp=${5:-1000}
bin=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/profiling}
out=${OUT:-/tmp/chatd-callgrind}/$label-$n-$tokens-$delay-$ramp
rm -rf "$out"; mkdir -p "$out/home/.config" "$out/home/.local/share"
"$bin/chatd-bench" seed "$out/db.sqlite" 200 0 >/dev/null
"$bin/chatd-bench" upstream "$tokens" "$delay" > "$out/upstream.out" 2>&1 &
up=$!
for _ in $(seq 100); do grep -q listening "$out/upstream.out" && break; sleep 0.1; done
uport=$(grep -o 'listening [0-9]*' "$out/upstream.out" | awk '{print $2}')
port=$((20000 + RANDOM % 20000))
env -i PATH=/usr/bin:/bin HOME="$out/home" XDG_CONFIG_HOME="$out/home/.config" \
  XDG_DATA_HOME="$out/home/.local/share" XDG_STATE_HOME="$out/home/.state" \
  XDG_CACHE_HOME="$out/home/.cache" CHATD_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$bin/chatd" --listen "127.0.0.1:$port" --database "$out/db.sqlite" \
  --provider openai --model bench --max-replies 20000 \
  --openai-base-url "http://127.0.0.1:$uport/v1" > "$out/chatd.out" 2> "$out/chatd.err" &
cg=$!
for _ in $(seq 600); do grep -q "listening on" "$out/chatd.out" 2>/dev/null && break; sleep 0.1; done
curl -s -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/chat" \
  -H 'content-type: application/json' -d '{"conversation_id":210,"message":"warm"}'
sleep 1
callgrind_control -z $cg >/dev/null
"$bin/chatd-bench" streams "127.0.0.1:$port" "$n" "$ramp" > "$out/streams.out"
sleep 1
callgrind_control -d $cg >/dev/null
kill -TERM $cg; wait $cg || true
kill $up; wait $up 2>/dev/null || true
cat "$out/streams.out"
total=$(grep -h '^summary:\|^totals:' "$out/callgrind.out.1" | awk '{print $2}' | head -1)
echo "$label N=$n tokens=$tokens delay=$delay ramp=$ramp instructions=$total" \
  | tee -a "${OUT:-/tmp/chatd-callgrind}/results.txt"
