"""Every `paper` profile end to end through the real CLI (`bench run ... --profile P`) on
same-architecture stand-ins (tests/standins), with only size keys shrunk.

Each checkpoint the resolved profile names (backbone, encoders, classifier, scorer checkpoints)
is pointed by `--set` at its stand-in folder, found by its real id (`standin_sets`): a checkpoint
without a stand-in fails the test by name. Every endpoint (teacher, judge, GPTScore) is pointed
at one local OpenAI-compatible server on 127.0.0.1 (tests/standins/endpoint.py): the teacher
answers with a stand-in LLM, judges with scripted verdicts/scores. API keys are set to a dummy
value, as a user's environment would have them.

Asserted per profile: exit 0, the run folder has what a finished run has, and every metric the
paper's table needs comes out as a finite number (under the table's checkpoint name). Profiles
whose code path another default case already runs (expctr/tallrec/icl paper-32k differ from
paper-16k in size keys only; distill-teacher and distill-base are parts of sft-distill) are
`slow`. The default cases take about 3 min on 2 busy cores (docs/results). Data: the fixture Amazon file (Curr-RLCER, XRec, zero-shot)
and ML-100K from the RecBole wheel (ExpCTR, TALLRec, ICL, distillation) in place of the papers'
datasets. What this cannot prove (CUDA memory sizing, flash attention, bf16 numerics on a
GPU, vLLM, device_map): see docs and benchmarks/gpu_check.py --paper-profiles.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.standins import llms
from tests.standins.endpoint import serve_standins

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "data" / "tiny"
TEACHER, JUDGE = "stand-in-teacher", "stand-in-judge"
API_KEY_ENVS = ("OPENAI_API_KEY", "GEMINI_API_KEY")

# Size keys only: steps, records, tokens, epochs, batch sizes.
CURRRL_SIZE = ["model.stage_records=8", "model.stage1_steps=1", "model.stage2_steps=1", "model.dpo_steps=1",
               "model.stage3_steps=1", "model.dpo_batch_size=2", "model.max_completion_length=8",
               "model.explain_max_completion_length=8", "model.dpo_generation_max_new_tokens=8",
               "model.rating_max_new_tokens=8", "model.explanation_max_new_tokens=8", "eval.max_records=4"]  # fmt: skip
EXPCTR_SIZE = ["model.train_records=4", "model.batch_size=4", "model.minibatch_size=2", "model.lc_epochs=1",
               "model.ic_epochs=1", "model.max_new_tokens=8", "model.score_batch_size=8",
               "model.ctr_pretrain_epochs=1", "model.ctr_epochs=1", "eval.max_records=8"]  # fmt: skip
TALLREC_SIZE = ["model.train_records=8", "model.batch_size=4", "model.score_batch_size=8", "eval.max_records=8"]
ICL_SIZE = ["model.batch_size=8", "eval.max_records=8"]
XREC_SIZE = ["model.lightgcn_epochs=2", "model.train_records=4", "model.valid_records=2",
             "model.max_target_tokens=16", "model.max_new_tokens=8", "eval.max_records=4"]  # fmt: skip
STUDENT_SIZE = ["model.train_recommendations=4", "model.steps=1", "model.batch_size=2", "model.max_new_tokens=8",
                "model.predict_batch_size=4", "eval.max_records=4"]  # fmt: skip
DISTILL_EVAL = ["eval.max_records=4"]

# The columns of the papers' tables (leaderboards/specs), under the stand-ins' checkpoint names.
# A name with [checkpoint] must come out under exactly that name; a bare one under any.
EXPLANATION_METRICS = ("bertscore_p[roberta-large]", "bertscore_r[roberta-large]", "bertscore_f1[roberta-large]",
                       "bartscore[bart-large-cnn]", "bleurt[bleurt-base-128]", "gptscore", "usr", "bleu4_sacre",
                       "rougeL_f")  # fmt: skip
COHERENCE = ("coh_acc[nlptown-sentiment]", f"coh_acc[judge:{JUDGE}]")
CTR_METRICS = ("auc", "logloss", "ctr_mae", "ctr_rmse")
SLOW = pytest.mark.slow  # same code path as a default-suite profile: differs only in size keys

# (method, profile, dataset, size sets, the metrics its paper table needs)
PROFILES = [
    pytest.param("currrl", "paper", "amazon-baby", CURRRL_SIZE, ("rmse", "mae", *COHERENCE, *EXPLANATION_METRICS)),
    pytest.param("llm-zeroshot", "paper", "amazon-baby", CURRRL_SIZE[-3:], ("rmse", "mae", *COHERENCE, *EXPLANATION_METRICS)),
    # XRec's early stopping ranks Recall@20 over all items: the 10-item fixture is too small
    pytest.param("xrec", "paper", "amazon-instruments", XREC_SIZE, EXPLANATION_METRICS),
    pytest.param("expctr", "paper-16k", "ml-100k", EXPCTR_SIZE, CTR_METRICS),
    pytest.param("expctr", "paper-32k", "ml-100k", EXPCTR_SIZE, CTR_METRICS, marks=SLOW),
    pytest.param("tallrec", "paper-16k", "ml-100k", TALLREC_SIZE, CTR_METRICS),
    pytest.param("tallrec", "paper-32k", "ml-100k", TALLREC_SIZE, CTR_METRICS, marks=SLOW),
    pytest.param("icl", "paper-16k", "ml-100k", ICL_SIZE, CTR_METRICS),
    pytest.param("icl", "paper-32k", "ml-100k", ICL_SIZE, CTR_METRICS, marks=SLOW),
    # the teacher endpoint and the student's generation also run in sft-distill (default suite)
    pytest.param("distill-teacher", "paper", "ml-100k", DISTILL_EVAL, ("usr",), marks=SLOW),
    pytest.param("distill-base", "paper", "ml-100k", ["model.max_new_tokens=8", *DISTILL_EVAL], ("usr",), marks=SLOW),
    pytest.param("sft-distill", "paper", "ml-100k", STUDENT_SIZE, ("usr",)),
    pytest.param("orpo-distill", "paper", "ml-100k", STUDENT_SIZE, ("usr",)),
]  # fmt: skip
TEXT_TABLES = {"currrl", "llm-zeroshot", "xrec"}
NO_BACKBONE_JSON = {"distill-teacher"}  # the teacher's explanations come from the endpoint: no LLM here


def _standin_for(value: str, dtype: str = "float32") -> Path | None:
    """The stand-in folder of a real checkpoint id, None when it is not a known id."""
    from tests.standins import scorers

    if value in llms.CHECKPOINTS:
        return llms.for_checkpoint(value, dtype)
    builders = {
        "moka-ai/m3e-base": scorers.m3e_base,
        "BAAI/bge-small-en": scorers.bge_small,
        "nlptown/bert-base-multilingual-uncased-sentiment": scorers.star_classifier,
        "roberta-large": scorers.roberta_large,
        "facebook/bart-large-cnn": scorers.bart_large_cnn,
        "lucadiliello/bleurt-base-128": scorers.bleurt_base,
    }
    build = builders.get(value)
    return build() if build else None


def standin_sets(method: str, dataset: str, profile: str, url: str, dtype: str = "float32") -> list[str]:
    """--set overrides pointing every checkpoint and endpoint of the resolved profile at the
    stand-ins; a real id without a stand-in is an error naming it."""
    from bench.config import resolve

    cfg = resolve(method, dataset, profile=profile)
    sections = {"model": dict(cfg.model), "eval": dict(vars(cfg.eval))}
    sets = []
    for section, values in sections.items():
        for key, value in values.items():
            if not isinstance(value, str) or not value:
                continue
            name = f"{section}.{key}"
            if key.endswith("base_url"):
                sets.append(f"{name}={url}")
            elif key == "teacher_model":
                sets.append(f"{name}={TEACHER}")
            elif key == "judge_model":
                sets.append(f"{name}={JUDGE}")
            elif (folder := _standin_for(value, dtype)) is not None:
                sets.append(f"{name}={folder}")
            elif "/" in value and not value.startswith(("http", "/", ".")) and not Path(value).exists():
                raise AssertionError(f"{method} --profile {profile}: {name}={value} has no stand-in")
    if not cfg.eval.judge_base_url:  # GPTScore against the local endpoint
        sets += [f"eval.judge_base_url={url}", f"eval.judge_model={JUDGE}"]
    return sets


@pytest.fixture(scope="module")
def endpoint():
    with serve_standins({TEACHER: llms.llm("qwen2.5-instruct")}) as served:
        yield served


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("paper-runs")


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for env in API_KEY_ENVS:
        monkeypatch.setenv(env, "stand-in-key")


def run_profile(method: str, profile: str, dataset: str, size: list[str], url: str, runs_dir: Path,
                dtype: str = "float32") -> tuple[int, Path | None]:  # fmt: skip
    """`bench run` through the CLI; (exit code, the finished run folder)."""
    from bench.cli import main
    from bench.config import resolve
    from bench.identity import identify
    from tests.conftest import shared_data_dir

    if dataset.startswith("ml-"):
        pytest.importorskip("recbole")
    data_dir = {"amazon-baby": FIXTURE_DATA, "amazon-instruments": shared_data_dir()}.get(dataset)
    if dataset == "amazon-instruments" and data_dir is None:
        pytest.skip("amazon-instruments not found: set ERBENCH_DATA_DIR (../shared/data)")
    sets = [*standin_sets(method, dataset, profile, url, dtype), *size]
    data = ["--data-dir", str(data_dir)] if data_dir else []
    argv = ["run", "--method", method, "--dataset", dataset, "--profile", profile, "--runs-dir", str(runs_dir),
            "--quiet", *data, *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    code = main(argv)
    sets_all = [*sets, *([f"data.data_dir={data_dir}"] if data_dir else [])]
    cfg = resolve(method, dataset, profile=profile, sets=[f"runs_dir={runs_dir}", *sets_all])
    folder = runs_dir / identify(cfg).run_id
    return code, folder if folder.is_dir() else None


def _metrics(folder: Path) -> tuple[dict[str, float], dict[str, Any]]:
    doc = json.loads((folder / "metrics.json").read_text())
    return {r["metric"]: r["value"] for r in doc["rows"]}, doc.get("unavailable") or {}


def _family(metric: str) -> str:
    return metric.split("[", 1)[0]


def _check_run(method: str, folder: Path, needed: tuple[str, ...]) -> dict[str, float]:
    """The finished run folder's files and the table's metrics as finite numbers."""
    files = ["DONE", "config.resolved.yaml", "provenance.json", "splits.json", "predictions.jsonl", "metrics.json"]
    for name in [*files, "run.log"]:
        assert (folder / name).is_file(), f"{folder.name} lacks {name}"
    if method not in NO_BACKBONE_JSON:  # every LLM method says which backbone ran
        described = json.loads((folder / "backbone.json").read_text())
        assert Path(described["source"]).name.startswith("llm-"), described
    values, unavailable = _metrics(folder)
    for metric in needed:
        got = [v for m, v in values.items() if m == metric or ("[" not in metric and _family(m) == metric)]
        assert got, f"{method}: {metric} missing (unavailable: {unavailable.get(metric)})"
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in got), (metric, got)
    if method in TEXT_TABLES:  # nothing else unavailable but the human coherence column (no ratings here)
        assert all(m.endswith("[human]") for m in unavailable), unavailable
    return values


@pytest.mark.parametrize("method,profile,dataset,size,needed", PROFILES,
                         ids=[f"{p.values[0]}-{p.values[1]}" for p in PROFILES])  # fmt: skip
def test_paper_profile_end_to_end_on_standins(method, profile, dataset, size, needed, endpoint, runs_dir):
    code, folder = run_profile(method, profile, dataset, size, endpoint["url"], runs_dir)
    assert code == 0 and folder is not None
    _check_run(method, folder, needed)


@pytest.mark.parametrize("method,dataset,size", [("llm-zeroshot", "amazon-baby", CURRRL_SIZE[-3:]),
                                                ("xrec", "amazon-instruments", XREC_SIZE)])  # fmt: skip
def test_paper_profile_on_bf16_weights(method, dataset, size, endpoint, runs_dir):
    """The backbone stored in bf16 (as the real checkpoints are, and as CUDA loads them)."""
    code, folder = run_profile(method, "paper", dataset, size, endpoint["url"], runs_dir, dtype="bfloat16")
    assert code == 0 and folder is not None
    described = json.loads((folder / "backbone.json").read_text())
    assert "bfloat16" in described["source"]
    assert described["dtype"] == ("bfloat16" if described["device"].startswith("cuda") else "float32")
    _check_run(method, folder, EXPLANATION_METRICS)
