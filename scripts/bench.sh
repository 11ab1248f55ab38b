#!/bin/sh
# End-to-end benchmark: archive 2,000 real pages served from 127.0.0.1, side by side with
# Python trafilatura's own command line fetching and extracting the same URLs, and the
# parse-only floor (html5ever parsing the same bytes) as the limit of this work here.
#
#   scripts/bench.sh                  # newsvault, trafilatura and the floor
#   scripts/bench.sh --no-trafilatura # newsvault and the floor only
#   scripts/bench.sh --distinct       # without the pages whose bytes repeat an earlier
#                                     # page's (560 of the 2,000), so that every page is
#                                     # parsed and extracted
#   scripts/bench.sh --no-trafilatura --profile
#                                     # the backfill under `perf record` (line tables in the
#                                     # build), then its samples grouped by
#                                     # scripts/perf_groups.py (FUNCTIONS=N rows of
#                                     # functions, default 15); its times include perf's
#                                     # overhead, so read them from a run without it
#
# What it does (from the repository root):
#   1. unpacks the evaluation pages into target/evaldata (../shared/evaldata/unpack.sh)
#      and takes the first 2,000 of the text, dates and meta sets;
#   2. builds newsvault and the examples bench_server and parse_floor (release);
#   3. serves the pages from memory on 127.0.0.1 (examples/bench_server.rs) and runs
#      `newsvault backfill --urls` into a fresh archive with politeness lifted for
#      loopback (no delay, robots.txt not read, IN_FLIGHT requests in flight and pages in
#      work, default 16: 24 was barely faster on 2 cores, at 20 MB more memory; see
#      docs/performance-log.md);
#   4. runs `trafilatura -i urls.txt -o DIR --parallel 2` on the same URLs (installed from
#      PyPI into target/trafilatura-venv; its per-host sleep and its SSRF guard are turned
#      off for loopback through a settings file);
#   5. runs the parse floor on all cores;
#   6. prints pages/s, CPU seconds per page, peak RSS, and the archive's size on disk
#      against the HTML served.
# Everything is kept in target/bench/; the binaries are taken from $CARGO_TARGET_DIR when
# set (as cargo does), else target/. Nothing here touches the network but PyPI.
#
# Environment: SHARED (default ../shared) locates evaldata/ and eval/; IN_FLIGHT (default
# 16) sets newsvault's requests in flight and `[run] concurrency`.
set -eu

cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
OUT=target/bench
PAGES=2000
WITH_TRAF=1
PROFILE=0
DISTINCT=0
IN_FLIGHT=${IN_FLIGHT:-16}
for a in "$@"; do
    case "$a" in
        --no-trafilatura) WITH_TRAF=0 ;;
        --distinct) DISTINCT=1 ;;
        --profile) PROFILE=1 ;;
        -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
rm -rf "$OUT"
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (for CPU time and peak RSS)" >&2
    (apt-get install -y time >/dev/null 2>&1 || sudo apt-get install -y time >/dev/null 2>&1) || true
fi
TIME="/usr/bin/time -v"
RECORD=
if [ "$PROFILE" = 1 ]; then
    command -v perf >/dev/null || { echo "perf is not installed (Debian: linux-perf)" >&2; exit 2; }
    export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
    RECORD="perf record -F 999 -g --call-graph dwarf,16384 -o $OUT/perf.data"
fi

"$SHARED/evaldata/unpack.sh" target/evaldata >/dev/null
for s in text dates meta; do
    python3 "$SHARED/eval/score.py" files "$s" target/evaldata
done | cut -f1 | head -n "$PAGES" > "$OUT/pages.files"
if [ "$DISTINCT" = 1 ]; then
    python3 - "$OUT/pages.files" <<'EOF'
import hashlib, sys
path = sys.argv[1]
seen, kept = set(), []
for line in open(path):
    digest = hashlib.sha256(open(line.strip(), "rb").read()).digest()
    if digest not in seen:
        seen.add(digest)
        kept.append(line)
open(path, "w").writelines(kept)
EOF
fi
cargo build --release --locked --bin newsvault --example bench_server --example parse_floor >&2
RELEASE=${CARGO_TARGET_DIR:-target}/release

"$RELEASE/examples/bench_server" < "$OUT/pages.files" > "$OUT/server.addr" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
while [ ! -s "$OUT/server.addr" ]; do sleep 0.1; done
BASE=$(head -n1 "$OUT/server.addr")
n=$(wc -l < "$OUT/pages.files")
i=0
: > "$OUT/urls.txt"
while [ "$i" -lt "$n" ]; do echo "$BASE/p/$i" >> "$OUT/urls.txt"; i=$((i + 1)); done

