"""model.generation=openai (bench.backbones.served).

- llm-zeroshot's answers from a REAL OpenAI-compatible server equal the in-process ones
  (greedy) on the same SmolLM2-135M-Instruct weights. The server is `python -m
  bench.backbones.chat_server` on a free loopback port, started by the judge tests' own fixture
  (tests/integration/test_judge_server.py); it answers one request at a time, so with the
  in-process run beside it this takes 40-100 s on 2 shared cores; in the default run all the
  same (issue #17 wants the served back end checked in CI).
- prompts go out concurrently and come back in input order, cached (a loopback echo server).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_judge_server import judge_server  # noqa: F401  (the fixture: a live server)

from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _records() -> list[Record]:
    items = [("Fender guitar strings", "bright tone, last long"), ("Snark clip tuner", "accurate, easy to read"),
             ("Dunlop capo", "holds well, a bit stiff")]  # fmt: skip
    return [
        Record(user_id=f"u{k}", item_id=f"i{k}", rating=4.0 + (k % 2), label=1, title=title,
               review=f"I like the {title}: {words}.", user_profile="A guitarist who plays every day.",
               item_profile=f"{title}, for acoustic and electric guitars.")
        for k, (title, words) in enumerate(items)
    ]  # fmt: skip


def _predict(tmp_path, name: str, **params):
    from methods.currrl.method import LLMZeroShot, LLMZeroShotParams

    run = RunContext(tmp_path / name, RunConfig(method="llm-zeroshot", dataset="amazon-instruments", device="cpu"),
                     quiet=True)  # fmt: skip
    method = LLMZeroShot(LLMZeroShotParams(backbone="embedded", max_prompt_length=160, rating_max_new_tokens=6,
                                           explanation_max_new_tokens=12, **params), run)  # fmt: skip
    records = _records()
    method.fit(Splits(records, [], records))
    return method.predict(records), run


def test_served_answers_equal_in_process_greedy(judge_server, tmp_path, monkeypatch):  # noqa: F811
    from bench.backbones import served

    real_from_params = served.ServedGeneration.from_params

    def private_cache(params):  # replies cached under tmp_path, not the user's cache dir
        return dataclasses.replace(real_from_params(params), cache_path=str(tmp_path / "replies.sqlite"))

    monkeypatch.setattr(served.ServedGeneration, "from_params", staticmethod(private_cache))
    local, _ = _predict(tmp_path, "hf")
    remote, run = _predict(tmp_path, "openai", generation="openai", generation_base_url=judge_server["url"],
                           generation_model=judge_server["model"], generation_max_concurrency=2)  # fmt: skip
    assert [p.explanation for p in remote] == [p.explanation for p in local]
    assert [p.rating for p in remote] == [p.rating for p in local]
    assert any(p.explanation for p in local)  # not vacuous: the model said something
    assert '"mode": "served"' in (run.dir / "backbone.json").read_text()

    import sqlite3  # every answer is cached: a rerun asks the server nothing

    with sqlite3.connect(tmp_path / "replies.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 2 * len(remote)


def test_openai_generation_needs_an_endpoint():
    from bench.api.errors import ConfigError
    from methods.currrl.method import LLMZeroShotParams

    with pytest.raises(ConfigError, match="generation_base_url"):
        LLMZeroShotParams(generation="openai")


class Echo(BaseHTTPRequestHandler):
    """Answers each chat request with its user message upper-cased, slowly, counting how many
    requests it holds at once."""

    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    active = peak = requests = 0

    def log_message(self, *a):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.requests += 1
            cls.peak = max(cls.peak, cls.active)
        time.sleep(0.05)
        with cls.lock:
            cls.active -= 1
        system = [m["content"] for m in body["messages"] if m["role"] == "system"]
        reply = "/".join(system + [body["messages"][-1]["content"].upper(), str(body["max_tokens"])])
        data = json.dumps({"model": "echo", "choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_prompts_go_out_concurrently_and_come_back_in_order(tmp_path):
    from bench.backbones.served import ServedGeneration, generate_served

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        served = ServedGeneration(f"http://127.0.0.1:{server.server_address[1]}/v1", "echo", api_key_env=None,
                                  max_concurrency=4, cache_path=str(tmp_path / "replies.sqlite"))  # fmt: skip
        prompts = [f"prompt {k}" for k in range(10)] + [[{"role": "system", "content": "S"},
                                                        {"role": "user", "content": "chat"}]]  # fmt: skip
        done = []
        out = generate_served(prompts, served, max_new_tokens=7, advance=done.append)
        assert out == [f"PROMPT {k}/7" for k in range(10)] + ["S/CHAT/7"]
        assert Echo.peak > 1 and Echo.requests == 11 and sum(done) == 11
        assert generate_served(prompts, served, max_new_tokens=7) == out
        assert Echo.requests == 11  # the second call was answered from the cache
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(Exception, match="roles"):
        generate_served([[{"role": "assistant", "content": "x"}]], served, max_new_tokens=1)
