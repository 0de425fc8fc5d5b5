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


def add_arguments(p):
    """The inputs shared by every script that builds the messages this way."""
    p.add_argument("--config", type=Path, required=True, help="newsletter.toml")
    p.add_argument("--issue", type=Path, required=True, help="the issue folder (for issue.toml)")
    p.add_argument("--templates", type=Path, required=True, help="folder holding email.html and email.txt")
    p.add_argument("--sample-email", default="reader@example.com", help="reader the templates were built for")
    p.add_argument("--sample-name", default="김독자", help="that reader's name")
    p.add_argument("--fallback-name", default="독자", help='the issue\'s {{ name | "..." }} fallback')


class Letter:
    """The issue as letterpress would send it: the readers it reaches, the
    headers they share, and the built templates with the sample reader's
    name and unsubscribe link located for personalisation."""

    def __init__(self, args):
        self.args = args
        config = load_toml(args.config)
        self.letter, self.unsub = config["newsletter"], config["unsubscribe"]
        readers = load_toml(args.config.parent / config["subscribers"]["file"]).get("subscriber", [])
        issue = load_toml(args.issue / "issue.toml")
        self.secret = os.environ.get(self.unsub.get("secret_env", "LETTERPRESS_UNSUBSCRIBE_SECRET"), "").encode()

        self.subject = issue["subject"]
        if issue.get("advertising"):
            prefix = "(광고)" if self.letter.get("language") == "ko" else self.letter["ad_prefix"]
            self.subject = prefix + " " + self.subject
        self.sender = parseaddr(self.letter["from"])[1]
        self.domain = self.sender.rpartition("@")[2]
        audience = set(issue.get("audience", []))
        self.readers = [
            r for r in readers
            if r.get("status", "active") == "active" and (not audience or audience & set(r.get("tags", [])))
        ]

        self.html_t = (args.templates / "email.html").read_text("utf-8")
        self.text_t = (args.templates / "email.txt").read_text("utf-8")
        for where, template in (("email.html", self.html_t), ("email.txt", self.text_t)):
            if args.sample_name not in template:
                sys.exit(f"error: {args.templates / where} does not contain the sample name {args.sample_name!r}")
        self.html_url = self.text_url = None
        if "url" in self.unsub:
            start = re.escape(unsubscribe_url(self.unsub, b"", args.sample_email).rpartition("&")[0])
            self.html_url = find_once(self.html_t, start + r"&amp;t=(?:[0-9a-f]{32}|unsigned)", "unsubscribe link", "email.html")
            self.text_url = find_once(self.text_t, start + r"&t=(?:[0-9a-f]{32}|unsigned)", "unsubscribe link", "email.txt")

    def url(self, address):
        """The reader's unsubscribe link, or None without [unsubscribe] url."""
        return unsubscribe_url(self.unsub, self.secret, address) if "url" in self.unsub else None

    def message(self, reader):
        """The reader's message."""
        letter, unsub, fallback = self.letter, self.unsub, self.args.fallback_name
        address, name = reader["email"], reader.get("name")
        body_html = self.html_t.replace(self.args.sample_name, html.escape(name or fallback))
        body_text = self.text_t.replace(self.args.sample_name, name or fallback)
        unsubscribe = []
        url = self.url(address)
        if url:
            body_html = body_html.replace(self.html_url, html.escape(url))
            body_text = body_text.replace(self.text_url, url)
            unsubscribe.append(f"<{url}>")
        if "mailto" in unsub:
            unsubscribe.append(f"<mailto:{unsub['mailto']}?subject=unsubscribe>")

        msg = EmailMessage(policy=email.policy.SMTP)  # CRLF in the parts, as RFC 2046 wants
        msg["From"] = letter["from"]
        msg["To"] = Address(display_name=name or "", addr_spec=address)
        msg["Subject"] = self.subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.domain)
        msg["MIME-Version"] = "1.0"
        if "reply_to" in letter:
            msg["Reply-To"] = letter["reply_to"]
        if "list_id" in letter:
            msg["List-Id"] = f"<{letter['list_id']}>"
        if unsubscribe:
            msg["List-Unsubscribe"] = Folded("List-Unsubscribe", ", ".join(unsubscribe))
        if url:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body_text, cte="base64")
        msg.add_alternative(body_html, subtype="html", cte="base64")
        return msg

    def messages(self):
        """Each reader's address and the bytes SMTP DATA would carry."""
        for reader in self.readers:
            yield reader["email"], self.message(reader).as_bytes(policy=email.policy.SMTP)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    letter = Letter(args)
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for address, data in letter.messages():
        (args.out / f"{address}.eml").write_bytes(data)
        written += 1
    print(f"wrote {written} messages to {args.out}")


if __name__ == "__main__":
    main()
