#!/bin/sh
# Several-node benchmark: 1, 2 and 4 `newsvault run` nodes on one PostgreSQL archive on
# this machine, against the evaluation pages served from loopback sites, and one node on
# SQLite with the same pages for comparison.
#
#   scripts/cluster_bench.sh                 # fsync on (a realistic figure)
#   scripts/cluster_bench.sh --fsync-off     # PostgreSQL with fsync and synchronous_commit off
#   scripts/cluster_bench.sh --nodes "1 2"   # other node counts (default "1 2 4")
#   scripts/cluster_bench.sh --concurrency 8 # [run] concurrency of each node (default 4)
#   scripts/cluster_bench.sh --no-sqlite     # skip the SQLite run
#   scripts/cluster_bench.sh --keep          # keep the work directory (else removed)
#
# What it does (from the repository root):
#   1. unpacks the evaluation pages into target/evaldata (../shared/evaldata/unpack.sh)
#      and takes the first 2,000 of the text, dates and meta sets;
#   2. builds newsvault and examples/bench_server (release);
#   3. starts a throwaway PostgreSQL (initdb and pg_ctl from $NEWSVAULT_PG_BIN or the
#      newest /usr/lib/postgresql/*/bin; as the `postgres` user through runuser when run
#      as root) in <target>/cluster-bench/pg, with pg_stat_statements loaded;
#   4. serves the pages from memory as 20 sites on 127.0.0.1 … 127.0.0.20, each with 4
#      sitemaps sharing its pages (80 sources, every page listed once);
#   5. for each node count: a fresh database, the schema made beforehand
#      (`newsvault upgrade`), then that many `newsvault run` nodes with the same sources
#      and distinct `[cluster] node` names, politeness lifted for loopback (no delay, 8
#      requests in flight per host, robots.txt not read), until every page is accounted for
#      in `feed_items` (archived, a duplicate, or failed); one psql session samples
#      pg_stat_activity every 0.2 s meanwhile;
#   6. the same pages on one node with a SQLite archive;
#   7. prints, per run: wall time, pages/s, CPU per page of the nodes and of PostgreSQL,
#      peak RSS per node, what the database's client backends were doing (share of
#      samples: on CPU, waiting on a lock, on WAL, idle in a transaction, idle), and the
#      statements that took the most database time (pg_stat_statements).
# Nothing here touches the network.
#
# Environment: SHARED (default ../shared) locates evaldata/ and eval/; CARGO_TARGET_DIR
# is honoured (binaries and the work directory are found through `cargo metadata`).
set -eu

cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
PAGES=2000
HOSTS=20
SITEMAPS=4
NODES="1 2 4"
CONCURRENCY=4
FSYNC=on
WITH_SQLITE=1
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --fsync-off) FSYNC=off ;;
        --nodes) NODES=$2; shift ;;
        --concurrency) CONCURRENCY=$2; shift ;;
        --no-sqlite) WITH_SQLITE=0 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --release --locked --bin newsvault --example bench_server >&2
TARGET=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET/release
OUT=$TARGET/cluster-bench
rm -rf "$OUT"
mkdir -p "$OUT/pg"

"$SHARED/evaldata/unpack.sh" target/evaldata >/dev/null
for s in text dates meta; do
    python3 "$SHARED/eval/score.py" files "$s" target/evaldata
done | cut -f1 | head -n "$PAGES" > "$OUT/pages.files"

