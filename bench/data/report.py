"""What a load did: files and their sha256, lines read, records kept, bad lines, problems.

Counts reconcile per file and in total: lines_read = kept + bad + sum(filtered). `filtered`
holds lines that parsed fine but were left out on purpose, each under a named reason (e.g.
BookCrossing's implicit 0 ratings under data.implicit_ratings=drop, metadata rows for items
with no interactions). A record equal to an earlier one but for its line counts as bad and
under `duplicates`. Blank lines are not records and are counted apart (`blank_lines`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import DataError, DataWarning


@dataclass
class FileReport:
    path: str
    role: str
    sha256: str
    size: int
    expected_sha256: str | None = None
    lines_read: int = 0
    kept: int = 0
    bad: int = 0  # includes the duplicates
    duplicates: int = 0  # records equal to an earlier one but for their line (see common.py)
    blank_lines: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    name: str = field(default="", compare=False)  # the file name in Record.source (not saved)

    @property
    def sha256_ok(self) -> bool | None:
        return None if self.expected_sha256 is None else self.expected_sha256 == self.sha256

    def reconciles(self) -> bool:
        return self.lines_read == self.kept + self.bad + sum(self.filtered.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "role": self.role,
            "sha256": self.sha256,
            "expected_sha256": self.expected_sha256,
            "sha256_ok": self.sha256_ok,
            "size": self.size,
            "lines_read": self.lines_read,
            "kept": self.kept,
            "bad": self.bad,
            "duplicates": self.duplicates,
            "blank_lines": self.blank_lines,
            "filtered": dict(self.filtered),
        }


class Problems:
    """Collects bad lines as `file:line: field: reason`; applies the on_bad_line policy."""

    def __init__(self, on_bad_line: str = "error", max_listed: int = 20):
        if on_bad_line not in ("error", "skip"):
            raise DataError(f"data.on_bad_line must be 'error' or 'skip', got {on_bad_line!r}")
        self.policy = on_bad_line
        self.max_listed = max(1, int(max_listed))
        self.listed: list[str] = []
        self.count = 0

    def add(self, where: str, field_name: str, reason: str) -> None:
        self.count += 1
        if len(self.listed) < self.max_listed:
            self.listed.append(f"{where}: {field_name}: {reason}")

    def raise_if_any(self, dataset: str) -> None:
        if self.policy != "error" or not self.count:
            return
        more = self.count - len(self.listed)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise DataError(
            f"dataset {dataset!r}: {self.count} bad line(s) in the raw files "
            f"(data.on_bad_line=error; set data.on_bad_line=skip to drop and count them):\n  "
            + "\n  ".join(self.listed)
            + tail
        )


@dataclass
class LoadReport:
    dataset: str
    loader: str
    root: str
    on_bad_line: str
    files: list[FileReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the first max_bad_lines problems
    records_loaded: int = 0  # records the loader produced (a line-sampling loader: the sample)
    subsample: dict[str, Any] | None = None  # {"max_records", "seed", "kept"} when applied
    from_cache: str | None = None  # path of the prepared cache used, if any

    # Totals over the interaction files (the ones whose lines become records).
    def _interaction_files(self) -> list[FileReport]:
        return [f for f in self.files if f.role == "interactions" or f.role.startswith("split:")]

    @property
    def lines_read(self) -> int:
        return sum(f.lines_read for f in self._interaction_files())

    @property
    def records_kept(self) -> int:
        return sum(f.kept for f in self._interaction_files())

    @property
    def bad_lines(self) -> int:
        return sum(f.bad for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def filtered(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self._interaction_files():
            for reason, n in f.filtered.items():
                out[reason] = out.get(reason, 0) + n
        return out

    @property
    def records(self) -> int:
        """Records handed on (after the optional subsample)."""
        return self.subsample["kept"] if self.subsample else self.records_loaded

    def reconciles(self) -> bool:
        return all(f.reconciles() for f in self.files)

    @property
    def sha256_mismatches(self) -> list[str]:
        """Files whose sha256 differs from the one the dataset spec records."""
        return [f.path for f in self.files if f.sha256_ok is False]

    def warn_sha256_mismatches(self) -> None:
        """One warning per file whose digest is not the spec's: the numbers may not compare."""
        for f in self.files:
            if f.sha256_ok is False:
                warnings.warn(
                    f"{f.path}: sha256 {f.sha256} differs from {f.expected_sha256} recorded "
                    f"for dataset {self.dataset!r} (another release or a damaged file; results "
                    "may not compare with published ones; the data report records both)",
                    DataWarning,
                    stacklevel=3,
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "loader": self.loader,
            "root": self.root,
            "on_bad_line": self.on_bad_line,
            "files": [f.to_dict() for f in self.files],
            "lines_read": self.lines_read,
            "records_kept": self.records_kept,
            "bad_lines": self.bad_lines,
            "duplicates": self.duplicates,
            "filtered": self.filtered,
            "records_loaded": self.records_loaded,
            "records": self.records,
            "subsample": self.subsample,
            "reconciles": self.reconciles(),
            "sha256_mismatches": self.sha256_mismatches,
            "problems": list(self.problems),
            "from_cache": self.from_cache,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        files = [
            FileReport(
                path=f["path"], role=f["role"], sha256=f["sha256"], size=f["size"],
                expected_sha256=f.get("expected_sha256"), lines_read=f["lines_read"],
                kept=f["kept"], bad=f["bad"], duplicates=f.get("duplicates", 0),
                blank_lines=f.get("blank_lines", 0),
                filtered=dict(f.get("filtered") or {}),
            )
            for f in data.get("files", [])
        ]  # fmt: skip
        return cls(
            dataset=data["dataset"], loader=data["loader"], root=data["root"],
            on_bad_line=data["on_bad_line"], files=files, problems=list(data.get("problems", [])),
            records_loaded=data.get("records_loaded", 0), subsample=data.get("subsample"),
            from_cache=data.get("from_cache"),
        )  # fmt: skip


def data_issues(report: dict[str, Any]) -> list[str]:
    """Why the records a run read differ from the dataset as its spec records it (empty: they
    do not): files whose sha256 differs from the spec's, bad lines or duplicates skipped.
    `report` is LoadReport.to_dict(), as provenance.json keeps it. Tables prefer runs without."""
    issues = [f"{Path(p).name}: sha256 differs from the dataset spec" for p in report.get("sha256_mismatches") or []]
    skipped = int(report.get("bad_lines") or 0)
    if skipped:
        issues.append(f"{skipped} bad or duplicate line(s) skipped (--on-bad-line skip)")
    return issues
