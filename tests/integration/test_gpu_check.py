"""benchmarks/gpu_check.py runs end to end with tiny sizes: on a GPU (marked `gpu`, skipped
without one) and on CPU (--tiny, ~40 s on 2 busy cores: TRL's chunked log-prob kernel is slow
on CPU, hence `slow`). The full-size check is the script itself (docs/scale.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
TINY = ["--tiny", "--prompts", "12", "--plain-prompts", "2", "--max-new-tokens", "6", "--completion-tokens", "6"]


def _script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(report: dict, tmp_path: Path) -> None:
    g = report["generation"]
    assert g["prompts"] == 12 and g["fast_tokens_per_s"] > 0 and g["plain_tokens_per_s"] > 0
    assert g["plain_tokens_generated"] == 2 * 6  # a random model never stops early
    assert g["speedup"] == pytest.approx(g["fast_tokens_per_s"] / g["plain_tokens_per_s"])
    assert report["grpo"]["step_seconds"] > 0 and report["ppo"]["step_seconds"] > 0
    assert (tmp_path / "report.json").exists()


@pytest.mark.gpu
def test_gpu_check_tiny_on_cuda(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    report = _script().main([*TINY, "--device", "cuda", "--json", str(tmp_path / "report.json")])
    _check(report, tmp_path)
    assert report["grpo"]["peak_gib"] > 0 and report["ppo"]["peak_gib"] > 0
    assert report["attention"] in ("sdpa", "flash_attention_2") and "bfloat16" in report["dtype"]


@pytest.mark.slow
def test_gpu_check_tiny_on_cpu(tmp_path, one_thread):
    report = _script().main([*TINY, "--json", str(tmp_path / "report.json")])
    _check(report, tmp_path)
    assert report["device"] == "cpu"


@pytest.mark.gpu
def test_gpu_check_runs_the_paper_profiles_on_cuda(tmp_path):
    """`gpu_check.py --paper-profiles` on a GPU: the stand-in paper runs load in bf16 on CUDA."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    module = _script()
    result = module.paper_profiles(module.parse_args(["--paper-profiles-k", "llm-zeroshot or xrec"]))
    assert result["exit_code"] == 0 and result["total"] >= 2
    assert set(result["outcome"].values()) <= {"passed", "skipped"} and result["passed"] >= 2
