"""An interactions file that gave no records is an error naming the file, not an empty run.

Before, a 0-byte `.gz` or an empty gzip loaded as zero records: `bench run` failed later
with "mf-bias needs ratings in the train split" (no file named), `bench data info` said
ready, and `bench data prepare` installed the empty file.
"""

from __future__ import annotations

from bench.api.errors import DataError
from bench.data.report import FileReport


def empty_file_problem(files: list[FileReport]) -> str | None:
    """One line naming each interactions file that gave no records and why; None when every
    interactions file gave at least one."""
    empty = [f for f in files if _gives_records(f.role) and f.kept == 0]
    if not empty:
        return None
    return "; ".join(_why(f) for f in empty)


def _gives_records(role: str) -> bool:
    return role == "interactions" or role.startswith("split:")


def _why(report: FileReport) -> str:
    if report.size == 0:
        return f"{report.path}: 0 records (the file is empty: 0 bytes)"
    if report.lines_read == 0:
        return f"{report.path}: 0 records (no line of data in its {report.size:,} bytes)"
    dropped = report.bad + sum(report.filtered.values())
    return (
        f"{report.path}: 0 records ({report.lines_read:,} line(s) read, {report.bad:,} bad, "
        f"{dropped - report.bad:,} filtered)"
    )


def raise_if_empty(dataset: str, files: list[FileReport], hint: str | None = None) -> None:
    problem = empty_file_problem(files)
    if problem is not None:
        tail = f"; {hint}" if hint else ""
        raise DataError(f"dataset {dataset!r}: {problem}{tail}")
