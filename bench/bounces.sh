#!/usr/bin/env bash
# Times `letterpress bounces import` of a 10,000-message mbox made from the
# report corpus (tests/fixtures/bounces/, each copy with its own Message-ID
# and reader) against a list of 10,000 readers: a dry run (read, classify,
# weigh) and a real import (plus the log and the list write), median of 3
# runs each, peak RSS with GNU time. The baseline, in the same run, is
# Python's standard library reading the same mbox (mailbox.mbox and
# email's BytesParser with policy.default, walking every part and reading
# the delivery-status fields): the parse alone, no classification.
# Scratch files live in bench/.cache/bounces/.
set -euo pipefail
# LETTERPRESS_BIN=/path/to/letterpress times that binary instead of building this tree.

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/bounces
letterpress=${LETTERPRESS_BIN:-$root/target/release/letterpress}
messages=${MESSAGES:-10000}

die() { echo "error: $*" >&2; exit 1; }
[[ -x /usr/bin/time ]] || die "GNU time is needed: apt-get install -y time"
command -v python3 >/dev/null || die "python3 is needed for the baseline"

if [[ -z ${LETTERPRESS_BIN:-} ]]; then
  (cd "$root" && cargo build --release --locked) || die "building letterpress in release failed"
fi
rm -rf "$work" && mkdir -p "$work/config" "$work/state"
python3 - "$root/tests/fixtures/bounces" "$work" "$messages" <<'PY'
import os, re, sys
corpus, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(f for f in os.listdir(corpus) if f.endswith(".eml"))
texts = [open(os.path.join(corpus, f), encoding="utf-8").read() for f in files]
readers = set()
with open(os.path.join(work, "bounces.mbox"), "w", encoding="utf-8") as out:
    for i in range(n):
        text = texts[i % len(texts)]
        # Each copy is its own report about its own reader.
        text = re.sub(r"(?im)^message-id:.*$", f"Message-ID: <bench-{i}@mx.example.net>", text, count=1)
        def rename(m):
            readers.add(f"{m.group(1)}-{i}@{m.group(2)}")
            return f"{m.group(1)}-{i}@{m.group(2)}"
        text = re.sub(r"\b((?:gone|full|nobody|dead|two|o365|legacy|lost|fbl|arf|spam|dmarc|expired|slow|vanished|nosuch|quota)[\w.-]*)@((?:mail\.)?example\.(?:org|net))", rename, text)
        text = re.sub(r"(?m)^From ", ">From ", text)
        out.write("From MAILER-DAEMON Fri Nov 27 09:00:00 2026\n" + text.rstrip("\n") + "\n\n")
with open(os.path.join(work, "config", "subscribers.toml"), "w", encoding="utf-8") as out:
    for r in sorted(readers):
        out.write(f'[[subscriber]]\nemail = "{r}"\n\n')
print(f"{n} messages, {len(readers)} readers in the list")
PY
cat >"$work/config/newsletter.toml" <<'TOML'
[newsletter]
name = "Bench"
from = "Bench <letter@example.com>"

[subscribers]
file = "subscribers.toml"

[sending]
state_dir = "../state"

[bounces]
return_path = "bounces@example.com"
verify = false                   # the corpus copies carry no tag or token
TOML
cp "$work/config/subscribers.toml" "$work/list.orig"
export LETTERPRESS_UNSUBSCRIBE_SECRET=bench-secret-0123456789abcdef

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() { # label, command…: prints seconds and peak KB of each of 3 runs
  local label=$1; shift
  for _ in 1 2 3; do
    [[ $label == import ]] && { cp "$work/list.orig" "$work/config/subscribers.toml"; rm -f "$work/state/bounces.log"; }
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt"; die "$label failed"; }
    cat "$work/time.txt"
  done
}

cd "$work"
dry=$(run dry-run "$letterpress" --config config/newsletter.toml bounces import bounces.mbox --dry-run --format json)
real=$(run import "$letterpress" --config config/newsletter.toml bounces import bounces.mbox --format json)
cat >"$work/baseline.py" <<'PY'
import mailbox, sys
from email import policy
from email.parser import BytesParser
parser = BytesParser(policy=policy.default)
box = mailbox.mbox(sys.argv[1], factory=lambda f: parser.parse(f), create=False)
fields = 0
for message in box:
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            for block in payload if isinstance(payload, list) else []:
                fields += len(block.keys())
print(fields)
PY
base=$(run baseline python3 "$work/baseline.py" bounces.mbox)
report() { # label, lines of "seconds KB"
  local label=$1 lines=$2 secs kb
  secs=$(awk '{print $1}' <<<"$lines" | median)
  kb=$(awk '{print $2}' <<<"$lines" | median)
  awk -v l="$label" -v s="$secs" -v k="$kb" -v n="$messages" \
    'BEGIN {printf "%-44s %8.2f s %10.0f messages/s %8.1f MB peak RSS\n", l, s, (s > 0 ? n / s : 0), k / 1024}'
  echo "$secs" >"$work/$label.secs"
}
report "letterpress bounces import --dry-run" "$dry"
report "letterpress bounces import (log + list)" "$real"
report "python3 mailbox + email (parse only)" "$base"
awk -v a="$(cat "$work/letterpress bounces import --dry-run.secs")" -v b="$(cat "$work/python3 mailbox + email (parse only).secs")" \
  'BEGIN {if (a > 0) printf "letterpress classifies %.1fx as many messages per second as the baseline parses\n", b / a}'
