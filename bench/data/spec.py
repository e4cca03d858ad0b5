"""Dataset specs: what a dataset's raw files are, where they go and how they are read.

Light on purpose: importing this module (and bench.data.catalog) pulls in only the
standard library, so `bench ls datasets` stays fast.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import DataError


@dataclass(frozen=True)
class RawFile:
    """One raw file of a dataset, relative to the dataset's sub-folder of the data dir."""

    name: str
    role: str  # "interactions", "meta", "items", "users", "split:train|valid|test"
    required: bool = True
    url: str | None = None
    sha256: str | None = None  # expected digest where known; None: not published / unknown
    alternatives: tuple[str, ...] = ()  # other accepted names / locations
    archives: tuple[tuple[str, str], ...] = ()  # (zip relative to the root, member) holding it


@dataclass(frozen=True)
class Located:
    """A raw file found on disk: a plain file, or a member of a zip archive."""

    path: Path  # the file on disk (the zip itself for a member); its sha256 is recorded
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open_binary(self):  # noqa: ANN201 - a binary file object
        import gzip
        import zipfile

        if self.member is not None:
            archive = zipfile.ZipFile(self.path)
            handle = archive.open(self.member)
            return _ClosingBoth(handle, archive)
        if self.path.name.endswith(".gz"):
            return gzip.open(self.path, "rb")
        return open(self.path, "rb")


class _ClosingBoth:
    def __init__(self, handle, archive):  # noqa: ANN001
        self._handle, self._archive = handle, archive

    def __iter__(self):  # noqa: ANN204
        return iter(self._handle)

    def read(self, *args):  # noqa: ANN001, ANN201
        return self._handle.read(*args)

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc):  # noqa: ANN001, ANN204
        self._handle.close()
        self._archive.close()


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the data layer needs to know about one dataset."""

    name: str
    summary: str
    loader: str  # "amazon", "movielens-atomic", "movielens-csv", "bookcrossing", "xrec"
    subdir: str  # sub-folder of the data dir ("" when the files ship with a package)
    files: tuple[RawFile, ...]
    url: str  # where to download the raw files
    rating_scale: tuple[float, float] | None = (1.0, 5.0)
    rating_threshold: float = 4.0
    split: str = "random-3:1:1"
    has_reviews: bool = True  # review text exists (profiles / reference explanations from it)
    has_profiles: bool = False  # the files ship profiles + explanations (XRec)
    options: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    # -- locations -----------------------------------------------------------------
    def root(self, data_root: Path) -> Path:
        """The folder that holds this dataset's raw files."""
        if self.loader == "movielens-atomic" and self.options.get("packaged"):
            local = Path(data_root) / self.subdir
            if (local / f"{self.options['prefix']}.inter").exists():
                return local
            packaged = recbole_example_dir(self.options["prefix"])
            if packaged is not None:
                return packaged
            return local
        return Path(data_root) / self.subdir if self.subdir else Path(data_root)

    def required_files(self) -> list[RawFile]:
        return [f for f in self.files if f.required]

    def missing_message(self, root: Path, missing: list[RawFile]) -> str:
        names = ", ".join(f.name for f in missing)
        lines = [
            f"dataset {self.name!r}: raw file(s) not found: {names}",
            f"  expected in: {root}",
        ]
        for f in missing:
            others = [*f.alternatives, *(f"{z}!{m}" for z, m in f.archives)]
            alts = f" (or {', '.join(others)})" if others else ""
            lines.append(f"  - {root / f.name}{alts}" + (f"  <- {f.url}" if f.url else ""))
        lines.append(f"  download: {self.url}")
        if self.notes:
            lines.append(f"  note: {self.notes}")
        lines.append(
            f"  then put the files there, or run `bench data prepare {self.name} --raw DIR`; "
            "the data dir is --data-dir / data.data_dir / $ERBENCH_DATA_DIR"
        )
        return "\n".join(lines)

    def locate(self, data_root: Path) -> tuple[Path, dict[str, Located]]:
        """Resolve every raw file that exists; raise DataError naming the missing required ones.

        Returns (root, {file name: path}). A file found under an alternative name (or a zip
        that holds it, for GroupLens layouts) is returned under its canonical name.
        """
        root = self.root(data_root)
        found: dict[str, Located] = {}
        missing: list[RawFile] = []
        for raw in self.files:
            path = _find(root, raw)
            if path is not None:
                found[raw.name] = path
            elif raw.required:
                missing.append(raw)
        if missing:
            raise DataError(self.missing_message(root, missing))
        return root, found


def _find(root: Path, raw: RawFile) -> Located | None:
    for name in (raw.name, *raw.alternatives):
        candidate = root / name
        if candidate.is_file():
            return Located(candidate)
    for archive, member in raw.archives:
        candidate = (root / archive).resolve() if ".." in archive else root / archive
        if candidate.is_file():
            import zipfile

            try:
                with zipfile.ZipFile(candidate) as zf:
                    if member in zf.namelist():
                        return Located(candidate, member)
            except zipfile.BadZipFile:
                raise DataError(f"{candidate}: not a valid zip archive") from None
    return None


def recbole_example_dir(prefix: str) -> Path | None:
    """The folder RecBole's wheel ships its example atomic files in (without importing it)."""
    try:
        spec = importlib.util.find_spec("recbole")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "dataset_example" / prefix
        if (folder / f"{prefix}.inter").is_file():
            return folder
    return None