# PostgreSQL refuses to run as root: run its programs as `postgres` then.
PG_BIN=${NEWSVAULT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server binaries not found (set NEWSVAULT_PG_BIN or install Debian's postgresql)" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    chown postgres "$OUT/pg"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PG_OPTIONS="-c listen_addresses=127.0.0.1 -p $PG_PORT -k $OUT/pg -c max_connections=200"
PG_OPTIONS="$PG_OPTIONS -c shared_preload_libraries=pg_stat_statements -c track_io_timing=on"
if [ "$FSYNC" = off ]; then
    PG_OPTIONS="$PG_OPTIONS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
as_pg "$PG_BIN/initdb" -D "$OUT/pg/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >/dev/null

SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    as_pg "$PG_BIN/pg_ctl" -D "$OUT/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ "$KEEP" = 0 ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT INT TERM
as_pg "$PG_BIN/pg_ctl" -D "$OUT/pg/data" -l "$OUT/pg/server.log" -o "$PG_OPTIONS" -w -t 60 start >/dev/null

: > "$OUT/sites.txt"
"$BIN/examples/bench_server" --hosts "$HOSTS" --sitemaps "$SITEMAPS" \
    < "$OUT/pages.files" > "$OUT/sites.txt" &
SERVER=$!
while [ "$(wc -l < "$OUT/sites.txt")" -lt "$HOSTS" ]; do
    kill -0 "$SERVER" 2>/dev/null || { echo "bench_server did not start" >&2; exit 1; }
    sleep 0.1
done

python3 - "$OUT" "$BIN/newsvault" "$PG_PORT" "$(dirname "$PG_BIN")" "$NODES" "$CONCURRENCY" \
    "$SITEMAPS" "$WITH_SQLITE" "$FSYNC" <<'EOF'
import os, signal, sqlite3, subprocess, sys, threading, time
from collections import Counter

out, newsvault, pg_port, pg_home, node_counts, concurrency, sitemaps, with_sqlite, fsync = sys.argv[1:]
node_counts = [int(n) for n in node_counts.split()]
pages = sum(1 for _ in open(f"{out}/pages.files"))
sites = [line.strip() for line in open(f"{out}/sites.txt") if line.strip()]
psql_bin = os.path.join(pg_home, "bin", "psql")
if not os.path.exists(psql_bin):
    psql_bin = "psql"
TICK = os.sysconf("SC_CLK_TCK")
STALL = 120  # seconds without progress before a run is called stuck


def psql(database, sql):
    return subprocess.run(
        [psql_bin, "-h", "127.0.0.1", "-p", pg_port, "-U", "postgres", "-d", database,
         "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True).stdout


def config(database, node, cluster):
    text = (f'[archive]\ndatabase = "{database}"\n'
            '[http]\ntimeout = "30s"\nmax_body = "20MiB"\nper_host_requests = 8\n'
            'per_host_delay = "0s"\nmax_requests_in_flight = 32\nobey_robots = false\n'
            f'[run]\nconcurrency = {concurrency}\nshutdown_grace = "5s"\n')
    if cluster:
        text += f'[cluster]\nnode = "bench-{node}"\nlease = "60s"\n'
    for host, base in enumerate(sites, start=1):
        for k in range(int(sitemaps)):
            text += (f'[[source]]\nname = "site{host}-{k}"\nurl = "{base}/sitemap-{k}.xml"\n'
                     'kind = "sitemap"\nschedule = "* * * * * *"\nmax_new = 100000\n'
                     'allow_private = true\n')
    return text


def cpu_seconds(pid):
    """utime + stime of a process, and of its children already reaped."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    own = (int(fields[11]) + int(fields[12])) / TICK
    reaped = (int(fields[13]) + int(fields[14])) / TICK
    return own, reaped


def postgres_cpu():
    """CPU seconds of the postmaster and all its processes, live and exited."""
    pid_file = f"{out}/pg/data/postmaster.pid"
    try:
        master = int(open(pid_file).readline())
    except OSError:
        return 0.0
    own, reaped = cpu_seconds(master)
    total = own + reaped
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                total += cpu_seconds(int(entry))[0]
    return total


def peak_rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler:
    """One psql session that reads the processed count and what the client backends are
    doing every 0.2 s (`\\watch`), so sampling adds no connections."""

    QUERY = ("SELECT (SELECT count(*) FROM feed_items), coalesce((SELECT string_agg(k || '=' || n, ',') "
             "FROM (SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') "
             "ELSE state END AS k, count(*) AS n FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid() "
             "AND backend_type = 'client backend' GROUP BY 1) s), '') \\watch 0.2\n")

    def __init__(self, database):
        self.count = 0
        self.states = Counter()
        self.samples = 0
        self.process = subprocess.Popen(
            [psql_bin, "-h", "127.0.0.1", "-p", pg_port, "-U", "postgres", "-d", database,
             "-X", "-A", "-t", "-F", "\t", "-q"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.process.stdin.write(self.QUERY)
        self.process.stdin.flush()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.process.stdout:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            self.count = int(parts[0])
            self.samples += 1
            for pair in filter(None, parts[1].split(",")):
                key, n = pair.rsplit("=", 1)
                self.states[key] += int(n)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def run(name, node_count, backend):
    run_dir = f"{out}/{name}"
    os.makedirs(run_dir)
    if backend == "postgres":
        db = name.replace("-", "_")
        psql("postgres", f"CREATE DATABASE {db}")
        psql(db, "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_trgm")
        database = f"postgres://postgres@127.0.0.1:{pg_port}/{db}"
    else:
        database = f"{run_dir}/archive.sqlite3"
    configs = []
    for node in range(1, node_count + 1):
        path = f"{run_dir}/node-{node}.toml"
        open(path, "w").write(config(database, node, backend == "postgres"))
        configs.append(path)
    # The schema is made before the clock starts (a SQLite archive makes its own in
    # milliseconds when the node opens it).
    if backend == "postgres":
            subprocess.run([newsvault, "--config", configs[0], "upgrade"], check=True,
                       stdout=subprocess.DEVNULL, stderr=open(f"{run_dir}/upgrade.log", "w"))
    sampler = None
    if backend == "postgres":
        psql(db, "SELECT pg_stat_statements_reset()")
        sampler = Sampler(db)
    pg_before = postgres_cpu()
    started = time.monotonic()
    nodes = [subprocess.Popen([newsvault, "--config", path, "run"], stdout=subprocess.DEVNULL,
                              stderr=open(f"{run_dir}/node-{i + 1}.log", "w"))
             for i, path in enumerate(configs)]
    last, last_change = -1, started
    while True:
        time.sleep(0.2)
        if sampler:
            done = sampler.count
        else:
            try:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
                    done = conn.execute("SELECT count(*) FROM feed_items").fetchone()[0]
            except sqlite3.Error:
                done = last
        now = time.monotonic()
        if done != last:
            last, last_change = done, now
        if done >= pages:
            break
        if now - last_change > STALL or any(n.poll() is not None for n in nodes):
            print(f"{name}: stuck at {done} of {pages} pages; logs in {run_dir}", file=sys.stderr)
            break
    wall = time.monotonic() - started
    node_cpu = sum(cpu_seconds(n.pid)[0] for n in nodes)
    node_rss = [peak_rss_mb(n.pid) for n in nodes]
    pg_cpu = postgres_cpu() - pg_before if backend == "postgres" else 0.0
    if sampler:
        sampler.stop()
    for n in nodes:
        n.send_signal(signal.SIGTERM)
    for n in nodes:
        try:
            n.wait(timeout=30)
        except subprocess.TimeoutExpired:
            n.kill()
            n.wait()
    result = dict(name=name, nodes=node_count, backend=backend, wall=wall, done=last,
                  node_cpu=node_cpu, pg_cpu=pg_cpu, rss=node_rss)
    if backend == "postgres":
        result["articles"] = int(psql(db, "SELECT count(*) FROM articles").strip())
        result["states"] = sampler.states
        result["samples"] = sampler.samples
        result["statements"] = psql(db, (
            "SELECT calls, round(total_exec_time::numeric), round((total_exec_time / calls)::numeric, 2), "
            "regexp_replace(left(query, 90), '\\s+', ' ', 'g') FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT 8"))
        psql("postgres", f"DROP DATABASE {db} WITH (FORCE)")
    else:
        with sqlite3.connect(database) as conn:
            result["articles"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(database + suffix):
                os.remove(database + suffix)
    return result


results = []
for n in node_counts:
    print(f"{n} node(s) on PostgreSQL (fsync {fsync})...", file=sys.stderr)
    results.append(run(f"pg-{n}", n, "postgres"))
if with_sqlite == "1":
    print("1 node on SQLite...", file=sys.stderr)
    results.append(run("sqlite-1", 1, "sqlite"))

print(f"\n{pages} pages on {len(sites)} loopback sites ({len(sites) * int(sitemaps)} sitemap sources), "
      f"[run] concurrency {concurrency} per node, PostgreSQL fsync {fsync}, {os.cpu_count()} CPUs\n")
print("| run | nodes | wall | pages/s | node CPU per page | PostgreSQL CPU per page | CPU used (cores) | peak RSS per node | articles |")
print("|---|---|---|---|---|---|---|---|---|")
base = None
for r in results:
    rate = r["done"] / r["wall"] if r["wall"] else 0
    if r["backend"] == "postgres" and base is None:
        base = rate
    per = lambda s: f"{1000 * s / r['done']:.1f} ms" if r["done"] else "-"
    cores = (r["node_cpu"] + r["pg_cpu"]) / r["wall"]
    rss = ", ".join(f"{m:.0f}" for m in r["rss"]) + " MB"
    pg = per(r["pg_cpu"]) if r["backend"] == "postgres" else "-"
    print(f"| {r['backend']} | {r['nodes']} | {r['wall']:.1f} s | {rate:.1f} | {per(r['node_cpu'])} | {pg} | {cores:.2f} | {rss} | {r['articles']} of {r['done']} |")
if base:
    print()
    for r in results:
        if r["backend"] == "postgres":
            print(f"{r['nodes']} node(s): {r['done'] / r['wall'] / base:.2f}x the pages/s of one node")

for r in results:
    if r["backend"] != "postgres":
        continue
    total = sum(r["states"].values())
    print(f"\n{r['name']}: client backends over {r['samples']} samples "
          f"(share of backend-samples; 'idle in transaction' = the node holds a transaction open)")
    for key, n in r["states"].most_common(8):
        print(f"  {100 * n / total:5.1f} %  {key}")
    print(f"{r['name']}: statements by total database time (calls, total ms, ms per call, statement)")
    for line in r["statements"].strip().splitlines():
        calls, total_ms, mean, query = line.split("\t", 3)
        print(f"  {calls:>7} {total_ms:>7} {mean:>7}  {query}")
EOF
