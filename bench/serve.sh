#!/usr/bin/env bash
# List writes through `letterpress serve` on a 100,000-reader list: one-click
# unsubscribes per second and subscription confirmations per second, from
# THREADS connections, while a CLI edit runs at the same time; then checks
# that every change and the CLI edit are in the file once the server folded
# its change log in. The same load runs against BASELINE (default: the
# last revision that rewrote the list for every batch), built from git
# into bench/.cache/serve/, so both figures come from the same run.
# COUNT stays at most 2,000: the server answers 2,000 requests/s in all
# (bursts of a second's worth), and the runs measure the list's writes, not
# that limit.
#   COUNT=2000 THREADS=64 BASELINE=eba3a60 bench/serve.sh    (as root: smtp-sink drops to nobody)
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/serve
count=${COUNT:-2000}
threads=${THREADS:-64}
baseline=${BASELINE:-eba3a60}
sink=/usr/sbin/smtp-sink
export LETTERPRESS_UNSUBSCRIBE_SECRET=serve-bench-secret-0123456789

die() { echo "error: $*" >&2; exit 1; }
[ -x "$sink" ] || die "needs $sink: apt-get install -y postfix"
mkdir -p "$work"
(cd "$root" && cargo build --release --locked) || die "building letterpress failed"
cp "$root/target/release/letterpress" "$work/letterpress-current"
rev=$(git -C "$root" rev-parse --short "$baseline")
if [ ! -x "$work/letterpress-$rev" ]; then
  echo "building the baseline $rev (once; kept in $work)"
  rm -rf "$work/src-$rev" && mkdir -p "$work/src-$rev"
  git -C "$root" archive "$rev" | tar -x -C "$work/src-$rev"
  CARGO_TARGET_DIR=$work/target-baseline cargo build --release --locked --manifest-path "$work/src-$rev/Cargo.toml" ||
    die "building the baseline $rev failed"
  cp "$work/target-baseline/release/letterpress" "$work/letterpress-$rev"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
relay=$(free_port)
"$sink" -u nobody "127.0.0.1:$relay" 1000 &
sink_pid=$!
server=
trap 'kill $sink_pid $server 2>/dev/null || true' EXIT

run() { # LABEL BINARY: the load against one build, on a fresh project
  local label=$1 letterpress=$2 project=$work/$1 port
  python3 "$bench/dryrun_util.py" project "$project" 100000 --root "$root"
  cd "$project"
  sed -i "s/^port         = 2525/port         = $relay/; s/^rate_per_second = 10/rate_per_second = 0/" config/newsletter.toml
  echo "per_client_per_hour = 100000" >>config/newsletter.toml
  port=$(free_port)
  "$letterpress" serve --port "$port" >/dev/null 2>serve.log &
  server=$!
  until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do
    kill -0 $server 2>/dev/null || { cat serve.log >&2; exit 1; }
    sleep 0.1
  done
  "$letterpress" subscribers add cli-edit@example.org --name "동시 편집" >/dev/null &
  local editor=$!
  echo "== $label ($letterpress)"
  sleep 2
  python3 "$bench/serve_load.py" unsubscribe "$port" "$LETTERPRESS_UNSUBSCRIBE_SECRET" "$count" "$threads" | tee "$work/$label.unsubscribe"
  sleep 2 # the server answers 2,000 requests/s with bursts of a second's worth: start each run with a full bucket
  python3 "$bench/serve_load.py" confirm "$port" "$LETTERPRESS_UNSUBSCRIBE_SECRET" "$count" "$threads" | tee "$work/$label.confirm"
  wait $editor
  for _ in $(seq 600); do [ -e config/subscribers.toml.changes ] || break; sleep 0.1; done
  [ ! -e config/subscribers.toml.changes ] || die "$label: the change log was not folded in within 60 s"
  kill $server && wait $server 2>/dev/null || true
  server=
  python3 - "$count" <<'PY'
import sys, tomllib
count = int(sys.argv[1])
readers = tomllib.load(open("config/subscribers.toml", "rb"))["subscriber"]
by_email = {}
for r in readers:
    by_email.setdefault(r["email"].lower(), []).append(r)
lost = [i for i in range(count) if by_email[f"reader{i}@example.com"][0].get("status") != "unsubscribed"]
joined = [i for i in range(count) if len(by_email.get(f"joiner{i}@example.net", [])) == 1]
kept = "cli-edit@example.org" in by_email
print(f"in the file: {count - len(lost)} of {count} unsubscribes, {len(joined)} of {count} joiners once, CLI edit kept: {kept}")
sys.exit(1 if lost or len(joined) != count or not kept else 0)
PY
  cd "$work"
}

run baseline "$work/letterpress-$rev"
run current "$work/letterpress-current"
python3 - "$work" "$rev" <<'PY'
import re, sys
work, rev = sys.argv[1], sys.argv[2]
rate = lambda label, mode: float(re.search(r"(\d+) requests/s", open(f"{work}/{label}.{mode}").read()).group(1))
for mode in ("unsubscribe", "confirm"):
    b, c = rate("baseline", mode), rate("current", mode)
    print(f"{mode}: {c:.0f} requests/s, baseline {rev} {b:.0f} requests/s: {c / b:.1f}x")
PY
