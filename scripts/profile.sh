#!/bin/sh
# Where the end-to-end backfill's CPU goes: the backfill of scripts/bench.sh under
# `perf record`, its samples grouped by scripts/perf_groups.py.
#
#   scripts/profile.sh              # run scripts/bench.sh --no-trafilatura first
#   FUNCTIONS=30 scripts/profile.sh # more of the newsvault functions table
#
# What it does (from the repository root): builds newsvault and bench_server (release,
# with line tables, into $CARGO_TARGET_DIR or target/), serves the pages bench.sh chose
# (target/bench/pages.files) from 127.0.0.1, records `newsvault backfill --urls` into a
# fresh archive with the same settings as bench.sh (perf, 999 Hz, DWARF call graphs), and
# prints the share of samples per group and per newsvault function. Everything is kept in
# target/profile/. Needs `perf` (Debian's linux-perf) and permission to use it.
set -eu

cd "$(dirname "$0")/.."
OUT=target/profile
FUNCTIONS=${FUNCTIONS:-15}
if [ ! -s target/bench/pages.files ]; then
    echo "target/bench/pages.files is missing: run scripts/bench.sh --no-trafilatura first" >&2
    exit 2
fi
command -v perf >/dev/null || { echo "perf is not installed (Debian: linux-perf)" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"

CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release --locked --bin newsvault --example bench_server >&2
RELEASE=${CARGO_TARGET_DIR:-target}/release

"$RELEASE/examples/bench_server" < target/bench/pages.files > "$OUT/server.addr" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
while [ ! -s "$OUT/server.addr" ]; do sleep 0.1; done
BASE=$(head -n1 "$OUT/server.addr")
n=$(wc -l < target/bench/pages.files)
i=0
: > "$OUT/urls.txt"
while [ "$i" -lt "$n" ]; do echo "$BASE/p/$i" >> "$OUT/urls.txt"; i=$((i + 1)); done

cat > "$OUT/profile.toml" <<TOML
[archive]
database = "$OUT/archive.sqlite3"
[http]
timeout = "30s"
max_body = "20MiB"
per_host_requests = 8
per_host_delay = "0s"
max_requests_in_flight = 8
obey_robots = false
[run]
concurrency = 8
TOML

perf record -F 999 -g --call-graph dwarf,16384 -o "$OUT/perf.data" \
    "$RELEASE/newsvault" --config "$OUT/profile.toml" --log-format json backfill \
    --urls "$OUT/urls.txt" --json > "$OUT/backfill.json" 2> "$OUT/backfill.err"
perf script -i "$OUT/perf.data" -F comm,tid,ip,sym 2>/dev/null \
    | python3 scripts/perf_groups.py --functions "$FUNCTIONS"
