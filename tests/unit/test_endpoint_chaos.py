"""Chaos on endpoints (issue 25): the one chat client behind the judge, teachers and served
generation (bench.backbones.chat_client.JudgeClient) under a fault-injecting local server. Every case either
completes or stops with one line; a rerun sends 0 requests for what was cached; the canary API
key never appears in a message, the reply cache, or any file a command writes."""

from __future__ import annotations

import json
import random

import pytest

from bench.api.errors import BenchError
from bench.backbones.chat_client import JudgeClient, JudgeError, JudgeSettings
from bench.backbones.chat_prompt import PromptTemplate
from bench.cli import main
from tests.chaos_endpoint import CANARY_KEY, FAULTS, ChaosEndpoint, files_containing

TEMPLATE = PromptTemplate("chaos", "Rate the explanation from 0 to 100.", "{x}")
KEY_ENV = "ERBENCH_CHAOS_KEY"


@pytest.fixture(autouse=True)
def _canary(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, CANARY_KEY)
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def endpoints():
    made: list[ChaosEndpoint] = []

    def make(script, **kw):  # noqa: ANN001, ANN202
        made.append(ChaosEndpoint(script, **kw))
        return made[-1]

    yield make
    for e in made:
        e.close()


def client(endpoint: ChaosEndpoint, tmp_path, **kw) -> JudgeClient:  # noqa: ANN001
    settings = JudgeSettings(
        base_url=endpoint.url, model="chaos-judge", api_key_env=KEY_ENV, timeout_s=0.3,
        max_retries=kw.pop("max_retries", 3), cache_path=str(tmp_path / "replies.sqlite"), **kw,
    )  # fmt: skip
    return JudgeClient(settings, sleep=lambda s: None)


def assert_no_canary(text: str) -> None:
    assert CANARY_KEY not in text and CANARY_KEY[8:] not in text


@pytest.mark.parametrize("fault", FAULTS)
def test_one_fault_then_a_good_reply(endpoints, tmp_path, fault):
    endpoint = endpoints(lambda n, body, headers: fault if n == 1 else "ok", stall_s=0.6)
    judge = client(endpoint, tmp_path)
    if fault == "echo401":  # a refused key does not get better by retrying: one line, no key
        with pytest.raises(JudgeError) as caught:
            judge.complete(TEMPLATE, [{"x": "a"}])
        message = str(caught.value)
        assert "HTTP 401" in message and "\n" not in message and "[redacted]" in message
        assert_no_canary(message)
        assert len(endpoint.requests) == 1
    else:
        replies = judge.complete(TEMPLATE, [{"x": "a"}])
        expected = "80 (your key is [redacted])" if fault == "echo200" else "80"
        assert replies == [expected]
        assert len(endpoint.requests) == (1 if fault == "echo200" else 2)
        assert_no_canary(json.dumps(judge.version(TEMPLATE)))  # served model names too
        # a rerun asks nothing: the reply is cached
        again = client(endpoint, tmp_path)
        assert again.complete(TEMPLATE, [{"x": "a"}]) == [expected]
        assert len(endpoint.requests) == (1 if fault == "echo200" else 2)
    assert endpoint.headers[0]["Authorization"] == f"Bearer {CANARY_KEY}"  # the key was sent
    assert files_containing(tmp_path, CANARY_KEY) == []


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "echo200"])
def test_a_fault_that_never_ends_is_one_line(endpoints, tmp_path, fault):
    endpoint = endpoints(lambda n, body, headers: fault, stall_s=0.6)
    judge = client(endpoint, tmp_path, max_retries=2)
    with pytest.raises(JudgeError) as caught:
        judge.complete(TEMPLATE, [{"x": "a"}])
    message = str(caught.value)
    assert "\n" not in message and endpoint.url in message
    assert_no_canary(message)
    assert len(endpoint.requests) == (1 if fault == "echo401" else 3)
    assert files_containing(tmp_path, CANARY_KEY) == []


def random_faults(seed: int, rate: float):  # noqa: ANN201
    rng = random.Random(seed)
    lock_free = {}

    def script(n, body, headers):  # noqa: ANN001, ANN202
        # each request's fault is drawn once from its own seed, so retries may heal it
        return lock_free.setdefault(n, rng.choice(["429", "500", "html200", "truncated", "reset"])
                                    if rng.random() < rate else "ok")

    return script


def check_random_chaos(endpoints, tmp_path, seed: int, n_inputs: int) -> None:  # noqa: ANN001
    endpoint = endpoints(random_faults(seed, 0.3))
    judge = client(endpoint, tmp_path, max_retries=6, max_concurrency=3)
    inputs = [{"x": f"item {i}"} for i in range(n_inputs)]
    try:
        replies, failed = judge.complete_with_failures(TEMPLATE, inputs)
    except JudgeError as exc:  # stopped: one line, no key
        assert "\n" not in str(exc)
        assert_no_canary(str(exc))
        return
    assert all(r == "80" for i, r in enumerate(replies) if i not in failed)
    sent = len(endpoint.requests)
    again = client(endpoint, tmp_path)
    again.complete_with_failures(TEMPLATE, inputs)
    # only the inputs that got no completion are asked again
    assert len(endpoint.requests) - sent <= len(failed) * 7
    if not failed:
        assert len(endpoint.requests) == sent
    assert files_containing(tmp_path, CANARY_KEY) == []


