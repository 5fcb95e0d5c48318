"""A chat-completions server whose replies the test writes (stdlib only).

``reply(body)`` gets each request body and returns the messages of the choices, or an HTTP
status code to fail with; every body is kept in ``requests``. For tests that need one canned
answer rather than the scripted roles of :class:`~fakes.FakeOpenAI`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], "list[dict[str, Any]] | int"]


class CannedOpenAI:
    """``with CannedOpenAI(reply) as srv:`` serves on 127.0.0.1; ``srv.url`` is the base URL."""

    def __init__(self, reply: Reply):
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> CannedOpenAI:  # noqa: PYI034 - typing.Self needs 3.11
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                canned.requests.append(body)
                out = canned.reply(body)
                if isinstance(out, int):
                    self.send_response(out)
                    self.end_headers()
                    return
                choices = [{"index": i, "message": m, "finish_reason": "stop"} for i, m in enumerate(out)]
                data = json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                                   "model": body["model"], "choices": choices}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
