#!/usr/bin/env bash
# Builds newsvault, serves the example feeds and pages in tests/fixtures on
# 127.0.0.1:8736, runs one poll with config/newsvault.toml (archive: ./newsvault.sqlite3),
# and shows what the archive holds. Needs only cargo and python3; no network.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked

python3 -m http.server 8736 --bind 127.0.0.1 --directory tests/fixtures >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# Wait for the server to accept connections (at most ~5 s).
for _ in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8736), 0.1)' 2>/dev/null && break
  sleep 0.1
done

./target/release/newsvault --config config/newsvault.toml poll
./target/release/newsvault --config config/newsvault.toml stats
echo
echo "Try: sqlite3 newsvault.sqlite3 'SELECT published_at, title FROM articles'"
