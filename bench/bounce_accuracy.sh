#!/usr/bin/env bash
# Scores the bounce parser on Sisimai's public samples
# (tests/fixtures/bounces/sisimai/, made by bench/sisimai-expected.py):
# reports, recipients right, wrong addresses given, kinds right, reasons
# right, temporary failures called hard; all samples and every fifth one
# (held out while the rules were written). MISSES=1 lists every miss.
#
# Kinds are scored by letterpress's policy, not Sisimai's hardbounce flag:
# userunknown, hostunknown, hasmoved, suspend (and notaccept Sisimai calls
# hard) are hard unless the status is 4.x.x; rejected, blocked,
# spamdetected, policyviolation, securityerror and the other refusals of the
# sender are "blocked" (never the reader's fault); feedback is a complaint;
# delivered and vacation are none; everything else (filtered, mailboxfull,
# expired, ...) is soft. An automatic
# reply names no failed recipient; samples where Sisimai finds none are left
# out (the count is printed).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(cd "$root" && cargo test --quiet --test main bounces::sisimai_corpus_scores -- --nocapture 2>&1) || true
echo "Sisimai's public samples (tests/fixtures/bounces/sisimai/), scored as Sisimai states them."
echo "Kinds by letterpress's policy: hard = userunknown/hostunknown/hasmoved/suspend/notaccept"
echo "unless 4.x.x; blocked = refusals of the sender (blocked, spamdetected, policyviolation,"
echo "rejected, securityerror, ...), never a mark on the reader; complaint = feedback;"
echo "none = delivered/vacation; soft = the rest (mailboxfull, expired, filtered, ...)."
echo "Temporary failure = a 4.x.x status or mailboxfull/expired/systemerror/systemfull/"
echo "toomanyconn/networkerror."
if [[ -n ${MISSES:-} ]]; then
  grep '^miss: ' <<<"$out" || true
fi
grep -E '^(samples Sisimai|all:|held-out)' <<<"$out" || { echo "$out" >&2; exit 1; }
