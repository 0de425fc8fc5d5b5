#!/usr/bin/env bash
# The subscribe form under load, with a 100,000-reader list: form posts per
# second (each sends its confirmation mail to Postfix's smtp-sink on
# loopback), then the time from a confirm POST to its answer, which comes
# once the reader is on disk (one at a time, then many at once). Checks that
# every confirmed reader is in the file once.
#   COUNT=2000 THREADS=50 CONFIRMS=50 PARALLEL=500 LETTERPRESS_BIN=… bench/subscribe.sh
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/subscribe
letterpress=${LETTERPRESS_BIN:-$root/target/release/letterpress}
count=${COUNT:-2000}
threads=${THREADS:-50}
confirms=${CONFIRMS:-50}
parallel=${PARALLEL:-500}
sink=/usr/sbin/smtp-sink
export LETTERPRESS_UNSUBSCRIBE_SECRET=subscribe-bench-secret

[ -x "$sink" ] || { echo "needs $sink: apt-get install -y postfix" >&2; exit 1; }
[ -n "${LETTERPRESS_BIN:-}" ] || (cd "$root" && cargo build --release --locked)
python3 "$bench/dryrun_util.py" project "$work" 100000 --root "$root"
cd "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
relay=$(free_port)
port=$(free_port)
# The sink's dump goes to memory when it can: this machine's disk is noisy.
dump=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "$work" )/letterpress-sink.XXXXXX")
chmod 777 "$dump"
"$sink" -u nobody -d "$dump/%M." "127.0.0.1:$relay" 1000 &
sink_pid=$!
sed -i "s/^port         = 2525/port         = $relay/; s/^rate_per_second = 10/rate_per_second = 0/" config/newsletter.toml
echo "per_client_per_hour = 100000" >> config/newsletter.toml
"$letterpress" serve --port "$port" >/dev/null 2>serve.log &
server=$!
trap 'kill $server $sink_pid 2>/dev/null; rm -rf "$dump"' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do
  kill -0 $server 2>/dev/null || { cat serve.log >&2; exit 1; }
  sleep 0.1
done
python3 "$bench/subscribe_load.py" "$port" "$dump" config/subscribers.toml "$count" "$threads" "$confirms" "$parallel"
# Baseline in the same run: the same write from the command line
# (`subscribers add`: a whole process that parses, edits and syncs the list).
python3 - "$letterpress" <<'PY'
import statistics, subprocess, sys, time
times = []
for i in range(5):
    start = time.monotonic()
    subprocess.run([sys.argv[1], "subscribers", "add", f"baseline{i}@example.org"], check=True, stdout=subprocess.DEVNULL)
    times.append(time.monotonic() - start)
print(f"baseline: `subscribers add` on the same list, median of 5: {statistics.median(times) * 1000:.0f} ms")
PY
