"""Every LLM method's run folder says which LLM ran: backbone.json and a line in run.log, written
by the one shared loader (bench.backbones.hf.load_for_run / record_backbone). expctr and tallrec
(and icl) loaded their backbone without it and had neither (issue #23)."""

from __future__ import annotations

import json

import pytest

from bench.api.run_folder import RunContext
from bench.config import resolve
from bench.identity import effective_config, method_class
from tests.helpers import patch_synthetic_data, synthetic_records

pytestmark = pytest.mark.usefixtures("one_thread")


class StopAtStage(Exception):
    pass


def load_for(method: str, instance, splits) -> None:
    """Run the part of `method` that loads its backbone, stopping before any training."""
    if method in ("expctr",):
        instance._setup_llm()
    elif method in ("tallrec", "icl"):
        try:
            instance.fit(splits)
        except StopAtStage:
            pass
    else:  # currrl, llm-zeroshot, xrec, distill-base: the method's own loader
        instance._load_backbone()


@pytest.mark.parametrize("method", ["currrl", "llm-zeroshot", "expctr", "tallrec", "icl", "xrec", "distill-base"])
def test_each_llm_method_records_its_backbone(method, monkeypatch, tmp_path):
    patch_synthetic_data(monkeypatch)
    from bench.api.records import Splits

    records = synthetic_records()
    splits = Splits(records[:100], records[100:140], records[140:], {})
    cfg = resolve(method, "ml-100k", profile="tiny", sets=["model.backbone=tiny-random", "device=cpu"])
    _, params = effective_config(cfg)
    run = RunContext(tmp_path, cfg)
    monkeypatch.setattr(RunContext, "stage", lambda self, *a, **k: (_ for _ in ()).throw(StopAtStage()))
    load_for(method, method_class(method)(params, run), splits)
    info = json.loads((tmp_path / "backbone.json").read_text())
    assert info["backbone"] == "tiny-random" and info["mode"] == "tiny-random" and info["device"] == "cpu"
    log = (tmp_path / "run.log").read_text()
    assert "INFO bench.backbones: loaded" in log and '"backbone": "tiny-random"' in log
