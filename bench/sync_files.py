#!/usr/bin/python3
"""Serve a cache directory over HTTP, gzip-compressed, for a cache module's
sync command in bench/wan.py (the stand-in for the original's `rsync -z`):

    sync_files.py --root DIR --listen 127.0.0.1:PORT
    curl --compressed -sf -o LOCAL http://127.0.0.1:PORT/RELATIVE/PATH

GET only; paths are resolved under DIR (nothing outside it is served);
the body is gzip'ed (level 6) when the client accepts gzip. Loopback use
only: no authentication.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import sys
import urllib.parse


def handler(root: str):
    root = os.path.realpath(root)

    class Files(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                data = f.read()
            gz = "gzip" in self.headers.get("Accept-Encoding", "")
            if gz:
                data = gzip.compress(data, 6)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            pass

    return Files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    srv = http.server.ThreadingHTTPServer((host, int(port)), handler(a.root))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
