"""Amazon review files, 2014 and 2018 layouts, with optional metadata.

Reviews (one JSON object per line):
  2014: reviewerID, asin, reviewerName, helpful [up, total], reviewText, overall,
        summary, unixReviewTime, reviewTime
  2018: the same core fields plus `vote` ("1,234"), `style` {..}, `image` [urls],
        `verified`; reviewText / summary may be absent.
Required: reviewerID, asin, overall (within the spec's rating scale), unixReviewTime, and
at least one of reviewText / summary non-empty ("empty text" otherwise).

Metadata (optional): 2014 meta lines are Python literals (single quotes) and are read with
ast.literal_eval, which accepts literals only: an expression such as
`__import__('os').system(...)` is a bad line, never executed. 2018 meta lines are JSON.
Each line is tried as JSON first, then as a literal. Only metadata of reviewed items is
kept (the rest is counted under filtered["item without reviews"]).
"""

from __future__ import annotations

import ast
import html
import json
from typing import Any

from bench.api.records import Record
from bench.data.loaders.common import (
    BadLine,
    LoaderResult,
    file_report,
    int_value,
    iter_lines,
    opt_str,
    rating_value,
    req_str,
)
from bench.data.report import Problems
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, Located

MAX_META_LINE = 2_000_000  # characters; longer literal lines are refused, not parsed


def parse_review(obj: Any, source: str, scale: tuple[float, float] | None) -> Record:
    if not isinstance(obj, dict):
        raise BadLine("json", f"expected an object, got {type(obj).__name__}")
    user = req_str(obj, "reviewerID")
    item = req_str(obj, "asin")
    if "overall" not in obj:
        raise BadLine("overall", "missing")
    rating = rating_value(obj["overall"], "overall", scale)
    if "unixReviewTime" not in obj:
        raise BadLine("unixReviewTime", "missing")
    timestamp = int_value(obj["unixReviewTime"], "unixReviewTime")
    review = opt_str(obj, "reviewText")
    summary = opt_str(obj, "summary")
    if not review.strip() and not summary.strip():
        raise BadLine("reviewText", "empty review text and summary")
    extras: dict[str, Any] = {}
    if "helpful" in obj:
        helpful = obj["helpful"]
        if not (
            isinstance(helpful, list)
            and len(helpful) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in helpful)
        ):
            raise BadLine("helpful", f"expected [up, total], got {helpful!r}"[:120])
        extras["helpful"] = helpful
    # 2018 fields
    if "vote" in obj:
        vote = obj["vote"]
        if isinstance(vote, str):
            vote = vote.replace(",", "")
        extras["vote"] = int_value(vote, "vote")
    if "style" in obj:
        style = obj["style"]
        if not isinstance(style, dict):
            raise BadLine("style", f"expected an object, got {type(style).__name__}")
        extras["style"] = {str(k).rstrip(":").strip(): str(v).strip() for k, v in style.items()}
    if "image" in obj:
        images = obj["image"]
        if not isinstance(images, list) or not all(isinstance(u, str) for u in images):
            raise BadLine("image", "expected a list of URLs")
        extras["n_images"] = len(images)
    if "verified" in obj:
        if not isinstance(obj["verified"], bool):
            raise BadLine("verified", "expected true/false")
        extras["verified"] = obj["verified"]
    return Record(
        user_id=user,
        item_id=item,
        rating=rating,
        review=review.strip(),
        summary=summary.strip(),
        timestamp=timestamp,
        source=source,
        extras=extras,
    )


def parse_meta_line(text: str) -> dict[str, Any]:
    """JSON object, else a Python literal dict (never eval)."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        if len(text) > MAX_META_LINE:
            raise BadLine("line", f"longer than {MAX_META_LINE} characters") from None
        try:
            obj = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            reason = str(exc).splitlines()[0][:80] if str(exc) else ""
            raise BadLine(
                "line", f"not a JSON object or Python literal ({type(exc).__name__}: {reason})"
            ) from None
    if not isinstance(obj, dict):
        raise BadLine("line", f"expected an object, got {type(obj).__name__}")
    return obj


def meta_entry(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    asin = req_str(obj, "asin")
    title = obj.get("title", "")
    if title is None:
        title = ""
    if not isinstance(title, str):
        raise BadLine("title", f"expected a string, got {type(title).__name__}")
    categories: list[str] = []
    raw_cats = obj.get("categories", obj.get("category"))
    if raw_cats is not None:
        if not isinstance(raw_cats, list):
            raise BadLine("categories", "expected a list")
        for entry in raw_cats:
            if isinstance(entry, list):  # 2014: [[path], [path]]
                categories.extend(str(c) for c in entry)
            else:
                categories.append(str(entry))
    seen: set[str] = set()
    cats = [c for c in categories if not (c in seen or seen.add(c))]
    entry = {"title": html.unescape(title).strip(), "categories": cats}
    brand = obj.get("brand")
    if isinstance(brand, str) and brand.strip():
        entry["brand"] = brand.strip()
    return asin, entry


def load(
    spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig, problems: Problems
) -> LoaderResult:
    raws = {raw.name: raw for raw in spec.files}
    reviews_raw = next(r for r in spec.files if r.role == "interactions")
    located = found[reviews_raw.name]
    report = file_report(located, reviews_raw)
    records: list[Record] = []
    for where, source, text in iter_lines(located, report, problems):
        try:
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadLine("json", f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            except RecursionError:
                raise BadLine("json", "nested too deeply") from None
            records.append(parse_review(obj, source, spec.rating_scale))
        except BadLine as bad:
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
    report.kept = len(records)
    files = [report]

    items: dict[str, dict[str, Any]] = {}
    meta_raw = next((r for r in spec.files if r.role == "meta"), None)
    if meta_raw is not None and meta_raw.name in found:
        wanted = {r.item_id for r in records}
        meta_loc = found[meta_raw.name]
        meta_report = file_report(meta_loc, raws[meta_raw.name])
        for where, _source, text in iter_lines(meta_loc, meta_report, problems):
            try:
                asin, entry = meta_entry(parse_meta_line(text))
            except BadLine as bad:
                meta_report.bad += 1
                problems.add(where, bad.field, bad.reason)
                continue
            if asin in wanted:
                items[asin] = entry
                meta_report.kept += 1
            else:
                meta_report.filtered["item without reviews"] = (
                    meta_report.filtered.get("item without reviews", 0) + 1
                )
        files.append(meta_report)
        for record in records:
            meta = items.get(record.item_id)
            if meta:
                record.title = meta["title"]
    return LoaderResult(records=records, files=files, items=items)
