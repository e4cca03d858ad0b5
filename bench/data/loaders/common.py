"""Shared pieces of the loaders: line iteration with strict decoding, field checks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.api.records import Record
from bench.data.digests import cached_sha256
from bench.data.report import FileReport, Problems
from bench.data.spec import Located, RawFile


class BadLine(Exception):
    """Raised inside a line parser: (field, reason)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass
class LoaderResult:
    records: list[Record]
    files: list[FileReport]
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id -> metadata
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> metadata
    sampled: dict[str, Any] | None = None  # set when the loader applied max_records itself


def source_name(located: Located) -> str:
    """The file name Record.source starts with ("name:line")."""
    return located.member.rsplit("/", 1)[-1] if located.member else located.path.name


def file_report(located: Located, raw: RawFile) -> FileReport:
    label = str(located)
    return FileReport(
        path=label,
        role=raw.role,
        sha256=cached_sha256(located.path),
        size=located.path.stat().st_size,
        expected_sha256=raw.sha256,
        name=source_name(located),
    )


def _content(record: Record) -> tuple[Any, ...]:
    """What makes two records the same interaction: everything the raw line gave but its
    position (metadata-derived fields and extras such as helpful votes are left out)."""
    return (record.user_id, record.item_id, record.rating, record.timestamp, record.review,
            record.summary, record.user_profile, record.item_profile,
            record.reference_explanation)  # fmt: skip


def drop_duplicates(
    records: list[Record], files: list[FileReport], problems: Problems
) -> list[Record]:
    """Keep the first of records with the same content; report each later one as a bad line.

    A duplicate could land in train and test at once. Each is reported as
    `file:line: record: duplicate of line N` (under the on_bad_line policy) and counted in
    its file's `bad` and `duplicates`. Records are keyed by a hash of their content; a hash
    match is confirmed on the content itself. A line-sampling load (MovieLens CSVs under
    data.max_records) builds records for the sampled lines only, so only those are compared.
    """
    by_name = {report.name: report for report in files}
    first: dict[int, int] = {}  # content hash -> index in `kept`
    collided: dict[tuple[Any, ...], int] = {}  # content -> index, for equal hashes only
    kept: list[Record] = []
    for record in records:
        content = _content(record)
        key = hash(content)
        index = first.get(key)
        if index is not None and _content(kept[index]) != content:
            index = collided.get(content)
            if index is None:
                collided[content] = len(kept)
                kept.append(record)
                continue
        if index is None:
            first[key] = len(kept)
            kept.append(record)
            continue
        name, line = record.source.rsplit(":", 1)
        report = by_name[name]
        earlier_name, earlier_line = kept[index].source.rsplit(":", 1)
        earlier = f"line {earlier_line}" if earlier_name == name else kept[index].source
        report.kept -= 1
        report.bad += 1
        report.duplicates += 1
        problems.add(f"{report.path}:{line}", "record", f"duplicate of {earlier}")
    return kept


def iter_lines(
    located: Located,
    report: FileReport,
    problems: Problems,
    *,
    encoding: str = "utf-8",
    fallback: str | None = None,
    skip_header: bool = False,
) -> Iterator[tuple[str, str, str]]:
    """Yield (where, source, text) for each non-blank line, decoded strictly.

    `where` is "path:line" for messages, `source` is "name:line" for Record.source. A line
    that does not decode (and has no fallback encoding) is reported and counted as bad.
    With skip_header the first line is returned through `report` as not-a-record: it is not
    counted in lines_read.
    """
    label = report.path
    name = source_name(located)
    with located.open_binary() as handle:
        for number, raw in enumerate(handle, 1):
            if skip_header and number == 1:
                continue
            if not raw.strip():
                report.blank_lines += 1
                continue
            report.lines_read += 1
            where = f"{label}:{number}"
            try:
                text = _decode(raw, encoding, fallback)
            except UnicodeDecodeError as exc:
                # cp1252 leaves 5 bytes undefined: a fallback can fail too (found by fuzzing)
                report.bad += 1
                problems.add(
                    where,
                    "encoding",
                    f"not valid {'/'.join(e.upper() for e in (encoding, fallback) if e)} "
                    f"({exc.reason} at byte {exc.start})",
                )
                continue
            yield where, f"{name}:{number}", text.rstrip("\r\n")


def _decode(raw: bytes, encoding: str, fallback: str | None) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        if fallback is None:
            raise
        return raw.decode(fallback)


def read_header(located: Located, encoding: str = "utf-8") -> str:
    with located.open_binary() as handle:
        for raw in handle:
            return raw.decode(encoding, errors="replace").rstrip("\r\n")
    return ""


def req_str(obj: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    if key not in obj:
        raise BadLine(key, "missing")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadLine(key, f"expected a string, got {type(value).__name__}")
    value = str(value)
    if not allow_empty and not value.strip():
        raise BadLine(key, "empty")
    return value


def opt_str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadLine(key, f"expected a string, got {type(value).__name__}")
    return value


def rating_value(value: Any, key: str, scale: tuple[float, float] | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise BadLine(key, f"not a number: {value!r}") from None
        else:
            raise BadLine(key, f"expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise BadLine(key, f"not a finite number: {value}")
    if scale is not None and not scale[0] <= value <= scale[1]:
        raise BadLine(key, f"rating {value:g} outside {scale[0]:g}..{scale[1]:g}")
    return value


def int_value(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise BadLine(key, "expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                raise BadLine(key, f"not an integer: {value!r}") from None
            if as_float.is_integer():
                return int(as_float)
            raise BadLine(key, f"not an integer: {value!r}") from None
    raise BadLine(key, f"expected an integer, got {type(value).__name__}")
