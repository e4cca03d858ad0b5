"""The judge client, GPTScore and judge ratings against scripted loopback HTTP servers."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from bench.api.errors import MetricUnavailable
from bench.backbones.chat_cache import ReplyCache
from bench.backbones.chat_client import JudgeClient, JudgeError, JudgeSettings, is_retryable_status
from bench.backbones.chat_prompt import PromptTemplate, parse_score
from bench.config import build_dataclass
from metrics.base import Batch
from metrics.gptscore import (
    GPTSCORE_TEMPLATE,
    RATING_TEMPLATE,
    GPTScore,
    judge_rating,
    make_judge,
)
from metrics.settings import EvalConfig
from tests.openai_stub import completion


def client_for(stub, tmp_path, sleeps=None, **kw):
    settings = JudgeSettings(
        base_url=stub.url, model="stub-judge", api_key_env="ERBENCH_TEST_JUDGE_KEY",
        cache_path=str(tmp_path / "judge.sqlite"), **kw,
    )
    return JudgeClient(settings, sleep=(sleeps.append if sleeps is not None else time.sleep))


# -- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, expected, status",
    [
        ("85", 85.0, "ok"),
        (" 85.\n", 85.0, "ok"),
        ("**72**", 72.0, "ok"),
        ("Score: 40", 40.0, "ok"),
        ("60/100", 60.0, "ok"),
        ("I'd give it 85 out of 100.", 85.0, "ok"),
        ("The meaning matches well, 90", 90.0, "ok"),
        ("0", 0.0, "ok"),
        ("100%", 100.0, "ok"),
        ("101", None, "out_of_range"),
        ("-5", None, "out_of_range"),
        ("4/10", None, "unparseable"),
        ("on a scale from 0 to 100", None, "unparseable"),
        ("85 or maybe 90", None, "unparseable"),
        ("excellent", None, "unparseable"),
        ("", None, "unparseable"),
        (None, None, "unparseable"),
    ],
)
def test_parse_score_0_100(reply, expected, status):
    parsed = parse_score(reply, 0, 100)
    assert parsed.value == expected and parsed.status == status


@pytest.mark.parametrize(
    "reply, expected, status",
    [("4", 4.0, "ok"), ("Rating: 2/5", 2.0, "ok"), ("5 stars", 5.0, "ok"),
     ("4.5", None, "out_of_range"), ("0", None, "out_of_range"), ("6", None, "out_of_range"),
     ("five", None, "unparseable")],
)
def test_parse_score_star_rating(reply, expected, status):
    parsed = parse_score(reply, 1, 5, integer=True)
    assert parsed.value == expected and parsed.status == status


def test_retryable_statuses():
    assert all(is_retryable_status(c) for c in (408, 429, 500, 502, 503, 504, 599))
    assert not any(is_retryable_status(c) for c in (400, 401, 403, 404, 422))


# -- templates ----------------------------------------------------------------------------------


def test_gptscore_template_is_xrec_shaped_and_hashed():
    messages = GPTSCORE_TEMPLATE.render(prediction='It is "great"', reference="Good {value}")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert json.loads(messages[1]["content"]) == {
        "prediction": 'It is "great"', "reference": "Good {value}",
    }
    assert "0" in messages[0]["content"] and "100" in messages[0]["content"]
    sha = GPTSCORE_TEMPLATE.sha256
    assert len(sha) == 64 and sha == GPTSCORE_TEMPLATE.sha256
    reworded = PromptTemplate(GPTSCORE_TEMPLATE.name, GPTSCORE_TEMPLATE.system + " ",
                              GPTSCORE_TEMPLATE.user, True)
    assert reworded.sha256 != sha
    assert RATING_TEMPLATE.sha256 != sha


# -- GPTScore end to end on a scripted server ---------------------------------------------------------


REPLIES = {"a": "80", "b": "Score: 55/100", "c": "I cannot judge this.", "d": "150"}


def scripted(body, n):
    pair = json.loads(body["messages"][1]["content"])
    return 200, completion(REPLIES[pair["prediction"]]), None


def test_gptscore_values_unparseable_counted_and_version(stub_factory, tmp_path):
    stub = stub_factory(scripted)
    metric = GPTScore(EvalConfig(), judge_client=client_for(stub, tmp_path))
    assert metric.available() == (True, "")
    rows = [{"explanation": p, "reference": f"ref {p}"} for p in "abcd"]
    main, unparseable = metric.compute(Batch(rows))
    assert main.name == "gptscore[stub-judge,prompt-568cd41b]"  # the default prompt, not XRec's
    assert main.value == pytest.approx(67.5) and main.n == 2 and main.per_sample == [80.0, 55.0]
    assert unparseable.name == "gptscore_unparseable[stub-judge,prompt-568cd41b]"
    assert unparseable.value == 2 and unparseable.n == 4 and not unparseable.higher_is_better
    assert metric.last.invalid == {"unparseable": 1, "out_of_range": 1}
    v = main.version
    assert v["judge_model"] == "stub-judge" and v["temperature"] == 0.0
    assert v["prompt_sha256"] == GPTSCORE_TEMPLATE.sha256
    # what went over the wire: pinned model, temperature 0, XRec-style JSON user message
    assert len(stub.requests) == 4
    for body in stub.requests:
        assert body["model"] == "stub-judge" and body["temperature"] == 0.0
        assert body["messages"][0]["content"] == GPTSCORE_TEMPLATE.system


def test_cache_hits_on_second_call_and_across_clients(stub_factory, tmp_path):
    stub = stub_factory(scripted)
    client = client_for(stub, tmp_path)
    metric = GPTScore(judge_client=client)
    first = metric.score_pairs(list("abcd"), list("wxyz"))
    assert len(stub.requests) == 4 and client.stats.cache_hits == 0
    second = metric.score_pairs(list("abcd"), list("wxyz"))
    assert len(stub.requests) == 4 and client.stats.cache_hits == 4
    assert second.scores == first.scores == [80.0, 55.0, None, None]
    # a new process-equivalent client reads the same SQLite file
    fresh = client_for(stub, tmp_path)
    GPTScore(judge_client=fresh).score_pairs(list("ab"), list("wx"))
    assert len(stub.requests) == 4 and fresh.stats.cache_hits == 2
    # another judge model is another key
    other = JudgeClient(JudgeSettings(stub.url, "other-judge", cache_path=str(tmp_path / "judge.sqlite")))
    GPTScore(judge_client=other).score_pairs(["a"], ["w"])
    assert len(stub.requests) == 5
    # stored as SQLite rows keyed by (model, prompt sha256, input sha256)
    db = sqlite3.connect(tmp_path / "judge.sqlite")
    rows = db.execute("SELECT model, prompt_sha256, reply FROM replies ORDER BY model").fetchall()
    assert len(rows) == 5 and {r[1] for r in rows} == {GPTSCORE_TEMPLATE.sha256}
    assert sorted(r[2] for r in rows if r[0] == "stub-judge") == sorted(REPLIES.values())


def test_duplicate_inputs_are_sent_once(stub_factory, tmp_path):
    stub = stub_factory(scripted)
    parsed = GPTScore(judge_client=client_for(stub, tmp_path)).score_pairs(["a", "a", "b"], ["w", "w", "w"])
    assert parsed.scores == [80.0, 80.0, 55.0] and len(stub.requests) == 2


def test_cache_can_be_disabled(stub_factory, tmp_path):
    stub = stub_factory(scripted)
    client = JudgeClient(JudgeSettings(stub.url, "stub-judge", cache_path=""))
    assert client.cache is None
    metric = GPTScore(judge_client=client)
    metric.score_pairs(["a"], ["w"])
    metric.score_pairs(["a"], ["w"])
    assert len(stub.requests) == 2


# -- retries, backoff, errors -----------------------------------------------------------------------


def test_retries_429_and_5xx_with_exponential_backoff(stub_factory, tmp_path):
    script = [(429, {"error": "slow down"}, None), (503, b"busy", None), (500, b"oops", None)]

    def respond(body, n):
        return script[n - 1] if n <= len(script) else (200, completion("70"), None)

    stub = stub_factory(respond)
    sleeps: list[float] = []
    client = client_for(stub, tmp_path, sleeps, backoff_initial_s=1.0, backoff_max_s=60)
    assert GPTScore(judge_client=client).score_pairs(["x"], ["y"]).scores == [70.0]
    assert len(stub.requests) == 4 and client.stats.retries == 3
    assert len(sleeps) == 3
    for delay, base in zip(sleeps, (1.0, 2.0, 4.0), strict=True):
        assert base <= delay <= base * 1.1  # exponential, jitter at most 10%


def test_retry_after_header_is_honoured(stub_factory, tmp_path):
    def respond(body, n):
        if n == 1:
            return 429, {"error": "rate"}, {"Retry-After": "7"}
        return 200, completion("5"), None

    stub = stub_factory(respond)
    sleeps: list[float] = []
    client_for(stub, tmp_path, sleeps).complete(GPTSCORE_TEMPLATE, [{"prediction": "p", "reference": "r"}])
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] <= 7.7


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_4xx_is_not_retried(stub_factory, tmp_path, status):
    stub = stub_factory(lambda body, n: (status, {"error": {"message": "nope"}}, None))
    sleeps: list[float] = []
    client = client_for(stub, tmp_path, sleeps)
    with pytest.raises(JudgeError, match=f"HTTP {status}") as info:
        GPTScore(judge_client=client).score_pairs(["x"], ["y"])
    assert isinstance(info.value, MetricUnavailable)  # the suite reports it, other metrics run
    assert len(stub.requests) == 1 and sleeps == []
    assert len(client.cache) == 0  # failures are never cached


def test_gives_up_after_max_retries(stub_factory, tmp_path):
    stub = stub_factory(lambda body, n: (502, b"bad gateway", None))
    sleeps: list[float] = []
    client = client_for(stub, tmp_path, sleeps, max_retries=2)
    with pytest.raises(JudgeError, match="failed 3 times; last: HTTP 502"):
        client.complete(GPTSCORE_TEMPLATE, [{"prediction": "p", "reference": "r"}])
    assert len(stub.requests) == 3 and len(sleeps) == 2


def test_timeout_is_retried(stub_factory, tmp_path):
    def respond(body, n):
        if n == 1:
            time.sleep(1.0)
        return 200, completion("42"), None

    stub = stub_factory(respond)
    client = client_for(stub, tmp_path, [], timeout_s=0.3)
    assert client.score(GPTSCORE_TEMPLATE, [{"prediction": "p", "reference": "r"}], 0, 100).scores == [42.0]
    assert client.stats.retries == 1


def test_non_completion_body_is_an_error(stub_factory, tmp_path):
    stub = stub_factory(lambda body, n: (200, {"unexpected": True}, None))
    with pytest.raises(JudgeError, match="not a chat completion"):
        client_for(stub, tmp_path, []).complete(GPTSCORE_TEMPLATE, [{"prediction": "p", "reference": "r"}])
    assert len(stub.requests) == 6  # retried like a 5xx first (max_retries=5)


PROXY_PAGE = b"<html><body><h1>502 Bad Gateway</h1>upstream timed out</body></html>"


def test_html_200_is_retried_and_the_next_reply_is_scored(stub_factory, tmp_path):
    def respond(body, n):
        return (200, PROXY_PAGE, {"Content-Type": "text/html"}) if n == 1 else (200, completion("70"), None)

    stub = stub_factory(respond)
    sleeps: list[float] = []
    client = client_for(stub, tmp_path, sleeps)
    assert GPTScore(judge_client=client).score_pairs(["x"], ["y"]).scores == [70.0]
    assert len(stub.requests) == 2 and client.stats.retries == 1 and len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 1.1  # the same backoff as a 5xx


def test_a_request_never_answered_with_a_completion_fails_alone(stub_factory, tmp_path):
    def respond(body, n):
        pair = json.loads(body["messages"][1]["content"])
        return (200, PROXY_PAGE, None) if pair["prediction"] == "bad" else (200, completion("60"), None)

    stub = stub_factory(respond)
    client = client_for(stub, tmp_path, [], max_retries=2)
    metric = GPTScore(judge_client=client)
    rows = [{"explanation": p, "reference": "r"} for p in ("a", "bad", "b")]
    main, unparseable = metric.compute(Batch(rows))
    assert (main.value, main.n, main.per_sample) == (60.0, 2, [60.0, 60.0])
    assert unparseable.value == 1 and metric.last.invalid == {"no_completion": 1}
    assert len(stub.requests) == 2 + 3 and client.stats.failed == 1
    assert len(client.cache) == 2  # the failure is not cached: the next run asks again


def test_timeout_and_retries_come_from_the_eval_config(stub_factory, tmp_path):
    release = threading.Event()

    def stall(body, n):
        release.wait(5)  # far past the configured timeout
        return 200, completion("42"), None

    stub = stub_factory(stall)
    stub.server.handle_error = lambda request, address: None  # the late reply's broken pipe
    cfg = build_dataclass(EvalConfig, {
        "judge_base_url": stub.url, "judge_model": "stub-judge", "judge_api_key_env": "NO_KEY",
        "judge_timeout_s": 0.2, "judge_max_retries": 0, "judge_cache_path": "",
    }, "eval")  # fmt: skip
    metric = GPTScore(cfg)
    assert (metric.client.settings.timeout_s, metric.client.cache) == (0.2, None)
    try:
        with pytest.raises(JudgeError, match="failed 1 times; last: .*timed out"):
            metric.score_pairs(["p"], ["r"])
    finally:
        release.set()
    assert len(stub.requests) == 1


def test_concurrency_is_bounded(stub_factory, tmp_path):
    def respond(body, n):
        time.sleep(0.15)
        return 200, completion("50"), None

    stub = stub_factory(respond)
    client = client_for(stub, tmp_path, max_concurrency=3)
    preds = [f"p{i}" for i in range(9)]
    parsed = GPTScore(judge_client=client).score_pairs(preds, ["r"] * 9)
    assert parsed.scores == [50.0] * 9
    assert 2 <= stub.max_in_flight <= 3


def test_api_key_from_named_env_var(stub_factory, tmp_path, monkeypatch):
    stub = stub_factory(lambda body, n: (200, completion("1"), None))
    inputs = [{"explanation": "a"}]
    monkeypatch.delenv("ERBENCH_TEST_JUDGE_KEY", raising=False)
    client_for(stub, tmp_path).complete(RATING_TEMPLATE, inputs)
    assert "Authorization" not in stub.headers[-1]
    monkeypatch.setenv("ERBENCH_TEST_JUDGE_KEY", "sk-test")
    client_for(stub, tmp_path / "other").complete(RATING_TEMPLATE, inputs)
    assert stub.headers[-1]["Authorization"] == "Bearer sk-test"


# -- judge ratings, configuration --------------------------------------------------------------------


def test_judge_rating(stub_factory, tmp_path):
    answers = {"love it": "5", "meh": "3", "hate it": "1.5", "?": "I am not sure"}

    def respond(body, n):
        text = body["messages"][1]["content"].removeprefix("Explanation: ")
        return 200, completion(answers[text]), None

    stub = stub_factory(respond)
    client = client_for(stub, tmp_path)
    assert judge_rating(list(answers), judge_client=client) == [5.0, 3.0, None, None]
    rater = make_judge(judge_client=client)
    assert rater(["meh", "?"]) == [3.0, None] and rater.last.n_invalid == 1
    assert rater.version()["prompt_sha256"] == RATING_TEMPLATE.sha256 and rater.model == "stub-judge"
    assert stub.requests[0]["messages"][0]["content"] == RATING_TEMPLATE.system


def test_unconfigured_judge_is_unavailable_with_reason():
    metric = GPTScore(EvalConfig())
    ok, reason = metric.available()
    assert not ok and "judge_base_url" in reason and "judge_model" in reason
    assert metric.checkpoint is None
    assert make_judge(EvalConfig()) is None
    with pytest.raises(MetricUnavailable, match="no judge endpoint"):
        judge_rating(["x"], eval_cfg=EvalConfig())
    assert make_judge(EvalConfig()) is None


def test_settings_from_eval_config(tmp_path):
    cfg = EvalConfig(judge_base_url="http://127.0.0.1:9/v1", judge_model="Qwen/Qwen2.5-7B-Instruct",
                     judge_api_key_env="MY_KEY", judge_max_concurrency=7)
    s = JudgeSettings.from_eval_cfg(cfg, cache_path=str(tmp_path / "c.sqlite"))
    assert (s.model, s.api_key_env, s.max_concurrency, s.temperature) == (
        "Qwen/Qwen2.5-7B-Instruct", "MY_KEY", 7, 0.0)
    assert s.chat_url == "http://127.0.0.1:9/v1/chat/completions"
    assert JudgeSettings("http://h:1", "m").chat_url == "http://h:1/v1/chat/completions"
    metric = GPTScore(cfg, cache_dir=str(tmp_path))  # unknown context keywords are accepted
    assert metric.checkpoint == "Qwen2.5-7B-Instruct,prompt-568cd41b"  # the default prompt's tag
    assert metric.client.cache.path == tmp_path / "judge" / "replies.sqlite"
    assert metric.reported_names() == ["gptscore[Qwen2.5-7B-Instruct,prompt-568cd41b]",
                                       "gptscore_unparseable[Qwen2.5-7B-Instruct,prompt-568cd41b]"]


def test_reply_cache_roundtrip(tmp_path):
    cache = ReplyCache(tmp_path / "x" / "c.sqlite")
    assert cache.get("m", "p", "i") == (False, None, None)
    cache.put("m", "p", "i", None)  # a null reply is cached as such (and is unparseable)
    assert cache.get("m", "p", "i") == (True, None, None)
    cache.put("m", "p", "i", "7", "m-2024-01-01")
    assert cache.get("m", "p", "i") == (True, "7", "m-2024-01-01") and len(cache) == 1


def test_served_model_snapshot_is_recorded(stub_factory, tmp_path):
    def respond(body, n):
        return 200, {**completion("90"), "model": "stub-judge-0125"}, None

    stub = stub_factory(respond)
    metric = GPTScore(judge_client=client_for(stub, tmp_path))
    main, _ = metric.compute(Batch([{"explanation": "a", "reference": "b"}]))
    assert main.value == 90.0 and main.version["judge_served_models"] == ["stub-judge-0125"]
    # a later run served from the cache still knows which snapshot produced the replies
    again = GPTScore(judge_client=client_for(stub, tmp_path))
    main2, _ = again.compute(Batch([{"explanation": "a", "reference": "b"}]))
    assert len(stub.requests) == 1 and main2.version == main.version