@pytest.mark.parametrize("seed", [0, 1])
def test_random_faults_complete_or_stop_with_one_line(endpoints, tmp_path, seed):
    check_random_chaos(endpoints, tmp_path, seed, n_inputs=6)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 30))
def test_random_faults_many_seeds(endpoints, tmp_path, seed):
    check_random_chaos(endpoints, tmp_path, seed, n_inputs=40)


def score_argv(endpoint: ChaosEndpoint, pairs, tmp_path) -> list[str]:  # noqa: ANN001
    return ["score", "--pairs", str(pairs), "--json",
            "--set", f"eval.judge_base_url={endpoint.url}", "--set", "eval.judge_model=chaos-judge",
            "--set", f"eval.judge_api_key_env={KEY_ENV}", "--set", "eval.judge_max_retries=0",
            "--set", f"eval.judge_cache_path={tmp_path / 'replies.sqlite'}",
            "--set", "eval.metrics=[gptscore]"]  # fmt: skip


@pytest.mark.parametrize("fault", ["echo401", "echo200"])
def test_bench_score_never_prints_or_stores_the_key(endpoints, tmp_path, capsys, fault):
    # issue 25.4: a 401 body echoing the Authorization header put the key on the screen and in
    # metrics.json `unavailable`
    endpoint = endpoints(lambda n, body, headers: fault)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prediction": f"p{i}", "reference": f"r{i}"}) + "\n" for i in range(3)))
    code = main(score_argv(endpoint, pairs, tmp_path))
    out = capsys.readouterr()
    assert_no_canary(out.out + out.err)
    assert files_containing(tmp_path, CANARY_KEY) == []
    assert code in (0, 2)
    if fault == "echo401":
        report = json.loads(out.out)
        reasons = [r for name, r in report["unavailable"].items() if name.startswith("gptscore")]
        assert reasons and all("HTTP 401" in r and "[redacted]" in r for r in reasons)


def teacher_messages(record):  # noqa: ANN001, ANN201
    return [{"role": "system", "content": "You explain recommendations."},
            {"role": "user", "content": f"Explain item {record}."}]  # fmt: skip


@pytest.mark.parametrize("fault", ["429", "500", "reset", "html200", "truncated", "stall", "echo200"])
def test_currrl_teacher_heals_caches_and_never_leaks(endpoints, tmp_path, fault):
    from methods.currrl.teacher import teacher_explanations

    endpoint = endpoints(lambda n, body, headers: fault if n == 1 else "ok", stall_s=0.6)
    texts, _ = teacher_explanations(["a", "b"], teacher_messages, client(endpoint, tmp_path))
    assert sorted(texts) == sorted(["80", "80 (your key is [redacted])" if fault == "echo200" else "80"])
    sent = len(endpoint.requests)
    again, stats = teacher_explanations(["a", "b"], teacher_messages, client(endpoint, tmp_path))
    assert again == texts and len(endpoint.requests) == sent and stats["requests"] == 0  # all cached
    assert files_containing(tmp_path, CANARY_KEY) == []


def test_currrl_teacher_refused_key_is_one_line(endpoints, tmp_path):
    from methods.currrl.teacher import teacher_explanations

    endpoint = endpoints(lambda n, body, headers: "echo401")
    with pytest.raises(BenchError) as caught:
        teacher_explanations(["a"], teacher_messages, client(endpoint, tmp_path))
    assert "HTTP 401" in str(caught.value) and "\n" not in str(caught.value)
    assert_no_canary(str(caught.value))


@pytest.mark.parametrize("fault", ["echo401", "echo200"])
def test_a_whole_run_never_stores_the_key(endpoints, tmp_path, capsys, fault):
    # issue 25.4 end to end: the run folder, its run.log, the results store and the reply cache
    # hold no trace of the key, whatever the judge endpoint echoes
    from bench.api.registry import DATASETS, METHODS
    from tests import echo_explainer, staged_toy

    echo_explainer.register()
    staged_toy.register()
    staged_toy.write_reviews(tmp_path / "data", n=200)
    endpoint = endpoints(lambda n, body, headers: fault)
    argv = ["run", "--method", echo_explainer.NAME, "--dataset", staged_toy.DATASET, "--quiet",
            "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs"),
            "--set", "eval.max_records=5", *score_argv(endpoint, tmp_path, tmp_path)[4:]]  # fmt: skip
    try:
        code = main(argv)
    finally:
        METHODS.unregister(echo_explainer.NAME)
        DATASETS.unregister(staged_toy.DATASET)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert_no_canary(out.out + out.err)
    (run_dir,) = (tmp_path / "runs").glob(f"{echo_explainer.NAME}__*")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if fault == "echo401":
        assert any("HTTP 401" in r and "[redacted]" in r for r in metrics["unavailable"].values())
    else:
        assert any(row["metric"].startswith("gptscore") for row in metrics["rows"])
    assert len(endpoint.requests) >= 1
    assert files_containing(tmp_path, CANARY_KEY) == []
