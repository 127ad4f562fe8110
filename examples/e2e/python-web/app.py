"""A tiny visit counter: proves the service can write its data volume and /tmp.

It writes both at start-up, so a missing carve-out stops it at once with the
error in its log, and again on every request.
"""
import http.server
import os
import signal
import sys
import tempfile

DATA = os.environ.get("DATA_DIR", "/app/data")
COUNTER = os.path.join(DATA, "visits")


def bump():
    try:
        with open(COUNTER) as f:
            n = int(f.read().strip() or "0")
    except FileNotFoundError:
        n = 0
    n += 1
    with open(COUNTER, "w") as f:
        f.write(str(n))
    # Scratch work goes to the temporary directory, as most libraries do.
    with tempfile.NamedTemporaryFile(dir=tempfile.gettempdir()) as scratch:
        scratch.write(b"x" * 1024)
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"visits: {bump()}\nuid: {os.getuid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    # As PID 1 nothing handles SIGTERM by default: stop promptly when asked.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.makedirs(DATA, exist_ok=True)
        bump()
    except OSError as err:
        print(f"cannot write state: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"listening on :8000 as uid {os.getuid()}", flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
