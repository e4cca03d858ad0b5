"""Every compatibility patch RecBole 1.2.1 needs in this environment, in one place.

RecBole 1.2.1 was written for numpy 1.x, torch < 2.6 and a quiet working directory. The
adapter (`bench.adapters.recbole`) calls `apply()` before it imports anything from RecBole
and builds every Config inside `isolated_argv()`. Each patch says why it exists; the unit test
tests/unit/test_recbole_compat.py checks that each is applied and that a Config builds.

1. numpy 2 aliases (`np.float_`, `np.complex_`, `np.unicode_`). numpy 2.0 removed them;
   RecBole's `Config.compatibility_settings()` reads them (`np.float = np.float_`, ...) while
   the Config is built, and its evaluator uses `np.float`/`np.bool`, which that method then
   defines. We add only the three missing aliases, pointing at what numpy 1.x pointed them to.
2. `sys.argv` isolation. RecBole's Config parses `sys.argv[1:]` as `--key=value` overrides,
   so pytest's or the `bench` CLI's own arguments would leak into the model config (or be
   logged as unrecognised). `isolated_argv()` hides them while a Config is built.
3. TensorBoard writer. RecBole's Trainer opens a `SummaryWriter("log_tensorboard/...")` in
   the current working directory on construction. We replace `get_tensorboard` (in the
   trainer module's namespace) with a no-op writer; losses go to the run's train_log.jsonl.
4. RecBole's own checkpoint. It pickles its Config object with the weights, so torch >= 2.6
   (`weights_only=True` by default) cannot load it and `Trainer.evaluate(load_best_model=True)`
   / `resume_checkpoint` fail. We never call them, and the adapter replaces the trainer's
   `_save_checkpoint` with a tensors-only save that it loads with `weights_only=True`.
5. `recbole.quick_start` imports ray, which breaks with setuptools >= 81. We do not patch it:
   the adapter never imports quick_start and drives Config / create_dataset /
   data_preparation / get_model / get_trainer directly. `check_no_quick_start()` lets a
   test assert that nothing imported it.
6. pandas 3 breaks RecBole's id remap; that is handled by the `pandas<3` pin in
   pyproject.toml, and `apply()` raises a clear error if pandas 3 is found.

7. Warnings. Under pandas 2.3 RecBole's dataset code emits FutureWarnings (chained
   `fillna(inplace=True)`, `Series.agg(len)`) and its Trainer a torch.cuda.amp deprecation
   warning, once per model; they are harmless with the pinned versions. `quiet()` silences
   FutureWarning/DeprecationWarning/UserWarning raised from recbole's own modules while the
   adapter calls into RecBole, and nothing else.

8. scipy's DOK matrix. LightGCN (and NGCF-style models) fill their adjacency matrix with
   `dok_matrix._update(dict)`, the bulk insert of scipy < 1.12, where a DOK matrix was a dict;
   newer scipy keeps the entries in `_dict` and dropped `_update`. `patch_scipy_dok()` adds it
   back as an update of `_dict` (keys (row, col), values the entries), which is what it did.

Config also sets `os.environ["CUDA_VISIBLE_DEVICES"]` from its `gpu_id`; the adapter passes
the current value through (or "" for CPU runs) and restores the variable afterwards.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NUMPY_ALIASES = {"float_": "float64", "complex_": "complex128", "unicode_": "str_"}

_applied = False


class _NullWriter:
    """Stands in for torch's SummaryWriter: accepts every call and writes nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def null_tensorboard(logger: Any = None) -> _NullWriter:
    return _NullWriter()


def patch_numpy() -> list[str]:
    """Add the numpy 1.x aliases RecBole reads; returns the names that were added."""
    import numpy as np

    added = []
    for alias, target in NUMPY_ALIASES.items():
        if not hasattr(np, alias):
            setattr(np, alias, getattr(np, target))
            added.append(alias)
    return added


def check_pandas() -> None:
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        from bench.api.errors import BenchError

        raise BenchError(
            f"RecBole 1.2.1 fails on pandas {pd.__version__} (its id remap breaks); "
            "install pandas<3 (pinned in pyproject.toml)"
        )


def _dok_update(self: Any, entries: dict) -> None:
    self._dict.update(entries)


def patch_scipy_dok() -> bool:
    """Give scipy's dok_matrix the `_update` bulk insert RecBole's LightGCN calls (patch 8);
    returns True when it was added."""
    from scipy.sparse import dok_matrix

    if hasattr(dok_matrix, "_update") or not hasattr(dok_matrix((1, 1)), "_dict"):
        return False
    dok_matrix._update = _dok_update
    return True


def patch_tensorboard() -> None:
    import recbole.trainer.trainer as trainer_module

    trainer_module.get_tensorboard = null_tensorboard


def apply() -> None:
    """Apply every patch once (idempotent). Call before importing RecBole's Config."""
    global _applied
    if _applied:
        return
    check_pandas()
    patch_numpy()
    patch_scipy_dok()
    patch_tensorboard()
    _applied = True


def applied() -> dict[str, bool]:
    """Which patches are in effect (for tests and provenance)."""
    import numpy as np
    from scipy.sparse import dok_matrix

    state = {f"numpy.{alias}": hasattr(np, alias) for alias in NUMPY_ALIASES}
    state["scipy.dok_matrix._update"] = hasattr(dok_matrix, "_update")
    try:
        import recbole.trainer.trainer as trainer_module

        state["tensorboard"] = trainer_module.get_tensorboard is null_tensorboard
    except ImportError:
        state["tensorboard"] = False
    return state


@contextmanager
def isolated_argv() -> Iterator[None]:
    """Hide the process's command-line arguments from RecBole's Config parser."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "erbench"]
    try:
        yield
    finally:
        sys.argv = saved


@contextmanager
def quiet() -> Iterator[None]:
    """Silence RecBole's own FutureWarning/DeprecationWarning/UserWarning (patch 7)."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category, module=r"recbole(\..*)?$")
        yield


@contextmanager
def preserved_cuda_env() -> Iterator[None]:
    """Restore CUDA_VISIBLE_DEVICES after RecBole's Config has overwritten it."""
    saved = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved


def check_no_quick_start() -> bool:
    """True when recbole.quick_start (and with it ray) has not been imported."""
    return "recbole.quick_start" not in sys.modules and "ray" not in sys.modules
