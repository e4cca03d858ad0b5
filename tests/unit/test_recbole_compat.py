"""The RecBole compat patches are applied and RecBole's Config builds with them."""

from __future__ import annotations

import sys
import warnings

import pytest

pytest.importorskip("recbole")

from bench.adapters import recbole_compat  # noqa: E402


def test_patches_applied_and_config_builds(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setattr(sys, "argv", ["pytest", "--epochs=999", "-x", "tests"])
    recbole_compat.apply()
    state = recbole_compat.applied()
    assert state == {
        "numpy.float_": True,
        "numpy.complex_": True,
        "numpy.unicode_": True,
        "scipy.dok_matrix._update": True,
        "tensorboard": True,
    }
    assert np.float_ is np.float64 and np.complex_ is np.complex128 and np.unicode_ is np.str_

    from recbole.config import Config

    before = dict(__import__("os").environ)
    with recbole_compat.isolated_argv(), recbole_compat.preserved_cuda_env():
        assert sys.argv == ["pytest"]
        config = Config(
            model="FM",
            dataset="ml-100k",
            config_dict={"use_gpu": False, "gpu_id": "", "checkpoint_dir": str(tmp_path)},
        )
    assert sys.argv == ["pytest", "--epochs=999", "-x", "tests"]  # restored
    assert config["epochs"] != 999  # the process's argv did not leak into the config
    assert config["model"] == "FM"
    assert str(config["device"]) == "cpu"
    env = __import__("os").environ
    assert env.get("CUDA_VISIBLE_DEVICES") == before.get("CUDA_VISIBLE_DEVICES")
    # RecBole's compatibility_settings() ran on top of our aliases
    assert np.float is np.float64  # type: ignore[attr-defined]


def test_apply_is_idempotent_and_never_imports_quick_start():
    recbole_compat.apply()
    recbole_compat.apply()
    assert recbole_compat.check_no_quick_start()


def test_null_tensorboard_accepts_every_call(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recbole_compat.apply()
    import recbole.trainer.trainer as trainer_module

    writer = trainer_module.get_tensorboard(None)
    writer.add_scalar("x", 1.0, 0)
    writer.add_hparams({}, {})
    writer.close()
    assert not (tmp_path / "log_tensorboard").exists()


def test_quiet_silences_only_recbole_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with recbole_compat.quiet():
            warnings.warn_explicit(
                "x", FutureWarning, "dataset.py", 1, module="recbole.data.dataset"
            )
            warnings.warn_explicit("y", FutureWarning, "other.py", 1, module="pandas.core")
    assert [str(w.message) for w in caught] == ["y"]
