#!/usr/bin/env bash
# Times `letterpress send` delivering the example issue to 10,000 readers
# through Postfix's smtp-sink on loopback at concurrency 1, 4 and 16, against
# smtp-source sending one of letterpress's own messages over as many sessions
# (median of RUNS=3 interleaved runs each: messages per second, peak RSS, CPU),
# against Python's smtplib on one connection and the mailmerge CLI (PY_RUNS=3
# runs on PY_READERS=2000 readers), then a 100,000-reader send at concurrency 4,
# then DKIM-signed sends (RSA-2048, Ed25519, both) of SIGNED_READERS=3000
# readers at concurrency 4 against the unsigned send of the same readers and
# `openssl speed rsa2048`, RUNS interleaved runs each. SIGNED_ONLY=1 runs the
# DKIM rows alone. Then RELAY_READERS=10000 readers through two smtp-sinks as
# two [[smtp]] relays (2 + 2 connections, weights 1:1; 3 + 1, weights 3:1;
# and, to tell the sender's cost from a second sink's, two and four relays
# of one sink)
# against one relay at concurrency 4, RUNS interleaved runs each, every run
# checked against both sinks' counters. RELAYS_ONLY=1 runs those rows alone.
# Every run is checked against smtp-sink's message counter. Run as root:
# smtp-sink drops to nobody. Scratch projects and results: bench/.cache/send/.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/send
results=$work/results
util=(python3 "$bench/dryrun_util.py")
send_util=(python3 "$bench/send_util.py")
letterpress=$work/letterpress
venv=$bench/.cache/mailmerge-venv
runs=${RUNS:-3}
py_readers=${PY_READERS:-2000}
py_runs=${PY_RUNS:-3}
signed_readers=${SIGNED_READERS:-3000}
signed_only=${SIGNED_ONLY:-0}
relays_only=${RELAYS_ONLY:-0}
relay_readers=${RELAY_READERS:-10000}
sessions=(1 4 16)
export LETTERPRESS_UNSUBSCRIBE_SECRET=${LETTERPRESS_UNSUBSCRIBE_SECRET:-letterpress-bench-secret}

die() { echo "error: $*" >&2; exit 1; }
for tool in /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/bin/time /usr/bin/openssl; do
  [[ -x $tool ]] || die "$tool is missing (apt-get install postfix time openssl)"
done

(cd "$root" && cargo build --release --locked) || die "building letterpress in release failed"
rm -rf "$results" && mkdir -p "$results"
cp "$root/target/release/letterpress" "$letterpress" || die "target/release/letterpress is missing after the build"
echo "letterpress $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'), copied to $letterpress" |
  tee "$results/letterpress-version.txt"
if [[ $signed_only != 1 && $relays_only != 1 && ! -x $venv/bin/mailmerge ]]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet mailmerge || die "installing mailmerge into $venv failed"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sink_user=()
[[ $EUID -ne 0 ]] || sink_user=(-u nobody)
/usr/sbin/smtp-sink -c "${sink_user[@]}" "127.0.0.1:$port" 4096 >"$results/sink-counters.txt" 2>"$results/sink.err" &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in {1..50}; do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
kill -0 "$sink" 2>/dev/null || die "smtp-sink did not start: $(cat "$results/sink.err")"
echo "smtp-sink listening on 127.0.0.1:$port"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

received() { # messages smtp-sink has taken so far
  local n
  n=$(tr '\r' '\n' <"$results/sink-counters.txt" | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2) || true
  echo "${n:-0}"
}
timed() { # NAME MESSAGES RUNS [measure options] -- CMD...
  local name=$1 n=$2 runs=$3 before got
  shift 3
  before=$(received)
  "${util[@]}" measure --name "$name" --json "$results/$name.json" --runs "$runs" --messages "$n" "$@"
  for _ in {1..30}; do (($(received) - before >= n * runs)) && break; sleep 0.1; done
  got=$(($(received) - before))
  ((got == n * runs)) || die "smtp-sink took $got messages during $name, expected $((n * runs))"
}
config() { # DEST CONCURRENCY [--subscribers FILE]: the project's config aimed at the sink
  "${send_util[@]}" config config/newsletter.toml "$1" --port "$port" --concurrency "$2" --state-dir ../state "${@:3}"
}

echo "generating the scratch projects in $work"
if [[ $relays_only != 1 ]]; then
"${util[@]}" project "$work/signed" "$signed_readers" --root "$root"
fi
if [[ $signed_only != 1 && $relays_only != 1 ]]; then
"${util[@]}" project "$work/10k" 10000 --root "$root"
"${util[@]}" project "$work/100k" 100000 --root "$root"
"${util[@]}" subscribers "$py_readers" "$work/10k/config/subscribers-py.toml"

cd "$work/10k"
for c in "${sessions[@]}"; do config "config/send-c$c.toml" "$c"; done
rm -rf "$work/eml"
"$letterpress" --config config/newsletter.toml send issues/example --dry-run --limit 1 --out "$work/eml" \
  >/dev/null 2>"$results/dry-run.err" || die "letterpress send --dry-run failed: $(cat "$results/dry-run.err")"
tr -d '\r' <"$work/eml/reader0@example.com.eml" >"$work/message.txt" # smtp-source ends each line with CRLF itself

