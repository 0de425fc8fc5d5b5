"""Baseline for bench/send.sh: Python's smtplib over one persistent connection.

Builds each reader's message exactly as bench/dryrun_email.py does (the
email package, from a `letterpress build` of the issue) and sends it with
smtplib.SMTP.sendmail, one message after another on a single connection.
"""

import argparse
import smtplib

import dryrun_email


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dryrun_email.add_arguments(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()

    letter = dryrun_email.Letter(args)
    sent = 0
    with smtplib.SMTP(args.host, args.port, local_hostname=letter.domain) as smtp:
        for address, data in letter.messages():
            refused = smtp.sendmail(letter.sender, [address], data)
            if refused:
                raise SystemExit(f"error: {address} refused: {refused}")
            sent += 1
    print(f"{sent} accepted over 1 connection")


if __name__ == "__main__":
    main()
