#!/usr/bin/env bash
# A 1,000,000-reader list (made like the other benches' lists, 90 MB): the
# time and peak memory of loading and validating it (`subscribers list
# --count`, median of RUNS=3) against Python's tomllib loading the same file
# in the same run, then the peak memory of `check`, of `send --dry-run` to
# every reader (about 34 GB of .eml files under DRY_RUN_DIR, removed
# afterwards; DRY_RUN=0 skips it) and of `send` to every reader through
# Postfix's smtp-sink on loopback at concurrency 4, and of `check` again
# with that send's 1,000,000-record journal to read. Run as root: smtp-sink
# drops to nobody. Targets: load ≤ 1.5 s and ≤ 250 MB; the rest ≤ 300 MB.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/million
runs=${RUNS:-3}
dry_run_dir=${DRY_RUN_DIR:-$work/eml}
letterpress=$work/letterpress
export LETTERPRESS_UNSUBSCRIBE_SECRET=million-bench-secret-0123456789

die() { echo "error: $*" >&2; exit 1; }
for tool in /usr/sbin/smtp-sink /usr/bin/time; do
  [[ -x $tool ]] || die "$tool is missing (apt-get install postfix time)"
done
(cd "$root" && cargo build --release --locked) || die "building letterpress in release failed"
mkdir -p "$work"
cp "$root/target/release/letterpress" "$letterpress"
[ -s "$work/project/config/subscribers.toml" ] || python3 "$bench/dryrun_util.py" project "$work/project" 1000000 --root "$root"
cd "$work/project"
echo "list: $(du -h config/subscribers.toml | cut -f1), $(grep -c '^\[\[subscriber\]\]' config/subscribers.toml) readers"

results=$work/results.txt
: >"$results"
timed() { # NAME CMD...: seconds and peak RSS (MB) into the results
  local name=$1 seconds kib
  shift
  /usr/bin/time -o "$work/$name.time" -f "%e %M" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
    die "$name failed: $(tail -n 5 "$work/$name.err")"
  read -r seconds kib <"$work/$name.time"
  printf '%-28s %8.2f s %8.1f MB\n' "$name" "$seconds" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" | tee -a "$results"
}

rm -rf state # no journal yet: check reads the list alone, then again after the send
for i in $(seq "$runs"); do timed "letterpress-load-$i" "$letterpress" subscribers list --count; done
grep -q "1000000 readers" "$work/letterpress-load-1.out" || die "the list did not load 1,000,000 readers: $(cat "$work/letterpress-load-1.out")"
timed python-tomllib python3 -c 'import sys, tomllib; print(len(tomllib.load(open(sys.argv[1], "rb"))["subscriber"]))' config/subscribers.toml
timed letterpress-check "$letterpress" check issues/example
if [ "${DRY_RUN:-1}" != 0 ]; then
  rm -rf "$dry_run_dir" && mkdir -p "$dry_run_dir"
  timed letterpress-dry-run "$letterpress" send issues/example --dry-run --out "$dry_run_dir"
  [ "$(find "$dry_run_dir" -name '*.eml' | wc -l)" = 1000000 ] || die "the dry run did not write 1,000,000 files"
  rm -rf "$dry_run_dir"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -c -u nobody "127.0.0.1:$port" 4096 >"$work/sink-counters.txt" 2>"$work/sink.err" &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in {1..50}; do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
python3 "$bench/send_util.py" config config/newsletter.toml config/send-c4.toml --port "$port" --concurrency 4 --state-dir ../state
rm -rf state # the send starts afresh (state_dir is ../state from config/)
timed letterpress-send "$letterpress" --config config/send-c4.toml send issues/example --yes
grep -q "1000000 accepted" "$work/letterpress-send.out" || die "the send did not deliver to 1,000,000 readers: $(tail -n 3 "$work/letterpress-send.out")"
timed letterpress-check-after "$letterpress" check issues/example

python3 - "$results" "$runs" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, seconds, _, mb, _ = line.split()
    rows[name] = (float(seconds), float(mb))
loads = [rows[f"letterpress-load-{i}"] for i in range(1, int(sys.argv[2]) + 1)]
t, mb = statistics.median(s for s, _ in loads), max(m for _, m in loads)
pt, pmb = rows["python-tomllib"]
ok = lambda c: "met" if c else "NOT MET"
print()
print(f"load + validate 1,000,000 readers: {t:.2f} s, {mb:.0f} MB (target 1.5 s, 250 MB: {ok(t <= 1.5 and mb <= 250)})")
print(f"Python tomllib, same file: {pt:.2f} s, {pmb:.0f} MB: letterpress is {pt / t:.1f}x faster in {mb / pmb:.2f} of the memory")
for name in ("letterpress-check", "letterpress-dry-run", "letterpress-send", "letterpress-check-after"):
    if name in rows:
        s, m = rows[name]
        print(f"{name}: {s:.1f} s, peak {m:.0f} MB (target 300 MB: {ok(m <= 300)})")
PY
