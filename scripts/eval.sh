#!/bin/sh
# Score newsvault's article extractor on the four reference sets and print one table.
#
#   scripts/eval.sh                 # newsvault only
#   scripts/eval.sh --trafilatura   # also Python trafilatura 2.3.1, side by side
#
# What it does (run from anywhere; works in the repository root):
#   1. unpacks the page sets into target/evaldata (once; ../shared/evaldata/unpack.sh);
#   2. builds the release example `extract_jsonl` (same JSON Lines as
#      `newsvault extract --json`, plus an extraction-only timer on stderr);
#   3. runs it over text (990 pages), dates (999), meta (130) and seed (6 Bengali pages,
#      each with its own time zone) and scores each with ../shared/eval/score.py;
#   4. measures pages/s on the text set (extraction only, one thread) and the peak RSS
#      of that run (/usr/bin/time -v; installed with apt-get if missing);
#   5. with --trafilatura: installs trafilatura==2.3.1 into target/trafilatura-venv and
#      runs ../shared/eval/baseline_trafilatura.py on the same files.
# Outputs are kept in target/eval/ (SET.newsvault.jsonl, SET.trafilatura.jsonl).
#
# Environment: SHARED (default ../shared beside the repository) locates eval/ and evaldata/.
set -eu

cd "$(dirname "$0")/.."
SHARED=${SHARED:-$(cd .. && pwd)/shared}
SCORE="$SHARED/eval/score.py"
DEST=target/evaldata
OUT=target/eval
WITH_TRAF=0
for a in "$@"; do
    case "$a" in
        --trafilatura) WITH_TRAF=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (for peak RSS)" >&2
    (apt-get install -y time >/dev/null 2>&1 || sudo apt-get install -y time >/dev/null 2>&1) || true
fi

"$SHARED/evaldata/unpack.sh" "$DEST" >/dev/null
cargo build --release --locked --example extract_jsonl >&2
BIN=${CARGO_TARGET_DIR:-target}/release/examples/extract_jsonl

# page lists; the seed pages carry their own time zone after a tab
for s in text dates meta; do
    python3 "$SCORE" files "$s" "$DEST" > "$OUT/$s.files"
done
python3 - "$SHARED" > "$OUT/seed.files" <<'EOF'
import json, os, sys
base = os.path.join(sys.argv[1], "evaldata", "bengali")
gold = json.load(open(os.path.join(base, "expected.json"), encoding="utf-8"))
for key, exp in sorted(gold.items()):
    print(os.path.join(base, key) + "\t" + exp.get("timezone", "UTC"))
EOF

run_newsvault() {
    set=$1
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$BIN" < "$OUT/$set.files" > "$OUT/$set.newsvault.jsonl" 2> "$OUT/$set.newsvault.err"
    else
        "$BIN" < "$OUT/$set.files" > "$OUT/$set.newsvault.jsonl" 2> "$OUT/$set.newsvault.err"
    fi
}
for s in text dates meta seed; do
    run_newsvault "$s"
done

if [ "$WITH_TRAF" = 1 ]; then
    VENV=target/trafilatura-venv
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q trafilatura==2.3.1 lxml_html_clean
    fi
    for s in text dates meta seed; do
        cut -f1 "$OUT/$s.files" | /usr/bin/time -v "$VENV/bin/python" \
            "$SHARED/eval/baseline_trafilatura.py" - > "$OUT/$s.trafilatura.jsonl" \
            2> "$OUT/$s.trafilatura.err"
    done
fi

python3 - "$SCORE" "$OUT" "$WITH_TRAF" <<'EOF'
import json, re, subprocess, sys
score, out, with_traf = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def summary(set_, tool):
    r = subprocess.run([sys.executable, score, set_, f"{out}/{set_}.{tool}.jsonl", "--json"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)

def speed(tool):
    err = open(f"{out}/text.{tool}.err", encoding="utf-8", errors="replace").read()
    rate = re.findall(r"([\d.]+) pages/s", err)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    return (float(rate[-1]) if rate else None), (int(rss.group(1)) / 1024 if rss else None)

def row(tool):
    t, d, m, s = (summary(x, tool) for x in ("text", "dates", "meta", "seed"))
    pps, rss = speed(tool)
    return {
        "text P / R / F1": f"{t['precision']:.3f} / {t['recall']:.3f} / {t['f1']:.3f}",
        "dates P / R / F1": f"{d['precision']:.3f} / {d['recall']:.3f} / {d['f1']:.3f}",
        "meta title / byline / date": f"{m['title']['right']}/{m['title']['of']}, "
            f"{m['byline']['right']}/{m['byline']['of']}, {m['date']['right']}/{m['date']['of']}",
        "seed checks held": f"{s['held']} of {s['held'] + s['failed']}",
        "text pages/s (1 thread)": f"{pps:.1f}" if pps else "?",
        "peak RSS (text run)": f"{rss:.0f} MB" if rss else "?",
    }, (t, d, m, s, pps)

bar = {
    "text P / R / F1": "F1 >= 0.94, P >= 0.92",
    "dates P / R / F1": "F1 >= 0.96",
    "meta title / byline / date": ">= 110, >= 60, >= 32",
    "seed checks held": "all",
    "text pages/s (1 thread)": ">= 5x trafilatura (~105)",
    "peak RSS (text run)": "",
}
nv, (t, d, m, s, pps) = row("newsvault")
cols = [("bar (issue 3)", bar), ("newsvault", nv)]
if with_traf:
    cols.insert(0, ("trafilatura 2.3.1", row("trafilatura")[0]))
header = "| set | " + " | ".join(c for c, _ in cols) + " |"
print(header)
print("|" + "---|" * (len(cols) + 1))
for k in bar:
    print(f"| {k} | " + " | ".join(v[k] for _, v in cols) + " |")
met = {
    "text": t["f1"] >= 0.94 and t["precision"] >= 0.92,
    "dates": d["f1"] >= 0.96,
    "meta": m["title"]["right"] >= 110 and m["byline"]["right"] >= 60 and m["date"]["right"] >= 32,
    "seed": s["failed"] == 0,
    "speed": bool(pps and pps >= 105),
}
print("\nbar reached: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in met.items()))
EOF