cat > "$OUT/bench.toml" <<EOF
[archive]
database = "$OUT/archive.sqlite3"
[http]
timeout = "30s"
max_body = "20MiB"
per_host_requests = $IN_FLIGHT
per_host_delay = "0s"
max_requests_in_flight = $IN_FLIGHT
obey_robots = false
[run]
concurrency = $IN_FLIGHT
EOF

echo "newsvault backfill of $n pages..." >&2
$TIME $RECORD "$RELEASE/newsvault" --config "$OUT/bench.toml" --log-format json backfill \
    --urls "$OUT/urls.txt" --json > "$OUT/newsvault.json" 2> "$OUT/newsvault.err"

if [ "$WITH_TRAF" = 1 ]; then
    VENV=target/trafilatura-venv
    if [ ! -x "$VENV/bin/trafilatura" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q trafilatura==2.3.1 lxml_html_clean
    fi
    SETTINGS=$("$VENV/bin/python" -c 'import trafilatura, os; print(os.path.join(os.path.dirname(trafilatura.__file__), "settings.cfg"))')
    sed -e 's/^SLEEP_TIME = .*/SLEEP_TIME = 0/' -e 's/^SSRF_PROTECTION = .*/SSRF_PROTECTION = off/' \
        "$SETTINGS" > "$OUT/trafilatura.cfg"
    echo "trafilatura -i urls.txt --parallel 2 ..." >&2
    $TIME "$VENV/bin/trafilatura" --config-file "$OUT/trafilatura.cfg" -i "$OUT/urls.txt" \
        -o "$OUT/trafilatura-out" --parallel 2 > /dev/null 2> "$OUT/trafilatura.err" || true
fi

"$RELEASE/examples/parse_floor" < "$OUT/pages.files" > "$OUT/floor.txt"

python3 - "$OUT" "$WITH_TRAF" <<'EOF'
import json, os, re, sys
out, with_traf = sys.argv[1], sys.argv[2] == "1"

def gnu_time(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    def num(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    seconds = None
    if wall:
        h, m, s = wall.groups()
        seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return {
        "wall": seconds,
        "cpu": (num(r"User time \(seconds\): ([\d.]+)") or 0) + (num(r"System time \(seconds\): ([\d.]+)") or 0),
        "rss_mb": (num(r"Maximum resident set size \(kbytes\): (\d+)") or 0) / 1024,
    }

pages = sum(1 for _ in open(f"{out}/pages.files"))
served = sum(os.path.getsize(p.strip()) for p in open(f"{out}/pages.files"))
nv = gnu_time(f"{out}/newsvault.err")
summary = json.load(open(f"{out}/newsvault.json"))
done = summary["archived"] + summary["duplicates"]
rows = [("newsvault backfill", pages, nv, f"{summary['archived']} archived, {summary['duplicates']} duplicates, {summary['failed']} failed")]
if with_traf:
    tr = gnu_time(f"{out}/trafilatura.err")
    written = sum(len(f) for _, _, f in os.walk(f"{out}/trafilatura-out"))
    rows.append(("trafilatura 2.3.1 -i --parallel 2", pages, tr, f"{written} files written"))
floor = open(f"{out}/floor.txt").read()
floor_rate = float(re.search(r"([\d.]+) pages/s", floor).group(1))
print(f"| run | pages/s | CPU s per page | peak RSS | notes |")
print("|---|---|---|---|---|")
for name, n, t, note in rows:
    rate = n / t["wall"] if t["wall"] else 0
    print(f"| {name} | {rate:.1f} | {t['cpu'] / n * 1000:.1f} ms | {t['rss_mb']:.0f} MB | {note} |")
print(f"| parse floor (html5ever, all cores) | {floor_rate:.1f} | | | {floor.strip()} |")
nv_rate = pages / nv["wall"]
if with_traf and tr["wall"]:
    print(f"\nnewsvault / trafilatura: {nv_rate / (pages / tr['wall']):.1f}x pages per second")
print(f"parse floor / newsvault: {floor_rate / nv_rate:.1f}x")
db = [f"{out}/archive.sqlite3" + s for s in ("", "-wal", "-shm")]
size = sum(os.path.getsize(p) for p in db if os.path.exists(p))
print(f"archive on disk: {size / 1e6:.1f} MB for {served / 1e6:.1f} MB of HTML served ({100 * size / served:.1f} %)")
EOF

if [ "$PROFILE" = 1 ]; then
    echo
    perf script -i "$OUT/perf.data" -F comm,tid,ip,sym 2>/dev/null \
        | python3 scripts/perf_groups.py --functions "${FUNCTIONS:-15}"
fi
