#!/usr/bin/env python3
"""What an article's 42 story band entries cost to write and to look up, kept two ways.

A model of the entries alone (not the store): N articles' bands loaded in bulk, then
2,000 articles committed one by one with the write-ahead log left unchecked (its growth
counted in frames), then 500 articles' bands looked up with the pages cached.

    python3 scripts/story_bands_model.py 200000 btree   # story_bands as the archive keeps it
    python3 scripts/story_bands_model.py 200000 fts     # an FTS5 table, one token per band

The databases are written to target/story-bands/. Figures: docs/performance-log.md.
"""
import os
import random
import sqlite3
import sys
import time

BANDS = 42
FRAME = 4096 + 24  # a log frame: one page and its header


def bands(article):
    r = random.Random(article)
    return [r.getrandbits(63) for _ in range(BANDS)]


def tokens(article):
    """The article's bands as FTS5 tokens, one per band: its number and its hash."""
    return ["b%02dh%x" % (band, h) for band, h in enumerate(bands(article))]


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("btree", "fts"):
        sys.exit(__doc__)
    n, kind = int(sys.argv[1]), sys.argv[2]
    os.makedirs("target/story-bands", exist_ok=True)
    path = f"target/story-bands/{kind}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    if kind == "btree":
        con.execute(
            "CREATE TABLE story_bands (band INTEGER NOT NULL, hash INTEGER NOT NULL, "
            "article_id INTEGER NOT NULL, PRIMARY KEY (band, hash, article_id)) WITHOUT ROWID"
        )

        def insert(article):
            rows = [(band, h, article) for band, h in enumerate(bands(article))]
            con.executemany("INSERT INTO story_bands VALUES (?, ?, ?)", rows)

        def look_up(article):
            found = 0
            for band, h in enumerate(bands(article)):
                found += len(con.execute(
                    "SELECT article_id FROM story_bands WHERE band = ? AND hash = ? LIMIT 64",
                    (band, h)).fetchall())
            return found
    else:
        con.execute(
            "CREATE VIRTUAL TABLE bands_fts USING fts5(k, content = '', detail = none, columnsize = 0)"
        )

        def insert(article):
            con.execute("INSERT INTO bands_fts (rowid, k) VALUES (?, ?)",
                        (article, " ".join(tokens(article))))

        def look_up(article):
            query = " OR ".join(tokens(article))
            return len(con.execute(
                "SELECT rowid FROM bands_fts WHERE bands_fts MATCH ? LIMIT 64", (query,)).fetchall())

    started = time.time()
    con.execute("BEGIN")
    for article in range(1, n + 1):
        insert(article)
        if article % 20000 == 0:
            con.execute("COMMIT")
            con.execute("BEGIN")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"{kind}: {n} articles loaded in {time.time() - started:.0f} s, "
          f"{os.path.getsize(path) / 1e6:.0f} MB")

    con.execute("PRAGMA wal_autocheckpoint = 0")
    commits = 2000
    started = time.time()
    for article in range(n + 1, n + commits + 1):
        con.execute("BEGIN")
        insert(article)
        con.execute("COMMIT")
    took = time.time() - started
    frames = (os.path.getsize(path + "-wal") - 32) / FRAME / commits
    print(f"{kind}: {frames:.1f} pages of log per commit, {took / commits * 1000:.3f} ms per commit")

    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rng = random.Random(7)
    probes = [rng.randint(1, n) for _ in range(500)]
    started = time.time()
    found = sum(look_up(article) for article in probes)
    took = time.time() - started
    print(f"{kind}: {took / len(probes) * 1000:.3f} ms per article's lookup ({found} rows found)")


if __name__ == "__main__":
    main()
