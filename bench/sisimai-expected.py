#!/usr/bin/env python3
"""Builds tests/fixtures/bounces/sisimai/: a selection of Sisimai's public
sample set and what Sisimai itself finds in each sample.

How the corpus was made (re-run to rebuild it):

    bench/sisimai-expected.py SET_OF_EMAILS P5_SISIMAI OUT_DIR

SET_OF_EMAILS is a checkout of github.com/sisimai/set-of-emails, P5_SISIMAI
one of github.com/sisimai/p5-sisimai (its lib/ and t/). The selection is the
first four samples (by number) of every family in maildir/bsd/ (lhost-*,
rhost-*, arf-*, rfc3464-*, rfc3834-*): no sample is chosen by how well any
parser reads it. For every selected sample p5-sisimai's Sisimai->rise (with
delivered and vacation results kept) gives one row per recipient: address,
status, reason and hardbounce. Those are the values Sisimai's own test
tables (p5-sisimai t/*.t, `$isexpected`) assert; every row is checked
against the table of its family where one exists, and a disagreement stops
the script. A sample Sisimai finds nothing in is written with recipient `-`
(the scorer leaves it out and says how many).

expected.tsv columns: file, recipient, status, reason, sisimai-hardbounce,
kind. `kind` is Sisimai's verdict read through letterpress's policy:
  none       delivered, vacation (not a failure)
  complaint  feedback (ARF): the reader unsubscribes
  blocked    the receiver refused the *sender* or its content (blocked,
             spamdetected, policyviolation, rejected, securityerror, ...):
             never the reader's fault, never marks the reader
  hard       userunknown, hostunknown, hasmoved, suspend, and notaccept that
             Sisimai calls hard -- unless the status is 4.x.x: a temporary
             failure is never hard
  soft       everything else (mailboxfull, expired, systemerror, and
             filtered: a refusal after DATA or by the recipient's own
             rules, counted toward the soft-bounce limit)
Needs perl 5.26+ with JSON (Class::Accessor::Lite is shimmed below).
"""
import os, re, shutil, subprocess, sys, tempfile
from collections import defaultdict

BLOCKED = {"blocked", "spamdetected", "policyviolation", "rejected",
           "badreputation", "requireptr", "authfailure", "notcompliantrfc",
           "virusdetected", "speeding", "norelaying", "securityerror",
           "contenterror", "suppressed", "failedstarttls"}
HARD = {"userunknown", "hostunknown", "hasmoved", "suspend"}

SHIM = r'''package Class::Accessor::Lite; use strict; no strict 'refs';
sub import { my ($c, %a) = @_; my $p = caller;
  if ($a{new}) { *{"${p}::new"} = sub { my $c = shift; bless { @_ == 1 ? %{$_[0]} : @_ }, $c } }
  for my $k (qw(rw ro wo)) { for my $n (@{ $a{$k} || [] }) {
    *{"${p}::$n"} = sub { my $s = shift; $s->{$n} = $_[0] if @_; $s->{$n} } } } }
1;
'''
DUMP = r'''use strict; use Sisimai;
for my $f (@ARGV) {
  my $v = Sisimai->rise($f, delivered => 1, vacation => 1) || [];
  (my $b = $f) =~ s{.*/}{};
  if (!@$v) { print join("\t", $b, '-', '', '', ''), "\n"; next }
  for my $e (@$v) { print join("\t", $b, $e->recipient->address,
    $e->deliverystatus // '', $e->reason // '', $e->hardbounce ? 1 : 0), "\n" } }
'''


def kind(status, reason, hard):
    if reason in ("delivered", "vacation"):
        return "none"
    if reason == "feedback":
        return "complaint"
    if reason in BLOCKED:
        return "blocked"
    if status.startswith("4"):
        return "soft"
    if reason in HARD or (reason == "notaccept" and hard == "1"):
        return "hard"
    return "soft"


def tables(p5):
    """sample prefix -> number -> [(status, reason, hard)] from t/*.t."""
    out = {}
    for name in os.listdir(os.path.join(p5, "t")):
        m = re.match(r"\d+-((?:lhost|rhost)-[a-z0-9]+|rfc3464|rfc3834|arf)\.t$", name)
        if not m:
            continue
        text = open(os.path.join(p5, "t", name), encoding="utf-8").read()
        rows = defaultdict(list)
        for num, body in re.findall(r"'(\d+)'\s*=>\s*\[(.*?)\]\],", text, re.S):
            for s, _, r, h in re.findall(r"\['([^']*)',\s*'([^']*)',\s*'([^']*)',\s*(\d)", body):
                rows[num].append((s, r, h))
        out[m.group(1)] = rows
    return out


def main(soe, p5, out):
    bsd = os.path.join(soe, "maildir", "bsd")
    families = defaultdict(list)
    for f in os.listdir(bsd):
        m = re.match(r"(.+)-(\d+)\.eml$", f)
        if m:
            families[m.group(1)].append((int(m.group(2)), f))
    chosen = sorted(f for fam in families.values() for _, f in sorted(fam)[:4])
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "Class", "Accessor"))
        open(os.path.join(tmp, "Class", "Accessor", "Lite.pm"), "w").write(SHIM)
        lib = os.path.join(tmp, "lib")
        shutil.copytree(os.path.join(p5, "lib"), lib)
        top = os.path.join(lib, "Sisimai.pm")  # 5.x passes 'vaction': keep vacation results
        text = open(top).read().replace("'vaction'", "'vacation'")
        open(top, "w").write(text)
        rows = subprocess.run(["perl", "-I" + tmp, "-I" + lib, "-e", DUMP]
                              + [os.path.join(bsd, f) for f in chosen],
                              capture_output=True, text=True)
        if rows.returncode != 0:
            sys.exit(rows.stderr[-2000:])
        rows = rows.stdout
    known = tables(p5)
    checked = 0
    os.makedirs(out, exist_ok=True)
    lines = []
    per_file = defaultdict(list)
    for row in rows.splitlines():
        f, rcpt, status, reason, hard = row.split("\t")
        per_file[f].append((rcpt, status, reason, hard))
    for f in chosen:
        m = re.match(r"(.+)-(\d+)\.eml$", f)
        table = known.get(m.group(1), {}).get(m.group(2))
        got = per_file[f]
        if table is not None and got[0][0] != "-":
            want = sorted({(s, r) for s, r, _ in table})
            have = sorted({(s, r) for _, s, r, _ in got})
            if want != have:
                sys.exit(f"{f}: Sisimai gives {have}, its tests say {want}")
            checked += 1
        for rcpt, status, reason, hard in got:
            k = kind(status, reason, hard) if rcpt != "-" else "-"
            lines.append("\t".join([f, rcpt.lower(), status or "-", reason or "-", hard or "-", k]))
        shutil.copy(os.path.join(bsd, f), os.path.join(out, f))
    with open(os.path.join(out, "expected.tsv"), "w") as o:
        o.write("# Made by bench/sisimai-expected.py from sisimai/set-of-emails and p5-sisimai;\n")
        o.write("# see its header. file, recipient, status, reason, sisimai-hardbounce, kind\n")
        o.write("\n".join(lines) + "\n")
    shutil.copy(os.path.join(soe, "LICENSE"), os.path.join(out, "LICENSE"))
    print(f"{len(chosen)} samples, {len(lines)} rows, {checked} checked against Sisimai's tests",
          file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: bench/sisimai-expected.py SET_OF_EMAILS P5_SISIMAI OUT_DIR")
    main(*sys.argv[1:])
