#!/usr/bin/env bash
# Interleaved REST throughput of several chatd binaries on copies of one seeded database
# (BENCHMARKS.md, "Issue 19, part five"):
#
#   bench/rest-ab.sh ROUNDS PATH CHATD_BINARY...
#
# e.g. `bench/rest-ab.sh 3 /api/v1/users/1/conversations /tmp/before/chatd
# target/release/chatd`. Each round runs `chatd-bench rest` (64 connections, 4 s) once
# against every binary in turn, so that the machine's drift falls on all of them alike.
set -uo pipefail
rounds=$1; path=$2; shift 2
bench=${BENCH:-$(cd "$(dirname "$0")/.." && pwd)/target/release/chatd-bench}
out=${OUT:-/tmp/chatd-rest-ab}; rm -rf "$out"; mkdir -p "$out"
"$bench" seed "$out/seed.db" 0 0 >/dev/null
pids=(); ports=()
i=0
for binary in "$@"; do
  i=$((i + 1)); dir="$out/$i"; mkdir -p "$dir/home"; cp "$out/seed.db" "$dir/db.sqlite"
  port=$((30000 + RANDOM % 20000)); ports+=("$port")
  env -i PATH=/usr/bin:/bin HOME="$dir/home" CHATD_LOG=warn "$binary" --listen "127.0.0.1:$port" \
    --database "$dir/db.sqlite" > "$dir/out" 2> "$dir/err" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
sleep 2
for _ in $(seq "$rounds"); do
  i=0
  for binary in "$@"; do
    echo "$binary: $("$bench" rest "127.0.0.1:${ports[$i]}" "$path" 4 | tail -1)"
    i=$((i + 1))
  done
done
