"""Load for bench/serve.sh: POST one-click unsubscribes for distinct readers
from THREADS keep-alive connections; print requests per second."""

import hashlib
import hmac
import http.client
import sys
import threading
import time
import urllib.parse

port, secret, count, threads = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
paths = []
for i in range(count):
    email = f"reader{i}@example.com"
    token = hmac.new(secret, email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    paths.append(f"/unsubscribe?e={urllib.parse.quote(email, safe='')}&t={token}")
statuses, lock = {}, threading.Lock()


def worker(mine):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for path in mine:
        conn.request("POST", path, "List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        with lock:
            statuses[response.status] = statuses.get(response.status, 0) + 1


start = time.monotonic()
pool = [threading.Thread(target=worker, args=(paths[i::threads],)) for i in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
elapsed = time.monotonic() - start
print(f"{count} unsubscribes from {threads} connections in {elapsed:.2f} s: {count / elapsed:.0f} requests/s; statuses {statuses}")
