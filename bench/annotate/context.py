"""What an arena page shows about a (user, item) beside the explanations.

Always the user and item ids; the item title, user/item profiles and the user's liked /
disliked history where the prediction rows carry them (top level or `extras`), or, with
`--with-data`, from the run's dataset (its test records, whose profiles are built from the
train split only, bench.data.profiles). Truths a method is scored on (rating, reference
explanation, label) are never part of the context.
"""

from __future__ import annotations

from typing import Any

TEXT_FIELDS = ("title", "user_profile", "item_profile")
LIST_FIELDS = ("history_liked", "history_disliked")
ALIASES = {"item_title": "title"}  # names some methods use in their extras


def _clean(field: str, value: Any) -> Any:
    if field in LIST_FIELDS:
        if not isinstance(value, (list, tuple)):
            return None
        items = [str(v).strip() for v in value if str(v).strip()]
        return items or None
    if value is None:
        return None
    return str(value).strip() or None


def context_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The context fields a predictions.jsonl row carries (top level wins over extras)."""
    out: dict[str, Any] = {}
    extras = row.get("extras") if isinstance(row.get("extras"), dict) else {}
    for source in (extras, row):
        for key, value in source.items():
            field = ALIASES.get(key, key)
            if field in TEXT_FIELDS + LIST_FIELDS:
                cleaned = _clean(field, value)
                if cleaned:
                    out[field] = cleaned
    return out


def context_from_dataset(run_dir: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(user_id, item_id) -> context of the run's test records, loading its dataset exactly
    as the run did (config.resolved.yaml: dataset, data settings, seed)."""
    from pathlib import Path

    from bench import data as data_layer
    from bench.api.errors import BenchError
    from bench.api.run_folder import RunFolder
    from bench.config import RunConfig, build_dataclass

    folder = RunFolder(Path(run_dir))
    if not folder.config.exists():
        raise BenchError(f"{run_dir} has no {folder.config.name}; --with-data needs it")
    cfg = build_dataclass(RunConfig, folder.read_config())
    loaded = data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed)
    splits = data_layer.make_splits(loaded, cfg.data, cfg.seed)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for record in splits.test:
        fields = {f: _clean(f, getattr(record, f, None)) for f in TEXT_FIELDS + LIST_FIELDS}
        out[(record.user_id, record.item_id)] = {k: v for k, v in fields.items() if v}
    return out
