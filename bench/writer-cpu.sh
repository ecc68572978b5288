#!/usr/bin/env bash
# CPU chatd and its SQLite writer thread spend on N chats from a zero-delay upstream,
# read from /proc (BENCHMARKS.md, "Issue 19, part five"):
#
#   bench/writer-cpu.sh CHATD_BINARY N [RAMP_MS [MESSAGES_EACH]]
#
# after `cargo build --release -p chatd -p chatd-bench`. A fresh database of N + 20
# conversations (MESSAGES_EACH messages each, default 0), one warm-up round of N chats
# (one per conversation), then the measured round; prints the clock ticks (1/100 s) of
# the writer thread and of the whole process over the measured round, and the round's
# summary line. PERF=1 records the writer thread with DWARF stacks into OUT/perf.data.
set -euo pipefail
chatd=$1; n=$2; ramp=${3:-2000}; each=${4:-0}
bench=${BENCH:-$(cd "$(dirname "$0")/.." && pwd)/target/release/chatd-bench}
out=${OUT:-/tmp/chatd-writer-cpu}; rm -rf "$out"; mkdir -p "$out/home"
"$bench" seed "$out/db.sqlite" $((n + 20)) "$each" >/dev/null
"$bench" upstream 20 0 > "$out/upstream.out" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$out/upstream.out" && break; sleep 0.1; done
uport=$(grep -o 'listening [0-9]*' "$out/upstream.out" | awk '{print $2}')
port=$((20000 + RANDOM % 20000))
env -i PATH=/usr/bin:/bin HOME="$out/home" CHATD_LOG=warn "$chatd" --listen "127.0.0.1:$port" \
  --database "$out/db.sqlite" --provider openai --model bench --max-replies 20000 \
  --openai-base-url "http://127.0.0.1:$uport/v1" > "$out/chatd.out" 2> "$out/chatd.err" &
pid=$!
for _ in $(seq 600); do grep -q "listening on" "$out/chatd.out" 2>/dev/null && break; sleep 0.1; done
"$bench" streams "127.0.0.1:$port" "$n" "$ramp" > "$out/warm.out"
tid=$(grep -l chatd-sqlite-wr /proc/$pid/task/*/comm | head -1 | cut -d/ -f5)
if [ -n "${PERF:-}" ]; then
  perf record -o "$out/perf.data" -F 2999 --call-graph dwarf,16384 -t "$tid" 2> "$out/perf.err" &
  recorder=$!; sleep 0.5
fi
ticks() { awk '{print $14 + $15}' "$1"; }
w0=$(ticks /proc/$pid/task/$tid/stat); p0=$(ticks /proc/$pid/stat)
"$bench" streams "127.0.0.1:$port" "$n" "$ramp" > "$out/streams.out"
w1=$(ticks /proc/$pid/task/$tid/stat); p1=$(ticks /proc/$pid/stat)
if [ -n "${PERF:-}" ]; then kill -INT $recorder; wait $recorder || true; fi
kill -TERM $pid; wait $pid || true
echo "writer ticks $((w1 - w0)), chatd ticks $((p1 - p0)), for $n chats"
tail -1 "$out/streams.out"
