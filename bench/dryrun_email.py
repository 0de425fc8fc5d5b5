"""Baseline for bench/dryrun.sh: one MIME message per reader with Python's email package.

Reads the same inputs as `letterpress send --dry-run` (newsletter.toml, its
subscribers file and the issue's issue.toml), takes the HTML and text parts
from a `letterpress build` of the issue, personalises them by replacing the
sample reader's name and unsubscribe link, and writes `<address>.eml` files
with CRLF line ends, as they would go out in SMTP DATA.
"""

import argparse
import email.policy
import hashlib
import hmac
import html
import os
import re
import sys
import tomllib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import quote


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def unsubscribe_url(unsub, secret, address):
    token = hmac.new(secret, address.lower().encode(), hashlib.sha256).hexdigest()[:32] if secret else "unsigned"
    join = "&" if "?" in unsub["url"] else "?"
    return f"{unsub['url']}{join}e={quote(address, safe='')}&t={token}"


class Folded(str):
    """A header value written as given, folded after each comma: the email
    package would RFC 2047-encode a URL longer than a line, which mail
    providers then do not recognise as a List-Unsubscribe link."""

    def __new__(cls, name, value):
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy):
        return f"{self.name}: {self.replace(', ', ',' + policy.linesep + ' ')}{policy.linesep}"


def find_once(template, pattern, what, where):
    found = set(re.findall(pattern, template))
    if len(found) != 1:
        sys.exit(f"error: {where} holds {len(found)} distinct forms of the sample reader's {what}, expected 1")
    return found.pop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True, help="newsletter.toml")
    p.add_argument("--issue", type=Path, required=True, help="the issue folder (for issue.toml)")
    p.add_argument("--templates", type=Path, required=True, help="folder holding email.html and email.txt")
    p.add_argument("--sample-email", default="reader@example.com", help="reader the templates were built for")
    p.add_argument("--sample-name", default="김독자", help="that reader's name")
    p.add_argument("--fallback-name", default="독자", help='the issue\'s {{ name | "..." }} fallback')
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    config = load_toml(args.config)
    letter, unsub = config["newsletter"], config["unsubscribe"]
    readers = load_toml(args.config.parent / config["subscribers"]["file"]).get("subscriber", [])
    issue = load_toml(args.issue / "issue.toml")
    secret = os.environ.get(unsub.get("secret_env", "LETTERPRESS_UNSUBSCRIBE_SECRET"), "").encode()

    subject = issue["subject"]
    if issue.get("advertising"):
        subject = ("(광고)" if letter.get("language") == "ko" else letter["ad_prefix"]) + " " + subject
    domain = parseaddr(letter["from"])[1].rpartition("@")[2]
    audience = set(issue.get("audience", []))

    html_t = (args.templates / "email.html").read_text("utf-8")
    text_t = (args.templates / "email.txt").read_text("utf-8")
    for where, template in (("email.html", html_t), ("email.txt", text_t)):
        if args.sample_name not in template:
            sys.exit(f"error: {args.templates / where} does not contain the sample name {args.sample_name!r}")
    if "url" in unsub:
        start = re.escape(unsubscribe_url(unsub, b"", args.sample_email).rpartition("&")[0])
        html_url = find_once(html_t, start + r"&amp;t=(?:[0-9a-f]{32}|unsigned)", "unsubscribe link", "email.html")
        text_url = find_once(text_t, start + r"&t=(?:[0-9a-f]{32}|unsigned)", "unsubscribe link", "email.txt")

    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for reader in readers:
        if reader.get("status", "active") != "active" or (audience and not audience & set(reader.get("tags", []))):
            continue
        address, name = reader["email"], reader.get("name")
        body_html = html_t.replace(args.sample_name, html.escape(name or args.fallback_name))
        body_text = text_t.replace(args.sample_name, name or args.fallback_name)
        unsubscribe = []
        if "url" in unsub:
            url = unsubscribe_url(unsub, secret, address)
            body_html = body_html.replace(html_url, html.escape(url))
            body_text = body_text.replace(text_url, url)
            unsubscribe.append(f"<{url}>")
        if "mailto" in unsub:
            unsubscribe.append(f"<mailto:{unsub['mailto']}?subject=unsubscribe>")

        msg = EmailMessage(policy=email.policy.SMTP)  # CRLF in the parts, as RFC 2046 wants
        msg["From"] = letter["from"]
        msg["To"] = Address(display_name=name or "", addr_spec=address)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=domain)
        msg["MIME-Version"] = "1.0"
        if "reply_to" in letter:
            msg["Reply-To"] = letter["reply_to"]
        if "list_id" in letter:
            msg["List-Id"] = f"<{letter['list_id']}>"
        if unsubscribe:
            msg["List-Unsubscribe"] = Folded("List-Unsubscribe", ", ".join(unsubscribe))
        if "url" in unsub:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body_text, cte="base64")
        msg.add_alternative(body_html, subtype="html", cte="base64")
        (args.out / f"{address}.eml").write_bytes(msg.as_bytes(policy=email.policy.SMTP))
        written += 1
    print(f"wrote {written} messages to {args.out}")


if __name__ == "__main__":
    main()
