#!/usr/bin/env python3
"""Groups `perf script` samples of a newsvault backfill by what they were doing.

Reads `perf script -F comm,tid,ip,sym` output (with call graphs) on standard input and
prints, for each group, its share of all samples. A sample belongs to the group of the
innermost frame (leaf first) that matches one of GROUPS, so time in html5ever called from
the extractor counts as the parse, and time in SQLite called from the story lookup counts
as SQLite. With --functions N it also prints the N newsvault functions that hold the most
samples (the innermost `newsvault::` frame of each sample).

    perf script -i perf.data -F comm,tid,ip,sym | scripts/perf_groups.py --functions 20
"""
import argparse
import collections
import re
import sys

# (group, pattern over a frame's symbol), tried in order on each frame from the leaf up.
GROUPS = [
    ("SQLite: commit (WAL write, FTS5 flush)", r"sqlite3VdbeHalt|sqlite3PagerCommitPhaseOne|fts5SyncMethod|sqlite3Fts5IndexSync|fts5IndexFlush"),
    ("SQLite: FTS5 tokenising", r"fts5UnicodeTokenize|sqlite3Fts5HashWrite|fts5StorageInsertCallback"),
    ("SQLite: checkpoint", r"sqlite3WalCheckpoint|walCheckpoint"),
    ("SQLite: statement preparation", r"sqlite3Prepare|sqlite3LockAndPrepare"),
    ("store: story lookup", r"join_story"),
    ("store: other statements", r"newsvault::store::sqlite::"),
    ("zstd", r"ZSTD_"),
    ("SHA-256", r"sha256"),
    ("story fingerprint", r"newsvault::stories::"),
    ("text fingerprint", r"canon::text_fingerprint"),
    ("charset decoding", r"decode_html"),
    ("html5ever parse", r"html5ever|markup5ever|tendril::"),
    ("extraction (after the parse)", r"newsvault::extract::"),
    ("HTTP client", r"hyper|reqwest|h2::|rustls"),
    ("async runtime", r"tokio::"),
]


def samples(stream):
    """Yields each sample's frames, leaf first."""
    frames = []
    for line in stream:
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line[0] in " \t":
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
        else:
            if frames:
                yield frames
            frames = []
    if frames:
        yield frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--functions", type=int, default=0, metavar="N")
    args = parser.parse_args()
    patterns = [(name, re.compile(p)) for name, p in GROUPS]
    groups = collections.Counter()
    functions = collections.Counter()
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        group = "other (kernel, allocator, unattributed)"
        for frame in frames:
            hit = next((name for name, p in patterns if p.search(frame)), None)
            if hit:
                group = hit
                break
        groups[group] += 1
        own = next((f for f in frames if "newsvault::" in f), None)
        if own:
            m = re.search(r"newsvault::[\w:]+", own)
            functions[m.group(0) if m else own[:80]] += 1
    if not total:
        sys.exit("no samples on standard input (perf script with call graphs expected)")
    print(f"| group | share of {total} samples |")
    print("|---|---|")
    for name, count in groups.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    if args.functions:
        print(f"\n| newsvault function (innermost) | share |")
        print("|---|---|")
        for name, count in functions.most_common(args.functions):
            print(f"| `{name}` | {100 * count / total:.1f} % |")


if __name__ == "__main__":
    main()
