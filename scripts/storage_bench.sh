#!/bin/sh
# Storage benchmark: bytes on disk per archived page against the raw HTML, before and
# after `newsvault compact` (per-site zstd dictionaries) and VACUUM, with the space each
# table and index takes. No network and no HTTP: the pages go through the store API
# (examples/storage_bench.rs), decoded and extracted as the pipeline does.
#
#   scripts/storage_bench.sh            # both runs below
#
# 1. eval: the first 2,000 pages of the text, dates and meta evaluation sets (as
#    scripts/bench.sh takes them), each with the URL it was collected from: many sites,
#    at most 22 pages of one host, so few sites reach a dictionary.
# 2. site: a site-heavy synthetic made of real pages: 5 sites of 400 pages each, every
#    site one real page's template with other real pages' titles, paragraphs and link
#    texts in it (see the example's documentation for what it over- and understates).
#
# Results go to target/storage-bench/{eval,site}.md. Environment: SHARED (default
# ../shared) locates evaldata/ and eval/; EXTRA adds arguments to the example (e.g.
# "--dict-size 65536 --min-captures 50").
set -eu

cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
OUT=target/storage-bench
PAGES=2000
mkdir -p "$OUT"
"$SHARED/evaldata/unpack.sh" target/evaldata >/dev/null
for s in text dates meta; do
    python3 "$SHARED/eval/score.py" files "$s" target/evaldata
done | cut -f1 | head -n "$PAGES" > "$OUT/pages.files"

# The URL each page was collected from, where its set records one.
python3 - "$SHARED/evaldata" "$OUT/pages.files" > "$OUT/pages.list" <<'PY'
import json, os, sys
data, files = sys.argv[1], sys.argv[2]
urls = {}
for url, entry in json.load(open(os.path.join(data, "trafilatura", "evaldata.json"))).items():
    urls[os.path.basename(entry["file"])] = url
for name in ("eval_default.json", "eval_mediacloud_2020.json"):
    for url, entry in json.load(open(os.path.join(data, "htmldate", name))).items():
        urls.setdefault(os.path.basename(entry["file"]), url)
for line in open(files):
    path = line.strip()
    url = urls.get(os.path.basename(path), "")
    print(f"{path}\t{url}")
PY

BIN=${CARGO_TARGET_DIR:-target}/release/examples/storage_bench
cargo build --release --locked --example storage_bench >&2
echo "eval pages..." >&2
"$BIN" --db "$OUT/eval.sqlite3" ${EXTRA:-} < "$OUT/pages.list" > "$OUT/eval.md"
echo "site-heavy synthetic..." >&2
"$BIN" --db "$OUT/site.sqlite3" --sites 5 --pages-per-site 400 ${EXTRA:-} \
    < "$OUT/pages.list" > "$OUT/site.md"
grep -h "^archive file" "$OUT/eval.md" "$OUT/site.md"
