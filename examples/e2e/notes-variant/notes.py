"""A notes counter: the web role serves HTTP, the export role writes a
summary where EXPORT_DIR points. Both write their state at start-up, so a
missing carve-out stops them at once with the error in their log.
"""
import http.server
import os
import signal
import sys
import time

DATA = os.environ.get("DATA_DIR", "/app/data")
EXPORTS = os.environ.get("EXPORT_DIR")


def write(folder, name, text):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as f:
        f.write(text)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        write(DATA, "last-visit", str(time.time()))
        body = f"notes ok\nuid: {os.getuid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    role = sys.argv[1] if len(sys.argv) > 1 else "web"
    try:
        write(DATA, f"{role}-started", str(time.time()))
        if EXPORTS:
            write(EXPORTS, f"{role}-export", "notes: 0\n")
    except OSError as err:
        print(f"cannot write state: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    if role == "export":
        print(f"exporting as uid {os.getuid()}", flush=True)
        while True:
            time.sleep(3600)
    print(f"listening on :8000 as uid {os.getuid()}", flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
