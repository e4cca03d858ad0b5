"""A dataset: user<TAB>item<TAB>rating lines in <data dir>/toy-ratings/ratings.tsv, read by the
plugin's own loader (registered under `bench.loaders` as tsv-ratings)."""

from __future__ import annotations

from bench.api.records import Record
from bench.data.loaders.common import BadLine, LoaderResult, file_report, iter_lines
from bench.data.report import Problems
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, Located, RawFile

SPEC = DatasetSpec(
    name="toy-ratings",
    summary="toy user-item ratings (erbench-example plugin)",
    loader="tsv-ratings",
    subdir="toy-ratings",
    files=(RawFile("ratings.tsv", "interactions"),),
    url="(written by hand: user<TAB>item<TAB>rating per line)",
    has_reviews=False,
    aliases=("toy",),
)


def parse(text: str, source: str) -> Record:
    fields = text.rstrip("\n").split("\t")
    if len(fields) != 3:
        raise BadLine("line", f"expected 3 tab-separated fields, got {len(fields)}")
    try:
        rating = float(fields[2])
    except ValueError:
        raise BadLine("rating", f"not a number: {fields[2]!r}") from None
    return Record(user_id=fields[0], item_id=fields[1], rating=rating, source=source)


def load(spec: DatasetSpec, found: dict[str, Located], cfg: DataConfig, problems: Problems) -> LoaderResult:
    (raw,) = spec.files
    located = found[raw.name]
    report = file_report(located, raw)
    records = []
    for where, source, text in iter_lines(located, report, problems):
        try:
            records.append(parse(text, source))
        except BadLine as bad:  # reported with file:line, counted, never dropped silently
            report.bad += 1
            problems.add(where, bad.field, bad.reason)
    report.kept = len(records)
    return LoaderResult(records=records, files=[report])
