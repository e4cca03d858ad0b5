"""Issue 25.2 and 25.3: the device and every parameter's range are checked before any data is
read; each is one line and exit 2 (bench.checks.device, bench.checks.ranges)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bench.api.errors import ConfigError
from bench.api.registry import METHODS, load_builtins
from bench.checks.device import check_device
from bench.checks.ranges import check_ranges, default_range, in_range
from bench.cli import main
from bench.config import available_profiles, build_dataclass, method_yaml, resolve
from bench.identity import method_class


def run(tmp_path, *sets: str) -> list[str]:  # noqa: ANN001
    return ["run", "--method", "mf-bias", "--dataset", "amazon-instruments", "--quiet",
            "--data-dir", str(tmp_path / "no-data"), "--runs-dir", str(tmp_path / "runs"),
            *(a for s in sets for a in ("--set", s))]  # fmt: skip


def one_line(capsys) -> str:  # noqa: ANN001
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("model.max_epochs=-5", "config key 'model.max_epochs' expects an integer >= 1, got -5"),
        ("model.max_epochs=0", "config key 'model.max_epochs' expects an integer >= 1, got 0"),
        ("model.lr=0", "config key 'model.lr' expects a number > 0, got 0.0"),
        ("model.reg=-0.1", "config key 'model.reg' expects a number >= 0, got -0.1"),
        ("model.patience=-1", "config key 'model.patience' expects an integer >= 0, got -1"),
        ("data.max_records=0", "config key 'data.max_records' expects an integer >= 1, got 0"),
        ("eval.mask_ratio=1.5", "eval.mask_ratio"),
    ],
)
def test_an_out_of_range_parameter_is_one_line_before_any_data_is_read(tmp_path, capsys, setting, expected):
    # the data dir does not exist: the range error comes first
    assert main(run(tmp_path, setting)) == 2
    assert expected in one_line(capsys)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("mf-bias*"))


def test_a_float_that_is_not_finite_is_refused():
    @dataclass
    class P:
        lr: float = 0.1

    with pytest.raises(ConfigError, match="'model.lr' expects a finite number, got nan"):
        check_ranges(P(lr=float("nan")), "model")


def test_field_metadata_overrides_the_house_rule():
    @dataclass
    class P:
        offset: int = field(default=0, metadata=in_range(-3, 3))
        max_epochs: int = field(default=0, metadata=in_range(0))  # 0 allowed here

    check_ranges(P(offset=-3), "model")
    with pytest.raises(ConfigError, match=r"'model.offset' expects an integer in \[-3, 3\], got 4"):
        check_ranges(P(offset=4), "model")
    assert default_range("ic_epochs", int).low == 0  # a phase may be skipped with 0
    assert default_range("dropout", float).high == 1


def test_every_shipped_profile_is_in_range():
    load_builtins()
    checked = 0
    for name in list(METHODS.names()):
        for profile in [None, *available_profiles(method_yaml(name))]:
            cfg = resolve(name, "amazon-instruments", profile=profile)
            check_ranges(build_dataclass(method_class(name).Params, cfg.model, "model"), "model")
            check_ranges(cfg.data, "data")
            check_ranges(cfg.eval, "eval")
            checked += 1
    assert checked > 30


def test_cuda_on_a_machine_without_it_fails_before_any_work(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:7"):
        assert main(run(tmp_path, f"device={device}")) == 2
        err = capsys.readouterr().err
        # the preflight lists its items (data missing here, device) and ends in one error line
        assert f"config key 'device' is {device}, but there is no CUDA device here" in err
        assert err.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("mf-bias*"))


def test_the_runner_checks_the_device_without_a_preflight(tmp_path, monkeypatch):
    # bench.runner.execute is also called by sweeps and launched processes
    import torch

    from bench.config import resolve as resolve_cfg
    from bench.runner import execute

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = resolve_cfg("mf-bias", "amazon-instruments", sets=["device=cuda:7"],
                      overrides={"runs_dir": str(tmp_path / "runs"), "data": {"data_dir": str(tmp_path)}})  # fmt: skip
    with pytest.raises(ConfigError, match="no CUDA device here"):
        execute(cfg)


def test_a_gpu_index_past_the_last_one_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_device("cuda:1")
    with pytest.raises(ConfigError, match=r"has 2 CUDA device\(s\): cuda:0 to cuda:1"):
        check_device("cuda:7")
    check_device("cpu")
    check_device("auto")
