"""Run identity and the runner's checks: a different computation is never reused, failures
never block the next attempt, settings fail before work, one process per run folder."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

import bench.data
from bench.api.errors import BenchError, ConfigError, DataError
from bench.cli import main
from bench.config import resolve
from bench.identity import identify
from bench.runlock import RunLocked, run_lock
from bench.runner import execute
from tests.helpers import patch_synthetic_data, synthetic_records


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    return resolve("mf-bias", "ml-100k", sets=["eval.metrics=[rmse]", "model.max_epochs=30"],
                   overrides={"runs_dir": str(tmp_path / "runs")})  # fmt: skip


def test_different_data_is_a_different_run_never_a_reuse(cfg, monkeypatch):
    full = execute(cfg, quiet=True)
    patch_synthetic_data(monkeypatch, synthetic_records()[:120])  # a truncated copy of the data
    small = execute(cfg, quiet=True)
    assert not small.reused and small.run_id != full.run_id
    assert {r["n"] for r in small.rows} != {r["n"] for r in full.rows}


def test_effective_parameters_are_hashed_and_recorded(cfg, monkeypatch):
    identity = identify(cfg)
    params = dataclasses.asdict(identity.params)
    assert identity.cfg.model == params and len(params) > 2  # defaults included, not just max_epochs
    result = execute(cfg, quiet=True)
    saved = yaml.safe_load((result.run_dir / "config.resolved.yaml").read_text())
    assert saved["model"] == params

    # a default changed in code names a new folder even though no config file changed
    import bench.identity
    from baselines.mf_bias import MFBias

    field = next(f for f in dataclasses.fields(MFBias.Params) if f.name != "max_epochs")
    changed = dataclasses.make_dataclass(
        "Params", [(field.name, field.type, dataclasses.field(default=_other(field.default)))],
        bases=(MFBias.Params,),
    )  # fmt: skip
    monkeypatch.setattr(bench.identity, "method_class", lambda name: type("M", (MFBias,), {"Params": changed}))
    assert identify(cfg).cfg_hash != identity.cfg_hash


def _other(value):
    return not value if isinstance(value, bool) else (value or 0) + 1 if isinstance(value, int | float) else f"{value}x"


def test_failure_before_any_stage_leaves_nothing_behind(cfg, monkeypatch):
    good_load = bench.data.load_dataset

    def broken(name, data_cfg, seed=0):
        raise DataError("reviews.json.gz:7: overall: not a number")

    monkeypatch.setattr(bench.data, "load_dataset", broken)
    with pytest.raises(DataError, match="overall"):
        execute(cfg, quiet=True)
    assert not identify(cfg).run_dir.exists()
    monkeypatch.setattr(bench.data, "load_dataset", good_load)
    assert not execute(cfg, quiet=True).reused  # no "exists but is unfinished"


def test_failure_after_a_stage_says_what_is_kept_and_how_to_resume(cfg, monkeypatch):
    from baselines.mf_bias import MFBias

    def broken(self, records):
        raise BenchError("prediction failed")

    monkeypatch.setattr(MFBias, "predict", broken)
    with pytest.raises(BenchError, match=r"prediction failed \(run folder .* keeps finished stage\(s\) train; .*--resume"):
        execute(cfg, quiet=True)
    with pytest.raises(BenchError, match="finished stages: train"):
        execute(cfg, quiet=True)


def test_settings_are_checked_before_any_work(cfg, monkeypatch):
    loads = []
    monkeypatch.setattr(bench.data, "load_dataset", lambda *a, **k: loads.append(a))
    bad = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, metrics=["rmse", "bleu5"]))
    with pytest.raises(BenchError, match="unknown metric 'bleu5'"):
        execute(bad, quiet=True)
    assert loads == [] and not identify(cfg).run_dir.parent.exists()
    with pytest.raises(ConfigError, match="'device' expects auto, cpu, cuda, cuda:N or mps, got 'tpu'"):
        resolve("mf-bias", "ml-100k", sets=["device=tpu"])
    assert resolve("mf-bias", "ml-100k", sets=["device=cuda:1"]).device == "cuda:1"


def test_a_live_run_folder_is_locked_against_resume_and_force(cfg):
    identity = identify(cfg)
    identity.run_dir.mkdir(parents=True)
    (identity.run_dir / "marker").write_text("live")
    with run_lock(identity.run_dir):  # another process is running this cell
        for kwargs in ({"resume": True}, {"force": True}):
            with pytest.raises(RunLocked, match="is running in pid"):
                execute(cfg, quiet=True, **kwargs)
    assert (identity.run_dir / "marker").read_text() == "live"  # --force deleted nothing
    assert execute(cfg, force=True, quiet=True).run_dir == identity.run_dir  # free again


def test_eval_max_records_scores_a_seeded_random_sample_and_records_it(cfg):
    capped = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, max_records=10))
    result = execute(capped, quiet=True)
    sample = json.loads((result.run_dir / "eval_sample.json").read_text())
    indices = sample["test_indices"]
    assert len(indices) == 10 and indices == sorted(indices) and indices != list(range(10))
    assert sample["of"] == 48 and {r["n"] for r in result.rows} == {10}
    again = execute(dataclasses.replace(capped, runs_dir=capped.runs_dir + "2"), quiet=True)
    assert json.loads((again.run_dir / "eval_sample.json").read_text())["test_indices"] == indices


def test_path_flags_are_taken_as_paths_not_yaml(tmp_path, monkeypatch, capsys):
    patch_synthetic_data(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--method", "mf-bias", "--dataset", "ml-100k", "--runs-dir", "on",
                 "--set", "eval.metrics=[rmse]", "--set", "model.max_epochs=5", "--quiet"]) == 0  # fmt: skip
    assert any((tmp_path / "on").glob("mf-bias__ml-100k__s0__*/DONE"))


def test_dry_run_prints_the_checked_identity_and_runs_nothing(tmp_path, monkeypatch, capsys):
    patch_synthetic_data(monkeypatch)
    argv = ["run", "--method", "mf-bias", "--dataset", "ml-100k", "--runs-dir", str(tmp_path), "--dry-run"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    printed = yaml.safe_load(out)
    assert printed["model"]["max_epochs"] == 300 and list(printed["data_files"]) == ["synthetic.jsonl"]
    assert out.startswith("# run mf-bias__ml-100k__s0__") and ": new" in out.splitlines()[0]
    assert not any(tmp_path.iterdir())
    assert main([*argv, "--set", "eval.metrics=[bleu5]"]) == 2
    assert "unknown metric 'bleu5'" in capsys.readouterr().err


def test_paper_aliases_resolve_to_the_canonical_dataset():
    cfg = resolve("currrl", "sports", sets=["model.stage1_steps=1"])
    assert cfg.dataset == "amazon-sports"
    with pytest.raises(BenchError, match="did you mean"):
        identify(resolve("currrl", "sportz"))


def test_a_prompt_file_edited_in_place_is_a_new_run(cfg, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Rate the explanation from 0 to 100.")
    with_prompt = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, judge_prompt_file=str(prompt)))
    before = identify(with_prompt)
    assert before.data_digests["eval.judge_prompt_file"]
    prompt.write_text("Rate the explanation from 1 to 10.")
    assert identify(with_prompt).cfg_hash != before.cfg_hash
    prompt.unlink()
    with pytest.raises(ConfigError, match="eval.judge_prompt_file: .*prompt.txt does not exist"):
        identify(with_prompt)
