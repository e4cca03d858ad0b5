"""The preflight (bench.preflight): `bench run --dry-run` and every real run check each checkpoint,
endpoint, the data and the device first, one ✓/✗ line each, and stop with exit 2 on any ✗ before
anything trains (issue #23: an unreachable hub was a raw OSError after 52 s)."""

from __future__ import annotations

import socket

import pytest

from bench import preflight as P
from bench.api.loads import Endpoint
from bench.api.work_plan import PlannedStage
from bench.cli import main
from bench.config import resolve
from bench.run_estimate import estimate_seconds, parameters_of
from tests.helpers import patch_synthetic_data


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache and a hub that refuses connections."""
    import huggingface_hub.constants as hf

    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("ERBENCH_TEST_TEACHER_KEY", raising=False)


def test_paper_profile_with_the_hub_unreachable_lists_every_checkpoint_and_endpoint(
    no_hub, monkeypatch, tmp_path, capsys
):
    patch_synthetic_data(monkeypatch)
    teacher = closed_port_url() + "/v1"
    argv = ["run", "--method", "currrl", "--dataset", "ml-100k", "--profile", "paper", "--dry-run",
            "--runs-dir", str(tmp_path / "runs"), "--set", f"model.teacher_base_url={teacher}",
            "--set", "model.teacher_api_key_env=ERBENCH_TEST_TEACHER_KEY"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    failed = [line for line in err.splitlines() if line.lstrip().startswith("✗")]
    for ref in ("Qwen/Qwen2.5-3B-Instruct", "moka-ai/m3e-base", "nlptown/bert-base-multilingual-uncased-sentiment",
                "roberta-large", "facebook/bart-large-cnn", "lucadiliello/bleurt-base-128"):  # fmt: skip
        assert sum(ref in line for line in failed) == 1, ref  # one line each, roles joined
        assert any(ref in line and "hub is unreachable" in line for line in failed)
    assert any("model.teacher_base_url" in line and "unreachable" in line for line in failed)
    assert any("eval.judge_base_url" in line for line in failed)  # GPTScore and the coherence judge
    assert len(failed) == 8
    assert "model.sentiment_classifier, eval.sentiment_classifier" in err  # one checkpoint, two roles
    assert err.strip().splitlines()[-1].startswith("error: preflight failed for 8 item(s)")
    assert "leave the metric out with --set eval.metrics=" in err.strip().splitlines()[-1]
    assert not (tmp_path / "runs").exists()


def test_hub_offline_means_the_cache_only(no_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ok, detail = P.resolve_checkpoint("Qwen/Qwen2.5-3B-Instruct")
    assert not ok and detail == "not in the local Hugging Face cache and HF_HUB_OFFLINE is set"


def test_checkpoints_found_in_the_hf_cache_a_folder_or_built_in(no_hub, tmp_path):
    import huggingface_hub.constants as hf

    snapshot = tmp_path / "hf-cache" / "models--org--cached" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "hf-cache" / "models--org--cached" / "refs").mkdir()
    (tmp_path / "hf-cache" / "models--org--cached" / "refs" / "main").write_text("abc")
    assert hf.HF_HUB_CACHE == str(tmp_path / "hf-cache")
    assert P.resolve_checkpoint("org/cached") == (True, "in the local Hugging Face cache")
    folder = tmp_path / "model"
    folder.mkdir()
    assert P.resolve_checkpoint(str(folder)) == (False, f"local folder {str(folder)!r} has no config.json")
    (folder / "config.json").write_text("{}")
    assert P.resolve_checkpoint(str(folder)) == (True, "local folder")
    assert P.resolve_checkpoint(str(tmp_path / "absent"))[0] is False
    assert P.resolve_checkpoint("embedded") == (True, "built in (no download)")


def test_endpoint_answers_and_its_key(stub_factory, monkeypatch):
    stub = stub_factory(lambda body, n: (200, {}, {}))
    monkeypatch.setenv("ERBENCH_TEST_TEACHER_KEY", "sk-test")
    ok, detail = P.check_endpoint(Endpoint("model.teacher_base_url", stub.url, "m", "ERBENCH_TEST_TEACHER_KEY"))
    assert ok and detail == "answers"
    assert stub.headers[-1]["Authorization"] == "Bearer sk-test"
    monkeypatch.delenv("ERBENCH_TEST_TEACHER_KEY")
    assert P.check_endpoint(Endpoint("r", stub.url, "m", "ERBENCH_TEST_TEACHER_KEY")) == (
        True, "answers, no key (local server)")  # fmt: skip
    # a remote endpoint without its key is ✗ even when it answers
    monkeypatch.setattr(P, "_get", lambda url, headers: (200, ""))
    ok, detail = P.check_endpoint(Endpoint("r", "https://api.example.com/v1", "m", "ERBENCH_TEST_TEACHER_KEY"))
    assert not ok and detail == "$ERBENCH_TEST_TEACHER_KEY is unset"
    monkeypatch.setattr(P, "_get", lambda url, headers: (501, ""))  # a server without GET /models
    monkeypatch.setenv("ERBENCH_TEST_TEACHER_KEY", "sk-test")
    assert P.check_endpoint(Endpoint("r", "https://api.example.com/v1", "m", "ERBENCH_TEST_TEACHER_KEY")) == (
        True, "answers (HTTP 501 on /models)")  # fmt: skip
    monkeypatch.setattr(P, "_get", lambda url, headers: (503, ""))
    assert P.check_endpoint(Endpoint("r", "https://api.example.com/v1", "m", "ERBENCH_TEST_TEACHER_KEY")) == (
        False, "answers HTTP 503")  # fmt: skip
    monkeypatch.setattr(P, "_get", lambda url, headers: (401, ""))
    monkeypatch.setenv("ERBENCH_TEST_TEACHER_KEY", "sk-bad")
    assert P.check_endpoint(Endpoint("r", "https://api.example.com/v1", "m", "ERBENCH_TEST_TEACHER_KEY")) == (
        False, "the key was refused (HTTP 401)")  # fmt: skip


def test_a_cuda_device_on_a_cpu_machine_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    item, resolved = P._device_item("cuda")
    assert not item.ok and "no CUDA device here" in item.detail and resolved == "cpu"
    item, resolved = P._device_item("auto")
    assert item.ok and resolved == "cpu"


def test_currrl_plans_the_papers_work_and_warns_on_a_cpu(monkeypatch):
    patch_synthetic_data(monkeypatch)
    cfg = resolve("currrl", "ml-100k", sets=["device=cpu"])
    report = P.run_preflight(cfg)
    assert not report.failed
    stages = {s.name: s for s in report.plan}
    # 3,000 records per stage, 2 prompts a step: 1,500 steps of 2 x 4 rollouts of <= 256 tokens
    grpo = stages["1_judgment (GRPO)"]
    assert (grpo.records, grpo.steps, grpo.generated_tokens) == (3000, 1500, 1500 * 2 * 4 * 256)
    assert stages["3a_dpo (DPO)"].steps == 750
    assert report.warnings and "sized for a GPU (3,000 records in a stage" in report.warnings[0]
    tiny = P.run_preflight(resolve("currrl", "ml-100k", profile="tiny", sets=["device=cpu"]))
    assert not tiny.warnings and {s.name: s.steps for s in tiny.plan}["1_judgment (GRPO)"] == 4


def test_a_real_run_stops_at_the_preflight_before_any_work(monkeypatch, tmp_path, capsys):
    patch_synthetic_data(monkeypatch)
    argv = ["run", "--method", "currrl", "--dataset", "ml-100k", "--profile", "tiny", "--runs-dir",
            str(tmp_path), "--set", f"model.text_encoder={tmp_path / 'no-such-encoder'}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "✗ checkpoint model.text_encoder" in err and "does not exist" in err
    assert "eval.metrics" not in err.strip().splitlines()[-1]  # the method's own item: no scorer hint
    assert not any(tmp_path.iterdir())


def test_rough_estimate_from_documented_costs():
    assert parameters_of("Qwen/Qwen2.5-3B-Instruct") == 3e9
    assert parameters_of("meta-llama/Llama-2-7b-chat-hf") == 7e9
    assert parameters_of("Qwen/Qwen3-0.6B") == 0.6e9
    assert parameters_of("moka-ai/m3e-base") is None
    stage = PlannedStage("s", 10, 1, generated_tokens=800, decode_steps=100, trained_sequences=10)
    # cpu at SmolLM2-135M: 100 decode steps x 0.2 s + 10 sequences x 2 s
    assert estimate_seconds([stage], "cpu", 135e6) == pytest.approx(40.0)
    # cuda at 3B: 100 x 25 ms + 10 x 0.1 s
    assert estimate_seconds([stage], "cuda", 3e9) == pytest.approx(3.5)


def test_the_cpu_estimate_matches_the_measured_cpu_profile(monkeypatch):
    """The documented costs reproduce the run they were read from: the Curr-RLCER cpu profile
    took 33 min to fit and 5.4 min to predict (README), 38.4 min in all."""
    patch_synthetic_data(monkeypatch)
    cfg = resolve("currrl", "ml-100k", profile="cpu", sets=["device=cpu"])
    from bench.identity import effective_config

    _, params = effective_config(cfg)
    plan = method_class_of("currrl").planned_work(params, cfg)
    assert estimate_seconds(plan, "cpu", parameters_of("embedded")) / 60 == pytest.approx(38.4, rel=0.1)


def method_class_of(name):
    from bench.identity import method_class

    return method_class(name)


@pytest.mark.parametrize(
    ("method", "profile", "expected"),
    [
        ("expctr", "paper-16k", ["meta-llama/Meta-Llama-3-8B-Instruct", "BAAI/bge-small-en"]),
        ("tallrec", "paper-16k", ["meta-llama/Meta-Llama-3-8B-Instruct"]),
        ("icl", "paper-16k", ["meta-llama/Meta-Llama-3-8B-Instruct"]),
        ("xrec", "paper", ["meta-llama/Llama-2-7b-chat-hf"]),
        ("llm-zeroshot", "paper", ["Qwen/Qwen2.5-7B-Instruct"]),
        ("orpo-distill", "paper", ["Qwen/Qwen3-0.6B", "generativelanguage.googleapis.com", "api.openai.com"]),
        ("distill-teacher", "paper", ["generativelanguage.googleapis.com"]),
    ],
)  # fmt: skip
def test_every_paper_profile_declares_what_it_loads(method, profile, expected, no_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(P, "_get", lambda url, headers: (None, "unreachable in this test"))
    patch_synthetic_data(monkeypatch)
    report = P.run_preflight(resolve(method, "ml-100k", profile=profile, sets=["device=cpu"]))
    failed = [i.label for i in report.failed]
    for ref in expected:
        assert sum(ref in label for label in failed) == 1, (ref, failed)


def test_a_sweep_checks_every_cell_first_and_probes_a_shared_checkpoint_once(monkeypatch, tmp_path):
    """bench sweep plans its cells with the preflight: a checkpoint every cell loads and that
    cannot be found makes each cell unavailable before any cell runs, and is looked for once."""
    from bench.sweep import UNAVAILABLE, plan
    from leaderboards.commands import get_spec

    patch_synthetic_data(monkeypatch)
    looked: list[str] = []
    resolve_for_real = P.resolve_checkpoint
    monkeypatch.setattr(P, "resolve_checkpoint", lambda ref: looked.append(ref) or resolve_for_real(ref))
    missing = str(tmp_path / "no-such-roberta")
    planned = plan(get_spec("currrl-table5-embedded"), seeds=2, profile="tiny",
                   sets=[f"eval.bertscore_model={missing}"], runs_dir=tmp_path / "runs")  # fmt: skip
    assert len(planned) == 6 and {p.status for p in planned} == {UNAVAILABLE}
    assert all(p.problem.startswith("preflight: checkpoint eval.bertscore_model") for p in planned)
    assert all("does not exist" in p.problem for p in planned)
    assert looked.count(missing) == 1 and looked.count("embedded") == 1


def test_expctr_plans_its_ppo_stages():
    from bench.identity import effective_config

    cfg = resolve("expctr", "ml-100k", profile="paper-16k")
    _, params = effective_config(cfg)
    stages = {s.name: s for s in method_class_of("expctr").planned_work(params, cfg)}
    # 16,000 RL records, 32 rollouts a PPO step, 2 epochs per stage; 96 new tokens each
    lc = stages["lc (PPO)"]
    assert (lc.records, lc.steps, lc.generated_tokens) == (16000, 2 * 500, 1000 * 32 * 96)
    assert set(stages) == {"lc (PPO)", "ic_1 (PPO)", "predict (explanation + CTR score)"}
    assert stages["predict (explanation + CTR score)"].records == 2000
