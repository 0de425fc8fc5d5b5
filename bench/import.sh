#!/usr/bin/env bash
# Times `letterpress subscribers import` of CSV files with 10,000 to 100,000
# rows into an empty list (median of 3 runs each) and prints the time per
# 10,000 rows, which stays flat when the import is linear. With
# BASELINE=/path/to/an/older/letterpress the same imports are timed with it
# in the same run (rows above BASELINE_MAX_ROWS, default 20000, are skipped
# for the baseline: a quadratic import of 100,000 rows takes many minutes).
# Scratch files live in bench/.cache/import/.
set -euo pipefail
# LETTERPRESS_BIN=/path/to/letterpress times that binary instead of building this tree.

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/import
letterpress=${LETTERPRESS_BIN:-$root/target/release/letterpress}
baseline=${BASELINE:-}
baseline_max=${BASELINE_MAX_ROWS:-20000}
sizes=(10000 20000 40000 100000)

die() { echo "error: $*" >&2; exit 1; }

if [[ -z ${LETTERPRESS_BIN:-} ]]; then
  (cd "$root" && cargo build --release --locked) || die "building letterpress in release failed"
fi
mkdir -p "$work/config"
for rows in "${sizes[@]}"; do
  python3 - "$work/$rows.csv" "$rows" <<'PY'
import csv, sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Email Address", "이름", "tags"])
    for i in range(rows):
        w.writerow([f"reader{i}@example.com", f"독자{i}", "weekly"])
PY
done
cat >"$work/config/newsletter.toml" <<'TOML'
[newsletter]
name = "Bench"
from = "Bench <letter@example.com>"

[subscribers]
file = "subscribers.toml"

[unsubscribe]
mailto = "unsubscribe@example.com"
TOML

# median of 3 runs of an import of FILE with BINARY into an empty list
time_import() {
  local binary=$1 file=$2 times=()
  for _ in 1 2 3; do
    printf '# bench list\n' >"$work/config/subscribers.toml"
    local start end
    start=$(date +%s.%N)
    "$binary" --config "$work/config/newsletter.toml" subscribers import "$file" >/dev/null ||
      die "$binary subscribers import $file failed"
    end=$(date +%s.%N)
    times+=("$(awk "BEGIN { print $end - $start }")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

printf '%-12s %10s %18s' "rows" "letterpress" "s per 10,000 rows"
[[ -n $baseline ]] && printf ' %10s %8s' "baseline" "ratio"
echo
for rows in "${sizes[@]}"; do
  t=$(time_import "$letterpress" "$work/$rows.csv")
  printf '%-12s %10.3f %18.3f' "$rows" "$t" "$(awk "BEGIN { print $t * 10000 / $rows }")"
  if [[ -n $baseline ]]; then
    if ((rows <= baseline_max)); then
      b=$(time_import "$baseline" "$work/$rows.csv")
      printf ' %10.3f %7.1fx' "$b" "$(awk "BEGIN { print $b / $t }")"
    else
      printf ' %10s %8s' "-" "-"
    fi
  fi
  echo
done
