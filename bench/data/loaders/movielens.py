"""MovieLens: RecBole atomic files (ml-100k inside the RecBole wheel) and GroupLens CSVs.

Atomic layout (tab-separated, header `name:type` per column):
  <p>.inter: user_id:token, item_id:token, rating:float, timestamp:float
  <p>.item:  item_id:token, movie_title:token_seq, release_year:token, class:token_seq
GroupLens ml-20m / ml-32m (comma-separated, header line, zipped or extracted):
  ratings.csv: userId,movieId,rating,timestamp
  movies.csv:  movieId,title,genres  (title quoted when it holds commas; genres `A|B`)
No review text: Record.review / reference_explanation stay "". Item titles (with year)
and genres come from the item file; genres are kept in LoaderResult.items.
"""

from __future__ import annotations

import csv
from typing import Any

from bench.api.errors import DataError
from bench.api.records import Record
from bench.data.loaders.common import (
    BadLine,
    LoaderResult,
    file_report,
    int_value,
    iter_lines,
    rating_value,
    read_header,
)
from bench.data.report import FileReport, Problems
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, Located, RawFile


def _raw(spec: DatasetSpec, role: str) -> RawFile | None:
    return next((r for r in spec.files if r.role == role), None)


def _atomic_columns(located: Located, required: tuple[str, ...]) -> dict[str, int]:
    header = read_header(located)
    names = [col.split(":", 1)[0].strip() for col in header.split("\t")]
    missing = [n for n in required if n not in names]
    if missing:
        raise DataError(
            f"{located}:1: header: missing column(s) {', '.join(missing)} (header: {header!r})"
        )
    return {name: i for i, name in enumerate(names)}


def _items_atomic(
    located: Located, report: FileReport, problems: Problems
) -> dict[str, dict[str, Any]]:
    cols = _atomic_columns(located, ("item_id",))
    width = max(cols.values()) + 1
    items: dict[str, dict[str, Any]] = {}
    for where, _source, text in iter_lines(located, report, problems, skip_header=True):
        parts = text.split("\t")
        try:
            if len(parts) < width:
                raise BadLine("line", f"expected {width} tab-separated fields, got {len(parts)}")
            item = parts[cols["item_id"]].strip()
            if not item:
                raise BadLine("item_id", "empty")
            title = parts[cols["movie_title"]].strip() if "movie_title" in cols else ""
            year = parts[cols["release_year"]].strip() if "release_year" in cols else ""
            genres = parts[cols["class"]].split() if "class" in cols else []
        except BadLine as bad:
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
            continue
        full = f"{title} ({year})" if title and year else title
        items[item] = {"title": full, "genres": genres, "year": year}
        report.kept += 1
    return items


def load_atomic(
    spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig, problems: Problems
) -> LoaderResult:
    inter_raw, item_raw = _raw(spec, "interactions"), _raw(spec, "items")
    files: list[FileReport] = []
    items: dict[str, dict[str, Any]] = {}
    if item_raw is not None and item_raw.name in found:
        item_report = file_report(found[item_raw.name], item_raw)
        items = _items_atomic(found[item_raw.name], item_report, problems)
        files.append(item_report)

    located = found[inter_raw.name]
    report = file_report(located, inter_raw)
    cols = _atomic_columns(located, ("user_id", "item_id", "rating"))
    width = max(cols.values()) + 1
    has_time = "timestamp" in cols
    records: list[Record] = []
    for where, source, text in iter_lines(located, report, problems, skip_header=True):
        parts = text.split("\t")
        try:
            if len(parts) != len(cols) or len(parts) < width:
                raise BadLine(
                    "line", f"expected {len(cols)} tab-separated fields, got {len(parts)}"
                )
            user = parts[cols["user_id"]].strip()
            item = parts[cols["item_id"]].strip()
            if not user:
                raise BadLine("user_id", "empty")
            if not item:
                raise BadLine("item_id", "empty")
            rating = rating_value(parts[cols["rating"]], "rating", spec.rating_scale)
            timestamp = int_value(parts[cols["timestamp"]], "timestamp") if has_time else 0
        except BadLine as bad:
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
            continue
        meta = items.get(item)
        records.append(
            Record(
                user_id=user,
                item_id=item,
                rating=rating,
                timestamp=timestamp,
                title=meta["title"] if meta else "",
                source=source,
            )
        )
    report.kept = len(records)
    files.insert(0, report)
    return LoaderResult(records=records, files=files, items=items)


