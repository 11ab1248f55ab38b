#!/bin/sh
# Idle cost: `newsvault run` following 10,000 feed sources, measured between polls.
#
#   scripts/idle.sh                      # 10,000 sources, a 120 s window
#   SOURCES=1000 WINDOW=60 scripts/idle.sh
#
# What it does (from the repository root):
#   1. builds newsvault (release);
#   2. serves one small feed from 127.0.0.1 (Python's http.server) and writes a config of
#      SOURCES feed sources on it (each its own URL, schedule every 30 minutes, politeness
#      lifted for loopback);
#   3. starts `newsvault run`, waits until every source has been polled once (the
#      `sources` table says so), then lets it sit for WINDOW seconds;
#   4. prints resident memory (now and peak) and the CPU time the daemon used in the
#      window, as a share of one core, from /proc.
# Everything is kept in target/idle/; the binary is taken from $CARGO_TARGET_DIR when set
# (as cargo does), else target/. Nothing here touches the network.
set -eu

cd "$(dirname "$0")/.."
OUT=target/idle
N=${SOURCES:-10000}
WINDOW=${WINDOW:-120}
rm -rf "$OUT"
mkdir -p "$OUT/www"

cargo build --release --locked --bin newsvault >&2
BIN=${CARGO_TARGET_DIR:-target}/release/newsvault

cat > "$OUT/www/feed.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>idle</title><link>http://127.0.0.1/</link>
<description>a feed with nothing new</description></channel></rss>
EOF

python3 -u -m http.server --bind 127.0.0.1 --directory "$OUT/www" 0 \
    > "$OUT/server.log" 2>&1 &
SERVER=$!
DAEMON=
cleanup() {
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null || true
    kill "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
PORT=
while [ -z "$PORT" ]; do
    sleep 0.2
    PORT=$(sed -n 's/.* port \([0-9][0-9]*\) .*/\1/p' "$OUT/server.log" | head -n1)
done

python3 - "$OUT" "$N" "$PORT" <<'EOF'
import sys
out, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(f"{out}/idle.toml", "w") as f:
    f.write(f'[archive]\ndatabase = "{out}/archive.sqlite3"\n')
    f.write('[http]\nper_host_requests = 8\nper_host_delay = "0s"\n'
            'max_requests_in_flight = 8\nobey_robots = false\n')
    f.write('[run]\nconcurrency = 8\n')
    for i in range(n):
        f.write(f'[[source]]\nname = "feed-{i}"\n'
                f'url = "http://127.0.0.1:{port}/feed.xml?source={i}"\n'
                f'kind = "feed"\nschedule = "*/30 * * * *"\n')
EOF

"$BIN" --config "$OUT/idle.toml" --log-format json run > "$OUT/daemon.log" 2>&1 &
DAEMON=$!
START=$(date +%s)
polled=0
while [ "$polled" -lt "$N" ]; do
    sleep 2
    kill -0 "$DAEMON" 2>/dev/null || { echo "newsvault run exited; see $OUT/daemon.log" >&2; exit 1; }
    polled=$(python3 -c '
import sqlite3, sys
try:
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
    print(db.execute("SELECT count(*) FROM sources WHERE last_polled_at IS NOT NULL").fetchone()[0])
except sqlite3.Error:
    print(0)
' "$OUT/archive.sqlite3")
done
FIRST=$(( $(date +%s) - START ))
sleep 5

ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON/stat"; }
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON/status"; }
T0=$(ticks)
sleep "$WINDOW"
T1=$(ticks)
HZ=$(getconf CLK_TCK)
RSS=$(status VmRSS)
HWM=$(status VmHWM)
python3 - "$N" "$FIRST" "$WINDOW" "$T0" "$T1" "$HZ" "$RSS" "$HWM" <<'EOF'
import sys
n, first, window, t0, t1, hz, rss, hwm = sys.argv[1:]
cpu = (int(t1) - int(t0)) / int(hz)
print(f"| sources | first round of polls | RSS between polls | peak RSS | CPU between polls |")
print(f"|---|---|---|---|---|")
print(f"| {int(n):,} | {first} s | {int(rss) / 1024:.1f} MB | {int(hwm) / 1024:.1f} MB | "
      f"{cpu:.2f} s in {window} s = {100 * cpu / float(window):.2f} % of one core |")
EOF
