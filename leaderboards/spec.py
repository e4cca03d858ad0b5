"""Table and figure specs: what a paper table or figure shows, read from specs/*.yaml.

A spec names rows (methods, optionally with config selectors), columns (a metric *family*
plus the official scorer checkpoint) and datasets. Four kinds:

- ``table``: rows x (dataset x column) cells, mean ± std over seeds, best bold / second
  underlined, paired-significance marks against a reference row.
- ``sweep``: a figure whose x axis is a config key (e.g. ``eval.mask_ratio``); every row is
  expanded into one virtual row per x value, so the same cell machinery fills it.
- ``curves``: a figure of values from the runs' ``train_log.jsonl`` (e.g. reward curves).
- ``arena``: pairwise battles between the rows' runs (AI judge and human votes), Bradley–Terry
  scores, win rates, pair tests and alignment with a teacher row (leaderboards.arena; settings
  under ``arena:``).

Only pyyaml and the standard library are imported here; no matplotlib, no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.metric_name import metric_name

SPEC_DIR = Path(__file__).parent / "specs"
PUBLISHED_DIR = Path(__file__).parent / "published"
KINDS = ("table", "sweep", "curves", "arena")
LAYOUTS = ("wide", "wide-by-metric", "blocks")
# Config keys a row must leave at their default unless its selector names them, whatever the
# spec: a masked-input robustness run never lands in a plain table row.
DEFAULT_AXES = ("eval.mask_ratio",)


class SpecError(BenchError):
    """A malformed spec file."""


@dataclass(frozen=True)
class ColumnSpec:
    id: str
    metric: str  # family (base name without the checkpoint), e.g. bertscore_f1
    checkpoint: str | None = None  # the official scorer checkpoint; None: a pure formula
    label: str = ""
    decimals: int = 4
    higher_is_better: bool | None = None  # None: take it from the stored rows
    group: str | None = None  # header above the label (e.g. "Explainability ↑")
    variant_of: str | None = None  # set on columns added for a non-official checkpoint

    @property
    def stored_name(self) -> str:
        return metric_name(self.metric, self.checkpoint)


@dataclass(frozen=True)
class RowSpec:
    id: str
    label: str
    method: str | None = None  # None: a published-only row (never run, never planned)
    sets: dict[str, Any] = field(default_factory=dict)  # selector: dotted key -> value
    published: str | None = None  # the row's label in the published data file
    group: str | None = None  # e.g. "Baseline", "Ours"
    x: tuple[str, Any] | None = None  # (axis key, value) for sweep figures' virtual rows
    base_id: str | None = None  # the spec row a virtual row came from
    na: tuple[str, ...] = ()  # column ids ("col" or "col@dataset") the method cannot produce: "n/a"

    @property
    def reproduced(self) -> bool:
        return self.method is not None

    def set_args(self) -> list[str]:
        """The selector as `--set key=value` expressions (values JSON, which YAML reads)."""
        return [f"{k}={json.dumps(v)}" for k, v in self.sets.items()]


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[Any, ...]
    label: str = ""


@dataclass(frozen=True)
class CurveSpec:
    label: str
    keys: tuple[str, ...]  # first key present in a train_log line wins
    stage: str | None = None


@dataclass
class Spec:
    name: str
    title: str
    kind: str = "table"
    source: str = ""
    datasets: list[str] = field(default_factory=list)
    dataset_labels: dict[str, str] = field(default_factory=dict)
    columns: list[ColumnSpec] = field(default_factory=list)
    rows: list[RowSpec] = field(default_factory=list)
    reference: str | None = None
    alpha: float = 0.05
    layout: str = "wide"
    rank: bool = True
    published_file: str | None = None
    seeds: int = 1
    axes: list[Axis] = field(default_factory=list)
    curves: list[CurveSpec] = field(default_factory=list)
    split: str = "test"
    notes: list[str] = field(default_factory=list)
    figure: dict[str, Any] = field(default_factory=dict)  # panel size (inches), dpi
    arena: dict[str, Any] = field(default_factory=dict)  # kind arena: leaderboards.arena settings
    path: Path | None = None

    # -- derived -------------------------------------------------------------------
    def with_selectors(self, sets: dict[str, Any]) -> Spec:
        """The spec with `sets` ({dotted key: value}, e.g. a sweep's --set) added to every run
        row's selectors (a row's own selector wins): the runs a `--set` sweep made are that
        sweep's rows, not the plain rows'."""
        if not sets:
            return self
        rows = [replace(r, sets={**sets, **r.sets}) if r.reproduced else r for r in self.rows]
        return replace(self, rows=rows)

    def dataset_label(self, dataset: str) -> str:
        return self.dataset_labels.get(dataset, dataset)

    def cell_rows(self) -> list[RowSpec]:
        """The rows cells are computed for: spec rows, or one per (row, axis value) for sweeps."""
        if self.kind != "sweep":
            return list(self.rows)
        out = []
        for axis in self.axes:
            for row in self.rows:
                if not row.reproduced:
                    continue
                for value in axis.values:
                    out.append(
                        replace(
                            row,
                            id=f"{row.id}@{axis.key}={value}",
                            label=f"{row.label}, {axis.label or axis.key}={value}",
                            sets={**row.sets, axis.key: value},
                            published=None,
                            x=(axis.key, value),
                            base_id=row.id,
                        )
                    )
        return out

    def axis_keys(self) -> list[str]:
        keys = list(DEFAULT_AXES)
        for row in self.cell_rows():
            keys.extend(k for k in row.sets if k not in keys)
        return keys

    def reproduced_rows(self) -> list[RowSpec]:
        return [r for r in self.cell_rows() if r.reproduced]

    def published_path(self) -> Path | None:
        if not self.published_file:
            return None
        path = Path(self.published_file)
        return path if path.is_absolute() else PUBLISHED_DIR / path


# -- loading ---------------------------------------------------------------------------------


def _need(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise SpecError(f"{where}: missing required key {key!r}")
    return data[key]


# fields a spec file does not write (derived or filled in by the code), and yaml names that differ
NOT_IN_YAML = {"path", "variant_of", "x", "base_id", "sets"}
YAML_NAMES = {"sets": "set"}


def yaml_keys(cls: type) -> set[str]:
    """The keys a spec file may give for `cls`: its dataclass fields, named as the yaml names them."""
    names = {f.name for f in fields(cls)}
    return {n for n in names if n not in NOT_IN_YAML} | {YAML_NAMES[n] for n in names if n in YAML_NAMES}


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _flat_sets(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: `set` must map dotted config keys to values")
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = node

    walk("", raw)
    return out


def spec_from_dict(data: dict[str, Any], path: Path | None = None) -> Spec:
    where = str(path) if path else "spec"
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a spec is a mapping")
    _check_keys(data, yaml_keys(Spec), where)
    kind = data.get("kind", "table")
    if kind not in KINDS:
        raise SpecError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    layout = data.get("layout", "wide")
    if layout not in LAYOUTS:
        raise SpecError(f"{where}: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")

    columns = []
    for i, raw in enumerate(data.get("columns") or []):
        cw = f"{where}: columns[{i}]"
        _check_keys(raw, yaml_keys(ColumnSpec), cw)
        metric = str(_need(raw, "metric", cw))
        ck = raw.get("checkpoint")
        columns.append(
            ColumnSpec(
                id=str(raw.get("id") or metric_name(metric, ck)),
                metric=metric,
                checkpoint=None if ck is None else str(ck),
                label=str(raw.get("label") or metric),
                decimals=int(raw.get("decimals", 4)),
                higher_is_better=raw.get("higher_is_better"),
                group=raw.get("group"),
            )
        )
    rows = []
    for i, raw in enumerate(data.get("rows") or []):
        rw = f"{where}: rows[{i}]"
        _check_keys(raw, yaml_keys(RowSpec), rw)
        method = raw.get("method")
        published = raw.get("published")
        if method is None and published is None:
            raise SpecError(f"{rw}: a row needs a method, a published label, or both")
        label = str(raw.get("label") or method or published)
        rows.append(
            RowSpec(
                id=str(raw.get("id") or method or published),
                label=label,
                method=method,
                sets=_flat_sets(raw.get("set"), rw),
                published=published,
                group=raw.get("group"),
                na=tuple(raw.get("na") or ()),
            )
        )
    axes = []
    for i, raw in enumerate(data.get("axes") or []):
        aw = f"{where}: axes[{i}]"
        _check_keys(raw, yaml_keys(Axis), aw)
        axes.append(
            Axis(
                str(_need(raw, "key", aw)),
                tuple(_need(raw, "values", aw)),
                str(raw.get("label") or raw["key"]),
            )
        )
    curves = []
    for i, raw in enumerate(data.get("curves") or []):
        cw = f"{where}: curves[{i}]"
        _check_keys(raw, yaml_keys(CurveSpec), cw)
        keys = raw.get("keys") or []
        curves.append(
            CurveSpec(
                str(_need(raw, "label", cw)),
                tuple(keys if isinstance(keys, list) else [keys]),
                raw.get("stage"),
            )
        )

    spec = Spec(
        name=str(_need(data, "name", where)),
        title=str(data.get("title") or data["name"]),
        kind=kind,
        source=str(data.get("source") or ""),
        datasets=list(_need(data, "datasets", where)),
        dataset_labels=dict(data.get("dataset_labels") or {}),
        columns=columns,
        rows=rows,
        reference=data.get("reference"),
        alpha=float(data.get("alpha", 0.05)),
        layout=layout,
        rank=bool(data.get("rank", kind == "table")),
        published_file=data.get("published_file"),
        seeds=int(data.get("seeds", 1)),
        axes=axes,
        curves=curves,
        split=str(data.get("split", "test")),
        notes=list(data.get("notes") or []),
        figure=dict(data.get("figure") or {}),
        arena=dict(data.get("arena") or {}),
        path=path,
    )
    validate(spec)
    return spec


def validate(spec: Spec) -> None:
    where = str(spec.path or spec.name)
    if not spec.rows:
        raise SpecError(f"{where}: no rows")
    ids = [r.id for r in spec.rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SpecError(f"{where}: duplicate row id(s) {', '.join(dup)}")
    cids = [c.id for c in spec.columns]
    dup = sorted({i for i in cids if cids.count(i) > 1})
    if dup:
        raise SpecError(f"{where}: duplicate column id(s) {', '.join(dup)}")
    if spec.kind in ("table", "sweep") and not spec.columns:
        raise SpecError(f"{where}: a {spec.kind} spec needs columns")
    if spec.kind == "sweep" and not spec.axes:
        raise SpecError(f"{where}: a sweep spec needs axes (config key + values)")
    if spec.kind == "curves" and not spec.curves:
        raise SpecError(f"{where}: a curves spec needs curves")
    col_ids = set(cids)
    for row in spec.rows:
        bad = sorted({na.split("@")[0] for na in row.na} - col_ids)
        if bad:
            raise SpecError(
                f"{where}: row {row.id!r}: `na` names unknown column(s) {', '.join(bad)}"
            )
    if spec.reference is not None:
        ref = next((r for r in spec.rows if r.id == spec.reference), None)
        if ref is None or not ref.reproduced:
            raise SpecError(
                f"{where}: reference {spec.reference!r} must be the id of a row with a method"
            )
    # Two rows that select the same runs would put one run in two cells.
    seen: dict[tuple[str, str], str] = {}
    for row in spec.cell_rows():
        if not row.reproduced:
            continue
        key = (row.method or "", json.dumps(sorted(row.sets.items()), default=str))
        if key in seen:
            raise SpecError(f"{where}: rows {seen[key]!r} and {row.id!r} select the same runs")
        seen[key] = row.id


def load_spec_file(path: str | Path) -> Spec:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    return spec_from_dict(data, path)


@dataclass
class SpecRef:
    """A registry entry for a spec file; parsed on first use so `bench ls tables` stays cheap."""

    path: Path
    _spec: Spec | None = None

    def load(self) -> Spec:
        if self._spec is None:
            self._spec = load_spec_file(self.path)
        return self._spec


def as_spec(obj: Any) -> Spec:
    """A Spec from whatever a TABLES entry holds: Spec, SpecRef, mapping, or a yaml path."""
    if isinstance(obj, Spec):
        return obj
    if isinstance(obj, SpecRef):
        return obj.load()
    if isinstance(obj, dict):
        return spec_from_dict(obj)
    if isinstance(obj, (str, Path)) and str(obj).endswith((".yaml", ".yml")):
        return load_spec_file(obj)
    if callable(obj):
        return as_spec(obj())
    raise SpecError(f"cannot read a table spec from {obj!r}")


def quick_title(path: Path) -> str:
    """The `title:` line of a spec file without parsing YAML (for `bench ls tables`)."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("title:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return ""
