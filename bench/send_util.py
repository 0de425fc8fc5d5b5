"""Helpers of bench/send.sh (timing itself is dryrun_util.py's `measure`).

  config SRC DEST --port P --concurrency C --state-dir DIR [--subscribers FILE]
                          SRC with [smtp] aimed at the sink on 127.0.0.1:P and
                          [sending] rewritten for an unthrottled send
  relays SRC DEST --relay NAME:PORT:CONCURRENCY:WEIGHT...
                          SRC (a config from `config`) with its [smtp] replaced
                          by one [[smtp]] table per --relay
  mailmerge FOLDER --port P LETTER-OPTIONS...
                          mailmerge's template.txt, database.csv and server.conf
                          for the readers and issue dryrun_email.py would use
  summary FOLDER          print the table from the JSON files of send.sh
"""

import argparse
import csv
import email.utils
import html
import json
import re
import statistics
import sys
import tomllib
from email.header import Header
from pathlib import Path

import dryrun_email

HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # strings, lists of strings


def config(args):
    text = Path(args.src).read_text("utf-8")
    original = tomllib.loads(text)
    smtp = {k: v for k, v in original.get("smtp", {}).items() if k not in ("username", "password_env", "ca_file")}
    smtp.update(host="127.0.0.1", port=args.port, security="none")
    sending = dict(original.get("sending", {}))
    sending.update(
        concurrency=args.concurrency,
        rate_per_second=0,
        max_messages_per_connection=1000,
        state_dir=args.state_dir,
    )
    tables = {"smtp": smtp, "sending": sending}
    if args.subscribers:
        tables["subscribers"] = dict(original.get("subscribers", {}), file=args.subscribers)
    kept, table = [], None
    for line in text.splitlines():
        if m := HEADER.match(line):
            table = m.group(1)
        if table not in tables:
            kept.append(line)
    for name, values in tables.items():
        kept += ["", f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in values.items()]
    result = "\n".join(kept) + "\n"
    parsed = tomllib.loads(result)  # also refuses duplicate keys
    for name, values in tables.items():
        if parsed[name] != values:
            sys.exit(f"error: [{name}] of {args.dest} reads back as {parsed[name]}, not {values}")
    Path(args.dest).write_text(result, "utf-8")


