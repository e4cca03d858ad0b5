"""A local OpenAI-compatible endpoint that injects faults, for the chaos tests of every client
that talks to one (judge, teacher, served generation: all through bench.backbones.chat_client.JudgeClient).

`ChaosEndpoint(script)`: `script(n, body, headers)` returns the fault for request n (1-based):
"ok", "429" (with Retry-After), "500", "503", "stall" (answers after the client's timeout),
"reset" (closes the connection without an answer), "html200" (a proxy's error page with status
200), "truncated" (a chat completion cut in the middle), "echo401" (401 whose body quotes the
Authorization header), "echo200" (a completion whose text and model name quote the key), or
a reply text to send as a completion. Requests are recorded with their headers.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CANARY_KEY = "sk-canary-5f1e0c3a9b7d4e21a6c8"  # appears nowhere unless leaked
FAULTS = ("429", "500", "503", "stall", "reset", "html200", "truncated", "echo401", "echo200")


def completion(text: str, model: str = "chaos-judge") -> dict[str, Any]:
    return {"model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


class ChaosEndpoint:
    def __init__(self, script: Callable[[int, dict, dict], str], *, stall_s: float = 1.0, answer: str = "80"):
        self.script, self.stall_s, self.answer = script, stall_s, answer
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with endpoint.lock:
                    endpoint.requests.append(body)
                    endpoint.headers.append(dict(self.headers))
                    n = len(endpoint.requests)
                endpoint._answer(self, endpoint.script(n, body, dict(self.headers)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _answer(self, handler: BaseHTTPRequestHandler, fault: str) -> None:
        auth = handler.headers.get("Authorization", "")
        if fault == "reset":
            # RST instead of FIN: the client sees "connection reset by peer"
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            return
        if fault == "stall":
            time.sleep(self.stall_s)
            fault = "ok"
        status, headers, data = 200, {"Content-Type": "application/json"}, b""
        if fault == "ok":
            data = json.dumps(completion(self.answer)).encode()
        elif fault in ("429", "500", "503"):
            status = int(fault)
            headers["Retry-After"] = "0"
            data = json.dumps({"error": {"message": f"try again ({fault})"}}).encode()
        elif fault == "html200":
            headers["Content-Type"] = "text/html"
            data = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        elif fault == "truncated":
            data = json.dumps(completion(self.answer)).encode()[:25]
        elif fault == "echo401":
            status = 401
            data = json.dumps({"error": {"message": f"invalid key in header 'Authorization: {auth}'"}}).encode()
        elif fault == "echo200":
            key = auth.removeprefix("Bearer ")
            data = json.dumps(completion(f"{self.answer} (your key is {key})", model=f"judge-{key}")).encode()
        else:
            data = json.dumps(completion(fault)).encode()
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def files_containing(root, needle: str) -> list[str]:  # noqa: ANN001
    """Every file under `root` whose bytes contain `needle` (the canary grep)."""
    from pathlib import Path

    found = []
    for path in Path(root).rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(str(path))
    return found
