"""Dataset specs: what a dataset's raw files are, where they go and how they are read.

Light on purpose: importing this module (and bench.data.catalog) pulls in only the
standard library, so `bench ls datasets` stays fast.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import DataError


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

    def open_binary(self) -> ReadChecked:
        """A binary reader; a damaged compressed file raises CorruptRawFile naming it."""
        import gzip
        import zipfile

        if self.member is not None:
            try:
                archive = zipfile.ZipFile(self.path)
                return ReadChecked(self, archive.open(self.member), archive)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise CorruptRawFile(self, _unreadable(exc)) from None
        if self.path.name.endswith(".gz"):
            return ReadChecked(self, gzip.open(self.path, "rb"))
        return ReadChecked(self, open(self.path, "rb"))


class CorruptRawFile(DataError):
    """A raw file that cannot be read to its end: truncated, or not in the format its name says."""

    def __init__(
        self, located: Located, problem: str, line: int | None = None, how: str | None = None
    ):
        where = f"{located}:{line}" if line else str(located)
        again = f" ({how})" if how else ""
        super().__init__(f"{where}: {problem}; delete it and download it again{again}")
        self.located, self.problem, self.line = located, problem, line


def _unreadable(exc: BaseException) -> str:
    """What a decompression error means for the user (the file, not the code, is at fault)."""
    import gzip
    import zipfile
    import zlib

    if isinstance(exc, EOFError):
        return "compressed data ends early: the file is truncated (an interrupted download?)"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip file although its name ends in .gz ({exc})"
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data ({exc})"
    if isinstance(exc, zipfile.BadZipFile):
        return f"damaged zip archive ({exc})"
    return f"cannot be read ({type(exc).__name__}: {exc})"


def _read_errors() -> tuple[type[BaseException], ...]:
    import gzip
    import zipfile
    import zlib

    return (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile)


class ReadChecked:
    """Iterates or reads a raw file, turning decompression errors into CorruptRawFile.

    Counts the lines handed out, so a failure names the first line that could not be read.
    """

    def __init__(self, located: Located, handle, archive=None):  # noqa: ANN001 - binary files
        self._located, self._handle, self._archive = located, handle, archive
        self._errors = _read_errors()
        self.lines = 0

    def __iter__(self):  # noqa: ANN204 - an iterator of bytes lines
        lines = iter(self._handle)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except self._errors as exc:
                raise CorruptRawFile(self._located, _unreadable(exc), self.lines + 1) from None
            self.lines += 1
            yield line

    def read(self, *args: int) -> bytes:
        try:
            return self._handle.read(*args)
        except self._errors as exc:
            raise CorruptRawFile(self._located, _unreadable(exc)) from None

    def __enter__(self) -> ReadChecked:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
        if self._archive is not None:
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
    aliases: tuple[str, ...] = ()  # short names the papers use ("sports"); see catalog
    manual: str = ""  # how to get the files when there is no public URL to fetch them from

    def declarations(self) -> dict[str, Any]:
        """What the registry reports about this dataset (bench.api.registry.Registry.declared)."""
        return {"aliases": self.aliases, "loader": self.loader, "split": self.split}

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

    def download_hint(self) -> str:
        """How to get the raw files again: the download command, else the source page."""
        if self.downloadable:
            return f"`bench data download {self.name}`"
        return f"from {self.url}"

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
        fetch = f"run `bench data download {self.name}`, " if self.downloadable else ""
        lines.append(
            f"  then {fetch}put the files there, or run `bench data prepare {self.name} --raw DIR`; "
            "the data dir is --data-dir / data.data_dir / $ERBENCH_DATA_DIR"
        )
        return "\n".join(lines)

    @property
    def downloadable(self) -> bool:
        """Every required raw file has a public URL (`bench data download` can fetch it)."""
        return all(f.url for f in self.required_files())

    def downloads(self, data_root: Path) -> list[tuple[str, Path, str | None]]:
        """(url, path where loads look for it, expected sha256) per required downloadable file.

        A file read from a zip archive (GroupLens) gives the archive, once.
        """
        root = self.root(data_root)
        targets: dict[Path, tuple[str, Path, str | None]] = {}
        for raw in self.required_files():
            if raw.url:
                target = root / (raw.archives[0][0] if raw.archives else raw.name)
                targets.setdefault(target, (raw.url, target, raw.sha256))
        return list(targets.values())

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
            except zipfile.BadZipFile as exc:
                raise CorruptRawFile(Located(candidate), _unreadable(exc)) from None
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