echo "10,000 messages: letterpress send to 10,000 readers, smtp-source sending letterpress's message to reader0"
for _ in $(seq "$runs"); do # the runs interleaved, so that a burst of other load does not hit one setting only
  for c in "${sessions[@]}"; do
    timed "letterpress-c$c" 10000 1 --append --reset "$work/10k/state" --expect-output "10000 accepted" -- \
      "$letterpress" --config "config/send-c$c.toml" send issues/example --yes
  done
  for s in "${sessions[@]}"; do
    timed "smtp-source-s$s" 10000 1 --append -- /usr/sbin/smtp-source -s "$s" -m 10000 -d -F "$work/message.txt" \
      -f letter@example.com -t reader0@example.com "127.0.0.1:$port"
  done
done

echo "Python baselines on $py_readers readers"
"$letterpress" --config config/newsletter.toml build issues/example --as reader0@example.com --out "$work/templates" >/dev/null
config config/send-py.toml 1 --subscribers subscribers-py.toml
letter=(--config config/send-py.toml --issue issues/example --templates "$work/templates"
  --sample-email reader0@example.com --sample-name 김독자0)
timed smtplib "$py_readers" "$py_runs" --expect-output "$py_readers accepted" -- \
  python3 "$bench/send_smtplib.py" "${letter[@]}" --port "$port"
"${send_util[@]}" mailmerge "$work/mailmerge" --port "$port" "${letter[@]}"
timed mailmerge "$py_readers" "$py_runs" --stdout /dev/null -- \
  "$venv/bin/mailmerge" --no-dry-run --no-limit --output-format text --template "$work/mailmerge/template.txt" \
  --database "$work/mailmerge/database.csv" --config "$work/mailmerge/server.conf"

echo "letterpress send to 100,000 readers at concurrency 4"
cd "$work/100k"
config config/send-c4.toml 4
timed letterpress-100k 100000 1 --reset "$work/100k/state" --expect-output "100000 accepted" -- \
  "$letterpress" --config config/send-c4.toml send issues/example --yes

fi

if [[ $relays_only != 1 ]]; then
echo "DKIM-signed sends to $signed_readers readers at concurrency 4, against the unsigned send and openssl speed"
cd "$work/signed"
config config/send-unsigned.toml 4
openssl genrsa -out config/dkim-rsa.pem 2048 2>/dev/null
openssl rand -base64 32 >config/dkim-ed25519.key
chmod 600 config/dkim-rsa.pem config/dkim-ed25519.key
dkim_table() { # SELECTOR ALGORITHM KEY
  printf '\n[[dkim]]\ndomain = "example.com"\nselector = "%s"\nalgorithm = "%s"\nprivate_key_file = "%s"\n' "$@"
}
signs=(rsa ed25519 both)
{ cat config/send-unsigned.toml; dkim_table rsa2026 rsa dkim-rsa.pem; } >config/send-rsa.toml
{ cat config/send-unsigned.toml; dkim_table ed2026 ed25519 dkim-ed25519.key; } >config/send-ed25519.toml
{ cat config/send-rsa.toml; dkim_table ed2026 ed25519 dkim-ed25519.key; } >config/send-both.toml
for _ in $(seq "$runs"); do
  for sign in unsigned "${signs[@]}"; do
    timed "signed-$sign" "$signed_readers" 1 --append --reset "$work/signed/state" --expect-output "$signed_readers accepted" -- \
      "$letterpress" --config "config/send-$sign.toml" send issues/example --yes
  done
  openssl speed -seconds 3 rsa2048 2>/dev/null | grep '^rsa 2048 bits' >>"$results/openssl-speed.txt"
done
fi

if [[ $signed_only != 1 ]]; then
echo "$relay_readers readers through two relays (two smtp-sinks) against one relay with as many connections"
port2=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -c "${sink_user[@]}" "127.0.0.1:$port2" 4096 >"$results/sink2-counters.txt" 2>"$results/sink2.err" &
sink2=$!
trap 'kill "$sink" "$sink2" 2>/dev/null || true' EXIT
for _ in {1..50}; do (exec 3<>"/dev/tcp/127.0.0.1/$port2") 2>/dev/null && break; sleep 0.1; done
received2() {
  local n
  n=$(tr '\r' '\n' <"$results/sink2-counters.txt" | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2) || true
  echo "${n:-0}"
}
"${util[@]}" project "$work/relays" "$relay_readers" --root "$root"
cd "$work/relays"
config config/send-one.toml 4
"${send_util[@]}" relays config/send-one.toml config/send-same.toml --relay "a:$port:2:1" --relay "b:$port:2:1"
"${send_util[@]}" relays config/send-one.toml config/send-four.toml --relay "a:$port:1:1" --relay "b:$port:1:1" --relay "c:$port:1:1" --relay "d:$port:1:1"
"${send_util[@]}" relays config/send-one.toml config/send-even.toml --relay "a:$port:2:1" --relay "b:$port2:2:1"
"${send_util[@]}" relays config/send-one.toml config/send-weighted.toml --relay "a:$port:3:3" --relay "b:$port2:1:1"
for _ in $(seq "$runs"); do
  for setup in one same four even weighted; do
    before=$(($(received) + $(received2)))
    "${util[@]}" measure --name "relays-$setup" --json "$results/relays-$setup.json" --runs 1 --messages "$relay_readers" \
      --append --reset "$work/relays/state" --expect-output "$relay_readers accepted" -- \
      "$letterpress" --config "config/send-$setup.toml" send issues/example --yes
    for _ in {1..30}; do (($(received) + $(received2) - before >= relay_readers)) && break; sleep 0.1; done
    got=$(($(received) + $(received2) - before))
    ((got == relay_readers)) || die "the sinks took $got messages during relays-$setup, expected $relay_readers"
  done
done
fi

echo
"${send_util[@]}" summary "$results"
echo "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" |
  tee "$results/load.txt"
echo "results: $results/"