def mailmerge(args):
    """A multipart/alternative template of the issue's text and HTML, with
    {{name}} and {{url}} where the reader's name and unsubscribe link go."""
    letter = dryrun_email.Letter(args)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)

    def fields(template, url, escape):
        """The template as Jinja: the text in raw blocks, the name and link as fields."""
        suffix = "_html" if escape else ""
        pattern = "|".join(re.escape(v) for v in (url, args.sample_name) if v)
        out = []
        for i, piece in enumerate(re.split(f"({pattern})", template)):
            if i % 2:
                out.append("{{" + ("url" if piece == url else "name") + suffix + "}}")
            elif piece:
                out.append("{% raw %}" + piece + "{% endraw %}")
        return "".join(out)

    sender_name, sender = email.utils.parseaddr(letter.letter["from"])
    headers = [
        "TO: {{to}}",
        f"FROM: {email.utils.formataddr((sender_name, sender), charset='utf-8')}",
        f"SUBJECT: {Header(letter.subject, 'utf-8').encode()}",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="letterpress-bench"',
    ]
    if "reply_to" in letter.letter:
        headers.append(f"Reply-To: {letter.letter['reply_to']}")
    if "list_id" in letter.letter:
        headers.append(f"List-Id: <{letter.letter['list_id']}>")
    if letter.html_url:
        headers.append("List-Unsubscribe: <{{url}}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    body = [
        "",
        "--letterpress-bench",
        "Content-Type: text/plain; charset=utf-8",
        "",
        fields(letter.text_t, letter.text_url, False),
        "--letterpress-bench",
        "Content-Type: text/html; charset=utf-8",
        "",
        fields(letter.html_t, letter.html_url, True),
        "--letterpress-bench--",
    ]
    (folder / "template.txt").write_text("\n".join(headers + body) + "\n", "utf-8")

    with (folder / "database.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["to", "name", "name_html", "url", "url_html"])
        for reader in letter.readers:
            address, name = reader["email"], reader.get("name")
            url = letter.url(address) or ""
            shown = name or args.fallback_name
            to = email.utils.formataddr((name, address), charset="utf-8") if name else address
            out.writerow([to, shown, html.escape(shown), url, html.escape(url)])

    (folder / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {args.port}\nsecurity = Never\nratelimit = 0\n"
    )
    print(f"mailmerge inputs for {len(letter.readers)} readers in {folder}")


def relays(args):
    text = Path(args.src).read_text("utf-8")
    kept, table = [], None
    for line in text.splitlines():
        if m := HEADER.match(line):
            table = m.group(1)
        if table != "smtp":
            kept.append(line)
    wanted = []
    for spec in args.relay:
        name, port, concurrency, weight = spec.split(":")
        values = dict(name=name, host="127.0.0.1", port=int(port), security="none",
                      concurrency=int(concurrency), weight=int(weight))
        wanted.append(values)
        kept += ["", "[[smtp]]"] + [f"{k} = {toml_value(v)}" for k, v in values.items()]
    result = "\n".join(kept) + "\n"
    if tomllib.loads(result)["smtp"] != wanted:
        sys.exit(f"error: the [[smtp]] tables of {args.dest} do not read back as written")
    Path(args.dest).write_text(result, "utf-8")


def summary(args):
    folder = Path(args.folder)

    def load(name):
        path = folder / f"{name}.json"
        return json.loads(path.read_text())["results"][0] if path.exists() else None

    rate = lambda r: r["messages"] / r["median"]
    mb = lambda r: r["max_rss_kib"] * 1024 / 1e6
    verdict = lambda ok: "met" if ok else "NOT MET"
    rows = []

    def row(label, r):
        if r:
            cpu = statistics.median(r["cpu_seconds"]) if r.get("cpu_seconds") else float("nan")
            rows.append(
                f"{label:<40} {r['messages']:>8} {rate(r):>8.0f} {r['median']:>9.2f} {len(r['times']):>5} "
                f"{mb(r):>6.1f} MB {cpu:>6.2f} {cpu / r['messages'] * 1e6:>10.0f}"
            )

    sessions = sorted(int(p.stem.rpartition("-c")[2]) for p in folder.glob("letterpress-c*.json"))
    print(f"{'send to smtp-sink on loopback':<40} {'messages':>8} {'msgs/s':>8} {'median s':>9} {'runs':>5} {'peak RSS':>9} {'CPU s':>6} {'CPU µs/msg':>10}")
    for s in sessions:
        lp, src = load(f"letterpress-c{s}"), load(f"smtp-source-s{s}")
        row(f"letterpress, concurrency {s}", lp)
        row(f"smtp-source -d, {s} session{'s' if s > 1 else ''}", src)
    row("Python smtplib, 1 connection", load("smtplib"))
    row("mailmerge (a connection per message)", load("mailmerge"))
    row("letterpress, 100,000 readers, conc. 4", load("letterpress-100k"))
    print("\n".join(rows))

    print()
    for s in sessions:
        lp, src = load(f"letterpress-c{s}"), load(f"smtp-source-s{s}")
        if lp and src:
            share = rate(lp) / rate(src)
            cpu = statistics.median(lp["cpu_seconds"]) / lp["messages"] * 1e6 if lp.get("cpu_seconds") else float("nan")
            print(f"letterpress / smtp-source at {s:>2} session(s): {share:6.1%}  (target ≥ 90%: {verdict(share >= 0.9)}); "
                  f"letterpress CPU {cpu:.0f} µs/msg (target ≤ 150: {verdict(cpu <= 150)})")
    best = max((load(f"letterpress-c{s}") for s in sessions), key=lambda r: rate(r) if r else 0, default=None)
    one = load(f"letterpress-c{sessions[0]}") if sessions else None
    for label, base in (("Python smtplib", load("smtplib")), ("mailmerge", load("mailmerge"))):
        if base and one and best:
            r1, rb = rate(one) / rate(base), rate(best) / rate(base)
            print(
                f"letterpress / {label}: {r1:6.1f}× at concurrency {sessions[0]}, {rb:6.1f}× at its best "
                f"(target ≥ 10×: {verdict(r1 >= 10)} on one connection, {verdict(rb >= 10)} at best)"
            )
    big = load("letterpress-100k")
    if big:
        print(f"letterpress, 100,000 readers at concurrency 4: peak RSS {mb(big):.1f} MB "
              f"(target ≤ 100 MB: {verdict(mb(big) <= 100)}), {rate(big):.0f} msgs/s")
    for name in ("smtplib", "mailmerge"):
        r = load(name)
        if r and one and r["messages"] != one["messages"]:
            print(f"note: {name} was timed on {r['messages']:,} readers, letterpress on {one['messages']:,}; compare msgs/s")
    print(f"peak RSS from {one['rss_from'] if one else '?'}; every run checked against smtp-sink's message counter")
    signed_summary(folder, load, rate, verdict)
    relays_summary(load, rate, verdict)


def relays_summary(load, rate, verdict):
    """The relay rows: two relays sharing the connections of one, against
    the one relay in the same run; wall-clock throughput and the sender's
    own CPU per message (the sinks run on the same cores, so a second sink
    costs wall time that is not the sender's)."""
    one = load("relays-one")
    if not one:
        return
    cpu = lambda r: statistics.median(r["cpu_seconds"]) / r["messages"] * 1e6
    print()
    print(f"{'two relays, ' + format(one['messages'], ',') + ' readers, 4 connections':<40} {'msgs/s':>8} {'× one relay':>11} {'CPU µs/msg':>10} {'× CPU':>6} {'peak RSS':>9}")
    print(f"{'one relay, concurrency 4':<40} {rate(one):>8.0f} {1:>11.2f} {cpu(one):>10.0f} {1:>6.2f} {one['max_rss_kib'] / 1024:>6.1f} MB")
    rows = (
        ("relays-same", "two relays of one sink, 2 + 2, 1:1"),
        ("relays-four", "four relays of one sink, 1 each, 1:1:1:1"),
        ("relays-even", "two relays, 2 + 2, weights 1:1"),
        ("relays-weighted", "two relays, 3 + 1, weights 3:1"),
    )
    for name, label in rows:
        r = load(name)
        if r:
            share = rate(r) / rate(one)
            print(f"{label:<40} {rate(r):>8.0f} {share:>11.2f} {cpu(r):>10.0f} {cpu(r) / cpu(one):>6.2f} {r['max_rss_kib'] / 1024:>6.1f} MB  "
                  f"(target ≥ 0.95× one relay: {verdict(share >= 0.95)})")


def signed_summary(folder, load, rate, verdict):
    """The DKIM rows: each signed send against the unsigned send of the same
    readers in the same run, and its signing CPU against openssl speed's."""
    unsigned = load("signed-unsigned")
    speed = folder / "openssl-speed.txt"
    if not unsigned:
        return
    # "rsa 2048 bits 0.000255s 0.000019s 3919.4 53454.4": seconds per signature.
    per_sig = [float(line.split()[3].rstrip("s")) for line in speed.read_text().splitlines()] if speed.exists() else []
    openssl = statistics.median(per_sig) if per_sig else float("nan")
    cpu_per_msg = lambda r: statistics.median(r["cpu_seconds"]) / r["messages"]
    print()
    print(f"{'DKIM, ' + format(unsigned['messages'], ',') + ' readers, concurrency 4':<40} {'msgs/s':>8} {'× unsigned':>10} {'CPU µs/msg':>10} {'signing µs/msg':>14} {'× openssl':>9}")
    print(f"{'unsigned':<40} {rate(unsigned):>8.0f} {1:>10.2f} {cpu_per_msg(unsigned) * 1e6:>10.0f} {'':>14} {'':>9}")
    verdicts = []
    for sign, label in (("rsa", "signed, RSA-2048"), ("ed25519", "signed, Ed25519"), ("both", "signed, RSA-2048 + Ed25519")):
        r = load(f"signed-{sign}")
        if not r:
            continue
        share = rate(r) / rate(unsigned)
        signing = cpu_per_msg(r) - cpu_per_msg(unsigned)
        print(f"{label:<40} {rate(r):>8.0f} {share:>10.2f} {cpu_per_msg(r) * 1e6:>10.0f} {signing * 1e6:>14.0f} {signing / openssl:>9.2f}")
        if sign == "rsa":
            verdicts.append(f"RSA-2048 signed / unsigned: {share:.2f}× (target ≥ 0.7×: {verdict(share >= 0.7)}); "
                            f"signing CPU {signing * 1e6:.0f} µs/msg = {signing / openssl:.2f}× openssl's {openssl * 1e6:.0f} µs "
                            f"(target ≤ 1.5×: {verdict(signing <= 1.5 * openssl)})")
    print(f"{'openssl speed rsa2048 (one core)':<40} {1 / openssl:>8.0f} {'':>10} {openssl * 1e6:>10.0f} {'signatures/s, µs per signature'}")
    print("\n".join(verdicts))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(required=True)
    s = sub.add_parser("config")
    s.add_argument("src")
    s.add_argument("dest")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--concurrency", type=int, required=True)
    s.add_argument("--state-dir", required=True, help="relative to DEST's folder, as letterpress reads it")
    s.add_argument("--subscribers", help="another subscribers file, relative to DEST's folder")
    s.set_defaults(func=config)
    s = sub.add_parser("relays")
    s.add_argument("src")
    s.add_argument("dest")
    s.add_argument("--relay", action="append", required=True, help="NAME:PORT:CONCURRENCY:WEIGHT")
    s.set_defaults(func=relays)
    s = sub.add_parser("mailmerge")
    s.add_argument("folder")
    s.add_argument("--port", type=int, required=True)
    dryrun_email.add_arguments(s)
    s.set_defaults(func=mailmerge)
    s = sub.add_parser("summary")
    s.add_argument("folder")
    s.set_defaults(func=summary)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
