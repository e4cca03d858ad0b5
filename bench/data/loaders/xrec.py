"""XRec JSON-lines splits: uid, iid, title, user_summary, item_summary, explanation.

test.jsonl is required; train.jsonl / valid.jsonl are read when present (also under XRec's
short names tst/trn/val). Each record carries extras["split"] so the "given" protocol keeps
the file's split. The given profiles and explanation are the record's user_profile,
item_profile and reference_explanation; there are no ratings (rating / label stay None).
"""

from __future__ import annotations

import json

from bench.api.records import Record
from bench.data.loaders.common import BadLine, LoaderResult, file_report, iter_lines, req_str
from bench.data.report import Problems
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, Located

TEXT_FIELDS = ("title", "user_summary", "item_summary", "explanation")


def parse_xrec(obj: object, source: str, split: str) -> Record:
    if not isinstance(obj, dict):
        raise BadLine("json", f"expected an object, got {type(obj).__name__}")
    user = req_str(obj, "uid")
    item = req_str(obj, "iid")
    values = {}
    for key in TEXT_FIELDS:
        if key not in obj:
            raise BadLine(key, "missing")
        if not isinstance(obj[key], str):
            raise BadLine(key, f"expected a string, got {type(obj[key]).__name__}")
        values[key] = obj[key].strip()
    if not values["explanation"]:
        raise BadLine("explanation", "empty")
    return Record(
        user_id=user,
        item_id=item,
        title=values["title"],
        user_profile=values["user_summary"],
        item_profile=values["item_summary"],
        reference_explanation=values["explanation"],
        source=source,
        extras={"split": split},
    )


def load(
    spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig, problems: Problems
) -> LoaderResult:
    records: list[Record] = []
    files = []
    order = {"split:train": 0, "split:valid": 1, "split:test": 2}
    for raw in sorted(spec.files, key=lambda r: order.get(r.role, 9)):
        if raw.name not in found:
            continue
        split = raw.role.split(":", 1)[1]
        located = found[raw.name]
        report = file_report(located, raw)
        before = len(records)
        for where, source, text in iter_lines(located, report, problems):
            try:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise BadLine(
                        "json", f"not valid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                records.append(parse_xrec(obj, source, split))
            except BadLine as bad:
                report.bad += 1
                problems.add(where, bad.field, bad.reason)
        report.kept = len(records) - before
        files.append(report)
    items = {}
    for record in records:
        if record.title and record.item_id not in items:
            items[record.item_id] = {"title": record.title}
    return LoaderResult(records=records, files=files, items=items)
