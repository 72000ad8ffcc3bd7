"""A stand-in for one service process: answers ``/ready`` on ``SDS_HTTP_PORT`` until signalled.

Run as ``python fake_service.py sds_<service>``; it prints its pid first, so a test can check
that it is gone.
"""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        del format, args


if __name__ == "__main__":
    print(f"pid {os.getpid()}", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["SDS_HTTP_PORT"])), Ready).serve_forever()
