"""Load for bench/serve.sh: from THREADS keep-alive connections, POST
one-click unsubscribes for COUNT distinct readers (reader0@example.com …),
or confirmations for COUNT new addresses (joiner0@example.net …, tokens
signed here the way letterpress signs them); print requests per second.

  serve_load.py unsubscribe|confirm PORT SECRET COUNT THREADS
"""

import base64
import hashlib
import hmac
import http.client
import sys
import threading
import time
import urllib.parse

mode, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
count, threads = int(sys.argv[4]), int(sys.argv[5])
form = {"Content-Type": "application/x-www-form-urlencoded"}


def unsubscribe(i):
    email = f"reader{i}@example.com"
    token = hmac.new(secret, email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    return f"/unsubscribe?e={urllib.parse.quote(email, safe='')}&t={token}", "List-Unsubscribe=One-Click"


def confirm(i, issued=int(time.time())):
    """src/subscribe/token.rs: version, issued, source (form), address, no name, MAC."""
    address = f"joiner{i}@example.net".encode()
    body = bytes([1]) + issued.to_bytes(8, "big") + bytes([0, len(address)]) + address
    tag = hmac.new(secret, b"letterpress confirm\0" + body, hashlib.sha256).digest()[:16]
    token = base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()
    return "/subscribe/confirm", urllib.parse.urlencode({"t": token})


requests = [{"unsubscribe": unsubscribe, "confirm": confirm}[mode](i) for i in range(count)]
statuses, lock = {}, threading.Lock()


def worker(mine):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for path, body in mine:
        conn.request("POST", path, body, form)
        response = conn.getresponse()
        response.read()
        with lock:
            statuses[response.status] = statuses.get(response.status, 0) + 1


start = time.monotonic()
pool = [threading.Thread(target=worker, args=(requests[i::threads],)) for i in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
elapsed = time.monotonic() - start
print(f"{mode}: {count} requests from {threads} connections in {elapsed:.2f} s: "
      f"{count / elapsed:.0f} requests/s; statuses {statuses}")
if set(statuses) != {200}:
    sys.exit(f"error: not every {mode} was answered 200: {statuses}")