def _movies_csv(
    located: Located, report: FileReport, problems: Problems
) -> dict[str, dict[str, Any]]:
    header = read_header(located)
    if header.replace('"', "").split(",")[:3] != ["movieId", "title", "genres"]:
        raise DataError(f"{located}:1: header: expected movieId,title,genres, got {header!r}")
    items: dict[str, dict[str, Any]] = {}
    for where, _source, text in iter_lines(located, report, problems, skip_header=True):
        try:
            try:
                parts = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                raise BadLine("line", f"not valid CSV ({exc})") from None
            if len(parts) != 3:
                raise BadLine("line", f"expected 3 comma-separated fields, got {len(parts)}")
            movie, title, genres = (p.strip() for p in parts)
            if not movie:
                raise BadLine("movieId", "empty")
            if not title:
                raise BadLine("title", "empty")
        except BadLine as bad:
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
            continue
        genre_list = [] if genres in ("", "(no genres listed)") else genres.split("|")
        items[movie] = {"title": title, "genres": genre_list}
        report.kept += 1
    return items


def count_lines(located: Located) -> int:
    """Newline-terminated lines (a last line without a newline counts too)."""
    total, last = 0, b"\n"
    with located.open_binary() as handle:
        while block := handle.read(1 << 22):
            total += block.count(b"\n")
            last = block[-1:]
    return total + (last != b"\n")


SAMPLED_OUT = "not in max_records line sample"


def load_csv(
    spec: DatasetSpec,
    found: dict[str, Located],
    cfg: DataConfig,
    problems: Problems,
    sample: tuple[int, int] | None = None,
) -> LoaderResult:
    """GroupLens CSVs. With `sample` = (max_records, seed), every line is still read and
    checked, but Records are built only for a seeded sample of max_records data lines (the
    others count under filtered[SAMPLED_OUT]): ml-20m / ml-32m need ~1 KB per Record, so a
    quick run must not materialise 20M of them first. Bad lines inside the sample leave
    fewer than max_records records."""
    inter_raw, item_raw = _raw(spec, "interactions"), _raw(spec, "items")
    item_loc = found[item_raw.name]
    item_report = file_report(item_loc, item_raw)
    items = _movies_csv(item_loc, item_report, problems)

    located = found[inter_raw.name]
    report = file_report(located, inter_raw)
    header = read_header(located)
    if header.split(",")[:4] != ["userId", "movieId", "rating", "timestamp"]:
        raise DataError(
            f"{located}:1: header: expected userId,movieId,rating,timestamp, got {header!r}"
        )
    scale = spec.rating_scale
    records: list[Record] = []
    append = records.append
    chosen: set[int] | None = None
    if sample is not None:
        n_data = max(0, count_lines(located) - 1)
        if sample[0] < n_data:
            import random

            chosen = set(random.Random(sample[1]).sample(range(2, n_data + 2), sample[0]))
    for where, source, text in iter_lines(located, report, problems, skip_header=True):
        parts = text.split(",")
        try:
            if len(parts) != 4:
                raise BadLine("line", f"expected 4 comma-separated fields, got {len(parts)}")
            user, item, rating_text, time_text = parts
            if not user:
                raise BadLine("userId", "empty")
            if not item:
                raise BadLine("movieId", "empty")
            rating = rating_value(rating_text, "rating", scale)
            timestamp = int_value(time_text, "timestamp")
        except BadLine as bad:
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
            continue
        if chosen is not None and int(source.rsplit(":", 1)[1]) not in chosen:
            report.filtered[SAMPLED_OUT] = report.filtered.get(SAMPLED_OUT, 0) + 1
            continue
        meta = items.get(item)
        append(
            Record(
                user_id=user,
                item_id=item,
                rating=rating,
                timestamp=timestamp,
                title=meta["title"] if meta else "",
                source=source,
            )
        )
    report.kept = len(records)
    result = LoaderResult(records=records, files=[report, item_report], items=items)
    if chosen is not None:
        result.sampled = {
            "max_records": sample[0],
            "seed": sample[1],
            "kept": len(records),
            "by": "line",
        }
    return result


load_csv.line_sampling = True  # type: ignore[attr-defined]
