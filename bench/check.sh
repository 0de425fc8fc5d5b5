#!/usr/bin/env bash
# Times `letterpress check` on the example issue with a 100,000-reader list:
# whole process, hyperfine median of 5 runs, and peak RSS with GNU time.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/check
letterpress=$root/target/release/letterpress

command -v hyperfine >/dev/null || { echo "error: hyperfine not found; apt-get install -y hyperfine" >&2; exit 1; }
(cd "$root" && cargo build --release --locked)
python3 "$bench/dryrun_util.py" project "$work" 100000 --root "$root"
cd "$work"
"$letterpress" check issues/example
hyperfine -N --runs 5 --warmup 1 --export-json "$work/check.json" "$letterpress check issues/example"
if [[ -x /usr/bin/time ]]; then
  /usr/bin/time -f "peak RSS: %M KB" "$letterpress" check issues/example >/dev/null
fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("check with 100,000 readers: median %.0f ms (target <= 1000 ms)" % (r["median"] * 1000))' "$work/check.json"
