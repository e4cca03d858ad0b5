"""A local OpenAI-compatible endpoint on 127.0.0.1 standing in for the papers' API models
(the Curr-RLCER/distillation teacher, the distillation judge, GPTScore and the coherence judge).

One server, several served model names, each answered through bench.backbones.chat_server's
`handle_chat` (the same request validation and reply shape as the repo's judge server):

- a *teacher* name is answered by a stand-in LLM folder (real generation, bench.backbones.chat_server
  .ChatModel), so the teacher's text goes through tokenisation, templates and decoding;
- a *judge* name is answered by `ScriptedJudge`: a random-weight model never writes a verdict
  or a score, so a judge that must be parsed answers in the shape the prompt asks for
  (a verdict "A"/"B" when the prompt offers the two, else a bare integer 1-5), chosen by a hash
  — deterministic, and both outcomes occur. A verdict prefers the explanation whose own text
  hashes higher, so the two orders of a swapped pair agree: a hash of the whole prompt made the
  orders agree by chance only, and a run whose four pairs all disagreed (1 in 16, with the
  teacher's texts varying by float rounding) had no preference pairs to train on.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

# metrics.pairwise_judge.JUDGE_USER: the two explanations as shown, A then B
_SHOWN_A_AND_B = re.compile(r"Explanation A:\n(.*?)\n\nExplanation B:\n(.*?)\n\nAnswer", re.DOTALL)
_OFFERS_A_AND_B = re.compile(r"\b(?:explanation|response|answer|option)\s+A\b.*\b(?:explanation|response|answer|option)\s+B\b",
                             re.IGNORECASE | re.DOTALL)  # fmt: skip


class ScriptedJudge:
    """A judge that answers every prompt in the shape it asks for (see the module docstring)."""

    def __init__(self, name: str):
        self.name = name
        self.requests = 0
        self._lock = threading.Lock()

    def generate(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
                 seed: int | None = None) -> tuple[str, str, int, int]:  # fmt: skip
        text = "\n".join(m["content"] for m in messages)
        h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        with self._lock:
            self.requests += 1
        shown = _SHOWN_A_AND_B.search(text)
        if shown:  # the same explanation wins in either order
            a, b = (hashlib.sha256(x.encode()).hexdigest() for x in shown.groups())
            reply = "A" if a > b else "B"
        else:
            reply = ("A" if h % 2 else "B") if _OFFERS_A_AND_B.search(text) else str(1 + h % 5)
        return reply, "stop", len(text.split()), 1


@contextmanager
def serve_standins(teachers: dict[str, Path], judges: tuple[str, ...] = ("stand-in-judge",)
                   ) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Serve `teachers` (name -> stand-in LLM folder) and scripted `judges` on a free loopback
    port; yields {"url": "http://127.0.0.1:PORT/v1", "models": {name: model}}."""
    from bench.backbones.chat_server import ChatModel, _error, handle_chat, make_handler

    models: dict[str, Any] = {name: ChatModel(folder, name) for name, folder in teachers.items()}
    models.update({name: ScriptedJudge(name) for name in judges})

    class Handler(make_handler(next(iter(models.values())))):  # the repo server's replies, one model per name
        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": n, "object": "model"} for n in models]})
            else:
                super().do_GET()

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
                model = models.get(body.get("model"))
            except (ValueError, AttributeError):
                self._send(*_error(400, "body is not a JSON object", "invalid_request_error"))
                return
            if model is None:
                self._send(*_error(404, f"model {body.get('model')!r} is not served here", "model_not_found"))
                return
            self._send(*handle_chat(model, body))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/v1", "models": models}
    finally:
        server.shutdown()
        server.server_close()
