"""Book-Crossing (Ziegler et al. 2005) CSV dump.

BX-Book-Ratings.csv: "User-ID";"ISBN";"Book-Rating"       (0 = implicit, 1-10 explicit)
BX-Books.csv:        "ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";
                     "Image-URL-S";"Image-URL-M";"Image-URL-L"
BX-Users.csv:        "User-ID";"Location";"Age"           (Age may be NULL; optional file)
';'-separated, every field quoted, backslash-escaped quotes inside titles (\\"). Each line
is decoded as UTF-8 when it is valid UTF-8 (re-encoded mirrors), else as Windows-1252 /
latin-1 (the original dump); HTML entities in titles are unescaped.

Rating 0 (implicit interaction): data.implicit_ratings = "drop" counts it under
filtered["implicit rating 0"]; "keep" keeps it with rating None (label None) and
extras["implicit"] = True. No timestamps exist: Record.timestamp = 0, so time-ordered
protocols fall back to the seeded tie-break (see bench.data.splits).
"""

from __future__ import annotations

import html
from typing import Any

from bench.api.errors import DataError
from bench.api.records import Record
from bench.data.loaders.common import (
    BadLine,
    LoaderResult,
    file_report,
    int_value,
    iter_lines,
    read_header,
)
from bench.data.report import FileReport, Problems
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, Located, RawFile

HEADERS = {
    "interactions": ["User-ID", "ISBN", "Book-Rating"],
    "items": ["ISBN", "Book-Title", "Book-Author", "Year-Of-Publication", "Publisher"],
    "users": ["User-ID", "Location", "Age"],
}
WIDTH = {"interactions": 3, "items": 8, "users": 3}
IMPLICIT = "implicit rating 0"


def split_bx(text: str) -> list[str]:
    """Split one ';'-separated line whose fields are quoted (or bare, like NULL).

    A quote closes a field only when followed by ';' or the end of the line, which copes
    with the dump's backslash-escaped quotes (a title ending in `\\"`); `\\"` inside a
    field becomes `"`, a trailing backslash is dropped.
    """
    fields: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            j = i + 1
            while True:
                k = text.find('"', j)
                if k == -1:
                    raise BadLine("line", f"unterminated quote in field {len(fields) + 1}")
                if k + 1 == n or text[k + 1] == ";":
                    break
                j = k + 1
            value = text[i + 1 : k].replace('\\"', '"').rstrip("\\")
            fields.append(value)
            i = k + 1
        else:
            k = text.find(";", i)
            k = n if k == -1 else k
            fields.append(text[i:k])
            i = k
        if i >= n:
            return fields
        i += 1  # the ';'
        if i == n:
            fields.append("")
            return fields


def _fields(text: str, width: int) -> list[str]:
    parts = split_bx(text.strip())
    if len(parts) != width:
        raise BadLine("line", f"expected {width} ';'-separated fields, got {len(parts)}")
    return [p.strip() for p in parts]


def _check_header(located: Located, role: str) -> None:
    header = read_header(located, "latin-1")
    names = [h.strip().strip('"') for h in header.split(";")]
    expected = HEADERS[role]
    if names[: len(expected)] != expected:
        raise DataError(f"{located}:1: header: expected {';'.join(expected)}, got {header!r}")


def _rows(located: Located, raw: RawFile, problems: Problems):  # noqa: ANN202
    report = file_report(located, raw)
    _check_header(located, raw.role)

    def generator():  # noqa: ANN202
        yield from iter_lines(
            located, report, problems, encoding="utf-8", fallback="cp1252", skip_header=True
        )

    return report, generator()


def _bad(report: FileReport, problems: Problems, where: str, bad: BadLine) -> None:
    report.bad += 1
    problems.add(where, bad.field, bad.reason)


def load(
    spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig, problems: Problems
) -> LoaderResult:
    raws = {r.role: r for r in spec.files}
    implicit = getattr(cfg, "implicit_ratings", "drop")
    if implicit not in ("drop", "keep"):
        raise DataError(f"data.implicit_ratings must be 'drop' or 'keep', got {implicit!r}")
    scale = spec.rating_scale or (1.0, 10.0)

    # ratings first: books/users are kept only when rated
    rating_loc = found[raws["interactions"].name]
    report, rows = _rows(rating_loc, raws["interactions"], problems)
    records: list[Record] = []
    for where, source, text in rows:
        try:
            user, isbn, value = _fields(text, 3)
            if not user:
                raise BadLine("User-ID", "empty")
            if not isbn:
                raise BadLine("ISBN", "empty")
            rating = int_value(value, "Book-Rating")
            if rating != 0 and not scale[0] <= rating <= scale[1]:
                raise BadLine(
                    "Book-Rating",
                    f"rating {rating} outside 0 (implicit) or {scale[0]:g}..{scale[1]:g}",
                )
            if rating < 0:
                raise BadLine("Book-Rating", f"rating {rating} is negative")
        except BadLine as bad:
            _bad(report, problems, where, bad)
            continue
        if rating == 0:
            if implicit == "drop":
                report.filtered[IMPLICIT] = report.filtered.get(IMPLICIT, 0) + 1
                continue
            records.append(Record(user_id=user, item_id=isbn, rating=None, source=source,
                                  extras={"implicit": True}))  # fmt: skip
        else:
            records.append(Record(user_id=user, item_id=isbn, rating=float(rating), source=source))
    report.kept = len(records)
    files = [report]

    wanted_items = {r.item_id for r in records}
    items: dict[str, dict[str, Any]] = {}
    book_loc = found[raws["items"].name]
    book_report, rows = _rows(book_loc, raws["items"], problems)
    for where, _source, text in rows:
        try:
            parts = _fields(text, 8)
            isbn, title, author, year, publisher = parts[:5]
            if not isbn:
                raise BadLine("ISBN", "empty")
            if not title:
                raise BadLine("Book-Title", "empty")
        except BadLine as bad:
            _bad(book_report, problems, where, bad)
            continue
        if isbn not in wanted_items:
            book_report.filtered["book without ratings"] = (
                book_report.filtered.get("book without ratings", 0) + 1
            )
            continue
        items[isbn] = {
            "title": html.unescape(title),
            "author": html.unescape(author),
            "year": year if year not in ("", "0") else "",
            "publisher": html.unescape(publisher),
        }
        book_report.kept += 1
    files.append(book_report)
    for record in records:
        meta = items.get(record.item_id)
        if meta:
            record.title = meta["title"]

    users: dict[str, dict[str, Any]] = {}
    if "users" in raws and raws["users"].name in found:
        wanted_users = {r.user_id for r in records}
        user_report, rows = _rows(found[raws["users"].name], raws["users"], problems)
        for where, _source, text in rows:
            try:
                user, location, age_text = _fields(text, 3)
                if not user:
                    raise BadLine("User-ID", "empty")
                age = None if age_text in ("", "NULL") else int_value(age_text, "Age")
            except BadLine as bad:
                _bad(user_report, problems, where, bad)
                continue
            if user not in wanted_users:
                user_report.filtered["user without ratings"] = (
                    user_report.filtered.get("user without ratings", 0) + 1
                )
                continue
            users[user] = {"location": html.unescape(location), "age": age}
            user_report.kept += 1
        files.append(user_report)
    return LoaderResult(records=records, files=files, items=items, users=users)
