#!/usr/bin/env bash
# Unsubscribe requests per second against `letterpress serve` with a
# 100,000-reader list, with a CLI edit running at the same time; then checks
# that every unsubscribe and the CLI edit are in the file.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/serve
letterpress=$root/target/release/letterpress
count=${COUNT:-2000}
threads=${THREADS:-64}
export LETTERPRESS_UNSUBSCRIBE_SECRET=serve-bench-secret

(cd "$root" && cargo build --release --locked)
python3 "$bench/dryrun_util.py" project "$work" 100000 --root "$root"
cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$letterpress" serve --port "$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do sleep 0.1; done
"$letterpress" subscribers add cli-edit@example.org --name "동시 편집" >/dev/null &
editor=$!
python3 "$bench/serve_load.py" "$port" "$LETTERPRESS_UNSUBSCRIBE_SECRET" "$count" "$threads"
wait $editor
python3 - "$count" <<'PY'
import re, sys
count = int(sys.argv[1])
text = open("config/subscribers.toml", encoding="utf-8").read()
entries = text.split("[[subscriber]]")[1:]
unsubscribed = {re.search(r'email = "([^"]+)"', e).group(1) for e in entries if 'status = "unsubscribed"' in e}
missing = [i for i in range(count) if f"reader{i}@example.com" not in unsubscribed]
print(f"unsubscribed in the file: {len(unsubscribed)} of {count}; lost: {len(missing)}; CLI edit kept: {'cli-edit@example.org' in text}")
sys.exit(1 if missing or "cli-edit@example.org" not in text else 0)
PY
