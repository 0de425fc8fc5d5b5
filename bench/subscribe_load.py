"""Load for bench/subscribe.sh: form posts for distinct addresses from
THREADS keep-alive connections, then confirmations from the links in the
mails smtp-sink dumped: CONFIRMS one at a time (latency), then PARALLEL at
once from THREADS connections (throughput). Checks the list afterwards."""

import email
import email.policy
import http.client
import re
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

port, dump, list_file = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
count, threads, confirms, parallel = (int(a) for a in sys.argv[4:8])
form_type = {"Content-Type": "application/x-www-form-urlencoded"}


def request(conn, method, path, body=None):
    conn.request(method, path, body, form_type if body is not None else {})
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
status, page = request(conn, "GET", "/subscribe")
stamp = re.search(r'name="f" value="([^"]+)"', page).group(1)
time.sleep(2.1)  # the form refuses a submission within 2 s of serving it

addresses = [f"joiner{i}@example.net" for i in range(count)]
statuses, lock = {}, threading.Lock()


def run(jobs, work):
    pool = [threading.Thread(target=work, args=(jobs[i::threads],)) for i in range(threads)]
    start = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.monotonic() - start


def post_forms(mine):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for address in mine:
        body = urllib.parse.urlencode({"email": address, "name": "", "website": "", "f": stamp})
        status, _ = request(conn, "POST", "/subscribe", body)
        with lock:
            statuses[status] = statuses.get(status, 0) + 1


elapsed = run(addresses, post_forms)
print(f"{count} form posts from {threads} connections in {elapsed:.2f} s: {count / elapsed:.0f} posts/s "
      f"(each answered after smtp-sink took its mail); statuses {statuses}")

deadline = time.monotonic() + 60
while len(list(dump.iterdir())) < count and time.monotonic() < deadline:
    time.sleep(0.2)
tokens = {}
for path in dump.iterdir():
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    rcpt = re.search(r"X-Rcpt-Args: <([^>]+)>", path.read_text("utf-8", "replace")).group(1)
    text = message.get_body(preferencelist=("plain",)).get_content()
    tokens[rcpt] = re.search(r"/subscribe/confirm\?t=([A-Za-z0-9_-]+)", text).group(1)
print(f"smtp-sink holds {len(tokens)} confirmation mails for {count} posts")

latencies = []
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for address in addresses[:confirms]:
    start = time.monotonic()
    status, _ = request(conn, "POST", "/subscribe/confirm", urllib.parse.urlencode({"t": tokens[address]}))
    latencies.append(time.monotonic() - start)
    assert status == 200, status
latencies.sort()
print(f"confirm POST to the reader on disk, one at a time ({confirms}): median {statistics.median(latencies) * 1000:.0f} ms, "
      f"p90 {latencies[int(len(latencies) * 0.9)] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")

statuses.clear()
batch = addresses[confirms:confirms + parallel]


def confirm(mine):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for address in mine:
        status, _ = request(conn, "POST", "/subscribe/confirm", urllib.parse.urlencode({"t": tokens[address]}))
        with lock:
            statuses[status] = statuses.get(status, 0) + 1


elapsed = run(batch, confirm)
print(f"{len(batch)} confirmations from {threads} connections at once in {elapsed:.2f} s: "
      f"{len(batch) / elapsed:.0f} confirmations/s (batched writes); statuses {statuses}")

text = list_file.read_text("utf-8").lower()
confirmed = addresses[:confirms + parallel]
missing = [a for a in confirmed if text.count(f'email = "{a}"') != 1]
print(f"confirmed readers in the file once: {len(confirmed) - len(missing)} of {len(confirmed)}")
sys.exit(1 if missing else 0)
