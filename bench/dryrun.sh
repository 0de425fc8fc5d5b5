#!/usr/bin/env bash
# Times `letterpress send --dry-run` to 10,000 readers (median of 3 runs,
# messages per second and peak RSS) against Python's email package building
# the same messages (bench/dryrun_email.py), and the load of a 100,000-reader
# list with `subscribers list --count`. Scratch projects live in
# bench/.cache/dryrun/.
set -euo pipefail
# LETTERPRESS_BIN=/path/to/letterpress times that binary instead of building this tree.

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/dryrun
json=$work/results
util=(python3 "$bench/dryrun_util.py")
letterpress=${LETTERPRESS_BIN:-$root/target/release/letterpress}
cfg=config/newsletter.toml
export LETTERPRESS_UNSUBSCRIBE_SECRET=${LETTERPRESS_UNSUBSCRIBE_SECRET:-letterpress-bench-secret}

die() { echo "error: $*" >&2; exit 1; }

if [[ -z ${LETTERPRESS_BIN:-} ]]; then
  (cd "$root" && cargo build --release --locked) || die "building letterpress in release failed"
fi
[[ -x $letterpress ]] || die "$letterpress is missing after the build"

project() { "${util[@]}" project "$1" "$2" --root "$root"; } # folder, number of readers
echo "generating the scratch projects in $work"
project "$work/10k" 10000
project "$work/100k" 100000
mkdir -p "$json"

cd "$work/10k"
"$letterpress" --config "$cfg" build issues/example --as reader0@example.com --out "$work/templates" >/dev/null ||
  die "letterpress build failed in $PWD"

echo "dry run to 10,000 readers"
"${util[@]}" measure --name letterpress --json "$json/letterpress.json" --clean "$work/out/letterpress" --expect 10000 -- \
  "$letterpress" --config "$cfg" send issues/example --dry-run --out "$work/out/letterpress"
"${util[@]}" measure --name python --json "$json/python.json" --clean "$work/out/python" --expect 10000 -- \
  python3 "$bench/dryrun_email.py" --config "$cfg" --issue issues/example --templates "$work/templates" \
  --sample-email reader0@example.com --sample-name 김독자0 --out "$work/out/python"

cd "$work/100k"
count=$("$letterpress" --config "$cfg" subscribers list --count) ||
  die "letterpress subscribers list --count failed in $PWD"
echo "100,000-reader list: subscribers list --count printed: $count"
if command -v hyperfine >/dev/null; then
  hyperfine -N --runs 5 --warmup 1 --export-json "$json/list.json" -n "subscribers list --count" \
    "$(printf %q "$letterpress") --config $cfg subscribers list --count"
else
  "${util[@]}" measure --name list --json "$json/list.json" --runs 5 -- "$letterpress" --config "$cfg" subscribers list --count
fi

echo
"${util[@]}" summary "$json"
echo "results: $json/  messages: $work/out/"
