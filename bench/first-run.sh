#!/usr/bin/env bash
# Times what a new user types after `cargo install`: in an empty folder,
# `letterpress init`, then build, check and a dry run of the first issue,
# each as a whole process (release build), median of 5 rounds; prints each
# step and the total from an empty folder to a dry-run outbox.
set -euo pipefail
# LETTERPRESS_BIN=/path/to/letterpress times that binary instead of building this tree.

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
letterpress=${LETTERPRESS_BIN:-$root/target/release/letterpress}
if [[ -z ${LETTERPRESS_BIN:-} ]]; then
  (cd "$root" && cargo build --release --locked) || { echo "error: building letterpress failed" >&2; exit 1; }
fi
work=$bench/.cache/first-run
now() { date +%s.%N; }
declare -A steps
for round in 1 2 3 4 5; do
  rm -rf "$work" && mkdir -p "$work" && cd "$work"
  t0=$(now)
  "$letterpress" init news --name "작은 뉴스레터" --from "작은 뉴스레터 <letter@example.com>" --language ko >/dev/null
  t1=$(now)
  cd news
  issue=$(ls -d issues/*-first)
  "$letterpress" build "$issue" >/dev/null
  t2=$(now)
  "$letterpress" check "$issue" >/dev/null
  t3=$(now)
  "$letterpress" send "$issue" --dry-run --out outbox >/dev/null
  t4=$(now)
  [[ -f outbox/letter@example.com.eml ]] || { echo "error: no message in the outbox" >&2; exit 1; }
  steps[init]+="$(echo "$t1 - $t0" | bc) "
  steps[build]+="$(echo "$t2 - $t1" | bc) "
  steps[check]+="$(echo "$t3 - $t2" | bc) "
  steps[dryrun]+="$(echo "$t4 - $t3" | bc) "
  steps[total]+="$(echo "$t4 - $t0" | bc) "
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for step in init build check dryrun total; do
  printf "%-8s %8.1f ms (median of 5)\n" "$step" "$(echo "${steps[$step]}" | median | awk '{print $1 * 1000}')"
done
