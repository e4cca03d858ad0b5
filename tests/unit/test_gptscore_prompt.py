"""GPTScore's system prompt is a file the user can point at (eval.judge_prompt_file): its text is
what the judge receives, its sha256 is in the metric version, and its name tag keeps scores made
with different prompts in different columns."""

from __future__ import annotations

import hashlib
import json

import pytest

import metrics.gptscore as gptscore
from bench.api.errors import ConfigError
from bench.backbones.chat_client import JudgeClient, JudgeSettings
from bench.config import resolve
from metrics.base import Batch
from metrics.gptscore import GPTSCORE_TEMPLATE, GPTScore
from metrics.settings import EvalConfig


class RecordingJudge(JudgeClient):
    """A judge that answers every request with "70" and keeps the payloads it was sent."""

    def __init__(self):
        super().__init__(JudgeSettings("http://127.0.0.1:9/v1", "fake-judge", cache_path=""))
        self.sent: list[dict] = []

    def chat_full(self, payload):
        self.sent.append(payload)
        return "70", None


ROWS = [{"explanation": "caf\u00e9 sound", "reference": "good sound"}]


def test_custom_prompt_file_is_sent_and_changes_the_version_digest(tmp_path):
    path = tmp_path / "my_prompt.txt"
    path.write_text("Score 0-100 how close the meanings are.\n", encoding="utf-8")
    judge = RecordingJudge()
    main, _ = GPTScore(EvalConfig(judge_prompt_file=str(path)), judge_client=judge).compute(Batch(ROWS))
    # the file's text (final newline dropped) is the system message; the user message is XRec's
    # json.dumps({"prediction": ..., "reference": ...}), non-ASCII escaped
    assert judge.sent[0]["messages"] == [
        {"role": "system", "content": "Score 0-100 how close the meanings are."},
        {"role": "user", "content": '{"prediction": "caf\\u00e9 sound", "reference": "good sound"}'},
    ]
    assert json.loads(judge.sent[0]["messages"][1]["content"])["prediction"] == "caf\u00e9 sound"
    digest = hashlib.sha256(b"Score 0-100 how close the meanings are.").hexdigest()
    default, _ = GPTScore(EvalConfig(), judge_client=RecordingJudge()).compute(Batch(ROWS))
    assert main.version["judge_prompt_file"] == str(path)
    assert main.version["judge_prompt_file_sha256"] == digest
    assert default.version["judge_prompt_file_sha256"] == hashlib.sha256(
        GPTSCORE_TEMPLATE.system.encode()).hexdigest() != digest  # fmt: skip
    assert main.version["prompt_sha256"] != default.version["prompt_sha256"] == GPTSCORE_TEMPLATE.sha256
    # different prompts, different columns
    assert main.name == f"gptscore[fake-judge,prompt-{digest[:8]}]"
    assert default.name == "gptscore[fake-judge,prompt-568cd41b]"
    assert main.value == default.value == 70.0


def test_xrecs_own_prompt_keeps_the_papers_bare_name(tmp_path, monkeypatch):
    path = tmp_path / "system_prompt.txt"
    path.write_text("a stand-in for XRec's text", encoding="utf-8")
    monkeypatch.setattr(gptscore, "XREC_PROMPT_SHA256", hashlib.sha256(b"a stand-in for XRec's text").hexdigest())
    metric = GPTScore(EvalConfig(judge_prompt_file=str(path)), judge_client=RecordingJudge())
    assert metric.reported_names() == ["gptscore[fake-judge]", "gptscore_unparseable[fake-judge]"]


def test_missing_prompt_file_is_a_one_line_config_error(tmp_path):
    missing = tmp_path / "nowhere" / "prompt.txt"
    with pytest.raises(ConfigError) as err:
        GPTScore(EvalConfig(judge_prompt_file=str(missing)))
    assert str(err.value) == f"eval.judge_prompt_file: {missing} does not exist"
    # the run checks it before any work
    from bench.runner import validate
    from tests.helpers import patch_synthetic_data

    with pytest.MonkeyPatch.context() as mp:
        patch_synthetic_data(mp)
        cfg = resolve("mf-bias", "ml-100k", sets=[f"runs_dir={tmp_path}", f"eval.judge_prompt_file={missing}"])
        with pytest.raises(ConfigError, match="eval.judge_prompt_file: .*nowhere/prompt.txt does not exist"):
            validate(cfg)
