#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets in fuzz/corpus/TARGET from the shared
# evaluation data (../shared/evaldata next to the repository, or $EVALDATA). Run it from
# anywhere; it is idempotent (files are named by content) and adds to existing corpora.
#
#   fuzz/seed.sh
#   cargo +nightly fuzz run feed_intake -- -max_total_time=600
#
# The page sets are compressed in the evaluation data; they are unpacked into
# target/evaldata (ignored by git) with the evaluation data's own unpack.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
evaldata=${EVALDATA:-../shared/evaldata}
if [ ! -d "$evaldata/feeds" ]; then
    echo "seed.sh: evaluation data not found at $evaldata (set EVALDATA)" >&2
    exit 1
fi
corpus=fuzz/corpus
mkdir -p "$corpus"/{feed_intake,extract,canon,dates,sitemap,robots}

# Copies files under a size limit into a corpus, named by content hash.
copy_small() { # TARGET MAX_BYTES FILE...
    local target=$1 max=$2
    shift 2
    local f
    for f in "$@"; do
        if [ "$(wc -c <"$f")" -le "$max" ]; then
            cp "$f" "$corpus/$target/$(sha1sum "$f" | cut -c1-16)"
        fi
    done
}

# Writes each stdin line (up to MAX lines) as one corpus entry, PREFIX bytes first.
lines_to_corpus() { # TARGET MAX [dates]
    local target=$1 max=$2 selector=${3:-} n=0 line name
    # Reads to the end even past MAX, so no writer upstream dies of a closed pipe.
    while IFS= read -r line; do
        [ -n "$line" ] && [ "$n" -lt "$max" ] || continue
        name="$corpus/$target/$(printf '%s' "$line" | sha1sum | cut -c1-16)"
        if [ -n "$selector" ]; then
            # The dates target reads its first byte as the zone and not_after choice.
            # shellcheck disable=SC2059
            { printf "$(printf '\\%03o' $((n * 9 % 32)))"; printf '%s' "$line"; } >"$name"
        else
            printf '%s' "$line" >"$name"
        fi
        n=$((n + 1))
    done
}

# Feeds: every real, constructed and test-suite feed up to 256 KB.
mapfile -d '' feeds < <(find "$evaldata/feeds" -type f \( -name '*.xml' -o -name '*.json' \) -print0)
copy_small feed_intake $((256 * 1024)) "${feeds[@]}"

# Sitemaps (all kinds, gzipped ones included) and robots.txt files.
mapfile -d '' sitemaps < <(find "$evaldata/sitemaps_robots/sitemaps" -type f -print0)
copy_small sitemap $((256 * 1024)) "${sitemaps[@]}"
mapfile -d '' robots < <(find "$evaldata/sitemaps_robots/robots" -type f -name '*.txt' -print0)
copy_small robots $((256 * 1024)) "${robots[@]}"
if command -v jq >/dev/null; then
    # The robots.txt bodies of the RFC 9309 / Google test vectors.
    for vectors in "$evaldata"/sitemaps_robots/robots/*.json "$evaldata"/sitemaps_robots/robots/*/*.json; do
        [ -f "$vectors" ] || continue
        jq -j '.[] | .robots + "\u0000"' "$vectors" | while IFS= read -r -d '' body; do
            printf '%s' "$body" >"$corpus/robots/$(printf '%s' "$body" | sha1sum | cut -c1-16)"
        done
    done
fi

# Pages: those under 48 KB of the unpacked page sets (some 650), and the Bengali pages.
pages=$("$evaldata/unpack.sh" target/evaldata)
mapfile -d '' small_pages < <(find "$pages" "$evaldata/bengali" -type f -size -48k \
    \( -name '*.html' -o -name '*.htm' \) -print0 | sort -z)
copy_small extract $((48 * 1024)) "${small_pages[@]}"

# URLs: absolute links from feeds and sitemaps, relative links from pages, and a few
# written to cover tracking parameters, ports, userinfo, IDN hosts and Bengali paths.
{
    printf '%s\n' \
        'HTTPS://WWW.Example.ORG:443/News/Story?utm_source=rss&b=2&a=1&fbclid=x#top' \
        'http://example.org:80/a?' \
        'https://user:pw@example.org:8080/a/../b/./c?x=1&x=0&gclid=2' \
        'https://www.prothomalo.com/bangladesh/খবর?id=৫&utm_medium=feed' \
        'https://বাংলা.example/জাতীয়/%E0%A6%96%E0%A6%AC%E0%A6%B0?q=a+b&q=a%20b' \
        '//cdn.example.org/img.jpg?w=10#x' \
        '../story/1?utm_campaign=x&page=2' \
        'https://example.org/?%FF=%FE&_ga=1'
    grep -rhoE 'https?://[^][ "<>'\''()]+' "$evaldata/feeds" "$evaldata/sitemaps_robots" |
        sort -u | awk 'NR % 7 == 1 && ++n <= 400'
    cat "${small_pages[@]:0:60}" | { grep -oE 'href="[^"]{1,300}"' || true; } | cut -d'"' -f2 |
        sort -u | awk 'NR <= 200'
} | lines_to_corpus canon 700

# Dates: the date fields of the feeds and sitemaps, the pages' expected dates, and datelines
# in the forms the parser reads (Bengali digits and month names among them).
{
    printf '%s\n' \
        'প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১' \
        'আপডেট: ১৩ জুলাই ২০২৫, ০৯:০৫' \
        'প্রকাশিত: শনিবার, ১২ জুলাই, ২০২৫' \
        '2025-07-12T18:31:00+06:00' \
        'Published: July 12, 2025 6:31 pm' \
        'Sat, 12 Jul 2025 12:31:00 GMT' \
        '12/07/2025 18:31' \
        '12. Juli 2025, 18:31 Uhr' \
        'publié le 12 juillet 2025 à 18h31' \
        '2024-03-10 02:30'
    grep -rhoE '<(pubDate|published|updated|dc:date|lastmod|news:publication_date|modified|issued|created)>[^<]{1,80}<' \
        "$evaldata/feeds" "$evaldata/sitemaps_robots/sitemaps" |
        sed -E 's/^<[^>]*>//; s/<$//' | sort -u | awk 'NR % 3 == 1 && ++n <= 300'
    grep -rhoE '"(date_published|date_modified|published_at|updated_at)": *"[^"]{1,80}"' \
        "$evaldata/feeds" "$evaldata/bengali" | cut -d'"' -f4 | sort -u | awk 'NR <= 100'
} | lines_to_corpus dates 500 dates

for target in feed_intake extract canon dates sitemap robots; do
    printf '%-12s %5d files\n' "$target" "$(find "$corpus/$target" -type f | wc -l)"
done
