#!/usr/bin/env bash
# Times a whole-process build of the example issue: letterpress against the
# MJML CLI and mrml-cli rendering the equivalent bench/example.mjml.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
cache=$bench/.cache
cd "$root"

mjml=bench/.cache/mjml/node_modules/.bin/mjml
mrml=bench/.cache/mrml/bin/mrml
letterpress=target/release/letterpress

if ! command -v hyperfine >/dev/null; then
  echo "error: hyperfine not found; install it with: apt-get install -y hyperfine" >&2
  exit 1
fi
[[ -x $mjml ]] || npm install --prefix "$cache/mjml" mjml
[[ -x $mrml ]] || cargo install mrml-cli --locked --root "$cache/mrml"

if ! cargo build --release --locked || [[ ! -x $letterpress ]]; then
  echo "error: building letterpress in release failed" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
json=$cache/hyperfine
mkdir -p "$json"

timeit() { # name, extra hyperfine args..., command
  local name=$1; shift
  hyperfine --runs 10 --warmup 2 -N --export-json "$json/$name.json" -n "$name" "$@"
}
timeit letterpress "$letterpress --config config/newsletter.toml build issues/example --out $tmp/letterpress"
timeit mjml "$mjml bench/example.mjml -o $tmp/mjml.html"
timeit mrml --output "$tmp/mrml.html" "$mrml bench/example.mjml render"

email=$(find "$tmp/letterpress" -name email.html 2>/dev/null | head -n 1 || true)
if [[ -z $email ]]; then
  echo "error: letterpress wrote no email.html under its --out folder" >&2
  exit 1
fi

echo
echo "mjml $("$mjml" --version | sed -n 's/^mjml-core: //p'), $("$mrml" --version)"
python3 - "$json" "$email" "$tmp/mjml.html" "$tmp/mrml.html" <<'EOF'
import json, os, sys
folder, *outputs = sys.argv[1:]
names = ["letterpress", "mjml", "mrml"]
ms = {n: json.load(open(f"{folder}/{n}.json"))["results"][0]["median"] * 1000 for n in names}
print(f"{'renderer':<12} {'median ms':>10} {'HTML bytes':>11}")
for n, out in zip(names, outputs):
    print(f"{n:<12} {ms[n]:>10.2f} {os.path.getsize(out):>11}")
print(f"letterpress is {ms['mjml'] / ms['letterpress']:.1f}x faster than MJML")
r = ms["letterpress"] / ms["mrml"]
print(f"letterpress is within {r:.1f}x of mrml-cli" if r >= 1 else f"letterpress is {1 / r:.1f}x faster than mrml-cli")
print(f"hyperfine JSON: {folder}/")
EOF
