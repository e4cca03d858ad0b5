"""XRec's released splits are pandas pickles: an explicit, one-time conversion to JSON lines.

HKUDS/XRec publishes each dataset as data/<name>/trn.pkl, val.pkl and tst.pkl, pandas
DataFrames with the columns uid, iid, title, user_summary, item_summary and explanation
(explainer/utils/data_handler.py reads them with pickle.load). Unpickling a file runs code
stored in it, so erbench never does it on its own: only

    bench data prepare xrec-amazon --raw DIR --allow-pickle

calls `convert_pickles`, which warns, reads each pickle once with pandas.read_pickle and
writes train.jsonl / valid.jsonl / test.jsonl in XRec's JSON-lines layout (one object per row,
the six fields above, row order kept). `bench data prepare` then checks and places those
files like any others; runs only ever read the JSON lines.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.api.errors import DataError, DataWarning

PICKLES = {"trn.pkl": "train.jsonl", "val.pkl": "valid.jsonl", "tst.pkl": "test.jsonl"}
FIELDS = ("uid", "iid", "title", "user_summary", "item_summary", "explanation")


def pickles_in(folder: Path) -> dict[str, Path]:
    """XRec's pickle files found in `folder` (file name -> path)."""
    return {name: Path(folder) / name for name in PICKLES if (Path(folder) / name).is_file()}


def refusal(folder: Path) -> str:
    names = ", ".join(pickles_in(folder))
    return (
        f"{folder} holds XRec's pandas pickles ({names}) and no JSON lines; erbench does not "
        "unpickle downloaded files unless asked: rerun with --allow-pickle to convert them once "
        "(unpickling executes code stored in the file: only for files you trust)"
    )


def _plain(value: Any) -> Any:
    """A JSON value from a pandas cell (numpy ints to int, everything else as text)."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    return str(value)


def convert_pickles(folder: Path, out_dir: Path) -> list[Path]:
    """Read XRec's pickles in `folder` (pandas.read_pickle, after a warning) and write the
    JSON-lines files into `out_dir`; returns the files written."""
    import pandas as pd

    found = pickles_in(folder)
    if "tst.pkl" not in found:
        raise DataError(f"--allow-pickle: no tst.pkl in {folder} (XRec's test split is required)")
    warnings.warn(
        f"--allow-pickle: unpickling {', '.join(str(p) for p in found.values())} executes code "
        "stored in those files; do this only for files you trust (XRec's own release)",
        DataWarning,
        stacklevel=2,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path in found.items():
        frame = pd.read_pickle(path)
        missing = [f for f in FIELDS if f not in getattr(frame, "columns", ())]
        if missing:
            raise DataError(f"{path}: not an XRec split (a DataFrame without column(s) {', '.join(missing)})")
        target = out_dir / PICKLES[name]
        with open(target, "w", encoding="utf-8") as handle:
            for row in frame[list(FIELDS)].itertuples(index=False, name=None):
                handle.write(json.dumps(dict(zip(FIELDS, map(_plain, row), strict=True)), ensure_ascii=False) + "\n")
        written.append(target)
    return written


def _folders(raw_dir: Path, subdir: str) -> list[Path]:
    """Where `--raw` may hold the files: the folder itself, or XRec's data/<name> under it."""
    return [raw_dir, raw_dir / subdir, raw_dir / Path(subdir).name]


def _has_json_lines(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("test.jsonl", "tst.jsonl"))


@contextmanager
def json_lines_folder(raw_dir: Path, subdir: str, scratch: Path, allow_pickle: bool) -> Iterator[Path]:
    """The folder `bench data prepare` reads an XRec dataset from: `raw_dir` when it has the
    JSON lines; with only XRec's pickles, a temporary folder (under `scratch`, the data dir, so
    the files can be hard-linked into place) with the converted files when `allow_pickle`,
    else a DataError saying how to ask for the conversion."""
    folders = [f for f in _folders(Path(raw_dir), subdir) if f.is_dir()]
    if any(_has_json_lines(f) for f in folders):
        yield Path(raw_dir)
        return
    with_pickles = next((f for f in folders if "tst.pkl" in pickles_in(f)), None)
    if with_pickles is None:
        yield Path(raw_dir)  # neither: prepare names the files it expected
        return
    if not allow_pickle:
        raise DataError(refusal(with_pickles))
    Path(scratch).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".xrec-converted.", dir=scratch) as tmp:
        convert_pickles(with_pickles, Path(tmp))
        yield Path(tmp)
