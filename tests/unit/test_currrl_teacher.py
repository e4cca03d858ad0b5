"""Curr-RLCER's teacher (DPO chosen side) through the shared chat client: retries honouring
Retry-After, the reply cache (a rerun sends no request), concurrency, one line when unreachable,
and empty / cut replies counted (issue #23: plain urllib, one request at a time, no retry)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bench.api.errors import BenchError
from bench.api.records import Record
from bench.backbones.chat_client import JudgeClient, JudgeSettings
from bench.backbones.replies import reply_problems
from methods.currrl.method import Params
from methods.currrl.teacher import teacher_client, teacher_explanations
from tests.openai_stub import completion

RECORDS = [Record(user_id=f"u{i}", item_id=f"i{i}", rating=4.0, review=f"review {i}") for i in range(6)]


def prompt(rec):
    return [{"role": "system", "content": "Explain."}, {"role": "user", "content": f"Why {rec.item_id} for {rec.user_id}?"}]


def client(url, tmp_path, sleeps=None, **kw):
    settings = JudgeSettings(base_url=url, model="teacher", api_key_env="ERBENCH_TEST_TEACHER_KEY",
                             cache_path=str(tmp_path / "replies.sqlite"), max_tokens=128, **kw)  # fmt: skip
    return JudgeClient(settings, sleep=(sleeps.append if sleeps is not None else time.sleep))


def test_a_rate_limit_is_retried_after_its_retry_after_and_a_rerun_sends_nothing(stub_factory, tmp_path):
    def respond(body, n):
        if n == 1:
            return 429, {"error": "slow down"}, {"Retry-After": "7"}
        return 200, completion(f"<answer>Because of {body['messages'][1]['content'][4:7]}.</answer>"), {}

    stub = stub_factory(respond)
    sleeps: list[float] = []
    texts, stats = teacher_explanations(RECORDS, prompt, client(stub.url, tmp_path, sleeps, max_concurrency=1))
    assert texts[0] == "Because of i0 ."  # the <answer> of the reply, as the DPO chosen side
    assert all(t.startswith("Because of i") for t in texts)
    assert stats["retries"] == 1 and 7 <= sleeps[0] <= 7.7  # Retry-After honoured
    assert stats["requests"] == 7 and stats["empty"] == 0 and stats["cut"] == 0
    assert stub.requests[1]["max_tokens"] == 128 and stub.requests[1]["temperature"] == 0.0
    again, stats = teacher_explanations(RECORDS, prompt, client(stub.url, tmp_path))
    assert again == texts and stats["requests"] == 0 and stats["cache_hits"] == 6
    assert len(stub.requests) == 7


def test_requests_run_concurrently(stub_factory, tmp_path):
    gate = threading.Barrier(3, timeout=5)

    def respond(body, n):
        gate.wait()  # three requests must be in flight at once, or this times out
        return 200, completion("A fine pick."), {}

    stub = stub_factory(respond)
    texts, _ = teacher_explanations(RECORDS, prompt, client(stub.url, tmp_path, max_concurrency=3))
    assert texts == ["A fine pick."] * 6 and stub.max_in_flight == 3


def test_an_unreachable_teacher_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BenchError) as caught:
        teacher_explanations(RECORDS[:1], prompt, client(f"http://127.0.0.1:{port}/v1", tmp_path, [], max_retries=1))
    message = str(caught.value)
    assert message.startswith("Curr-RLCER teacher (model.teacher_base_url): ") and "\n" not in message
    assert "ConnectionRefusedError" in message


def test_empty_and_cut_replies_are_counted(stub_factory, tmp_path):
    replies = iter(["", "It matches your taste and", "Great strings.", "", "Fine.", "Nice"])
    lock = threading.Lock()

    def respond(body, n):
        with lock:
            return 200, completion(next(replies)), {}

    stub = stub_factory(respond)
    texts, stats = teacher_explanations(RECORDS, prompt, client(stub.url, tmp_path, max_concurrency=1))
    assert (stats["empty"], stats["cut"]) == (2, 2)
    assert texts.count("") == 2  # an empty reply yields no DPO pair (pairs.build_dpo_pairs)
    assert reply_problems([None, "ok.", "cut"]) == {"empty": 1, "cut": 1}


def test_the_token_budget_is_configurable():
    base = dict(teacher="endpoint", teacher_base_url="http://127.0.0.1:1/v1", teacher_model="m")
    assert teacher_client(Params(**base)).settings.max_tokens == 128  # unset: the budget it always had
    thinking = teacher_client(Params(**base, teacher_max_tokens=1024, teacher_max_concurrency=2))
    assert thinking.settings.max_tokens == 1024 and thinking.settings.max_concurrency == 2
