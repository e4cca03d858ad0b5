"""A campaign folder: built once from run folders, then opened by serve, invite and export."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.annotate.context import context_from_dataset, context_from_row
from bench.annotate.run_outputs import read_runs
from bench.annotate.sampling import draw_battles, draw_ratings
from bench.annotate.store import CampaignStore, now
from bench.annotate.tasks import TASKS, Task
from bench.errors import BenchError, DataError
from bench.rundir import atomic_write_json

SCHEMA_VERSION = 1
META = "campaign.json"
DATABASE = "campaign.sqlite"


@dataclass(frozen=True)
class Campaign:
    path: Path
    meta: dict[str, Any]

    @property
    def task(self) -> Task:
        return TASKS[self.meta["task"]]

    @property
    def store(self) -> CampaignStore:
        return CampaignStore(self.path / DATABASE, seed=int(self.meta["seed"]))

    @property
    def methods(self) -> dict[str, str]:
        """run id -> method name."""
        return {r["run_id"]: r["method"] for r in self.meta["runs"]}


def token_digest(token: str) -> str:
    """Only this digest is stored: a copied database does not give away the links."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_campaign(path: str | Path) -> Campaign:
    folder = Path(path)
    meta_path = folder / META
    if not meta_path.exists() or not (folder / DATABASE).exists():
        raise BenchError(f"{folder} is not a campaign folder (no {META} and {DATABASE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{meta_path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if meta.get("task") not in TASKS:
        raise DataError(f"{meta_path}: unknown task {meta.get('task')!r}")
    return Campaign(folder, meta)


def default_folder(task: str, run_ids: list[str], n: int, seed: int) -> Path:
    digest = hashlib.sha256(json.dumps([task, run_ids, n, seed]).encode()).hexdigest()[:8]
    return Path("campaigns") / f"{task}__n{n}__s{seed}__{digest}"


def create_campaign(
    task_name: str,
    run_paths: list[str],
    n: int,
    seed: int = 0,
    out: str | Path | None = None,
    with_data: bool = False,
) -> Campaign:
    """Sample the campaign's items from the runs with `seed` and write the folder."""
    if task_name not in TASKS:
        raise BenchError(f"unknown task {task_name!r}; choose from {', '.join(TASKS)}")
    task = TASKS[task_name]
    if n < 1:
        raise BenchError(f"--n must be at least 1, got {n}")
    runs = read_runs(run_paths, at_least=task.runs_needed)
    draws = (draw_battles if task is TASKS["arena"] else draw_ratings)(runs, n, seed)
    folder = Path(out) if out else default_folder(task.name, [r.run_id for r in runs], n, seed)
    if folder.exists() and any(folder.iterdir()):
        raise BenchError(f"{folder} exists and is not empty; choose another --out")
    from_data = context_from_dataset(runs[0].path) if with_data else {}

    items = []
    for number, draw in enumerate(draws):
        row = runs[0].rows[draw.position]
        key = (str(row["user_id"]), str(row["item_id"]))
        shown = [runs[r] for r in draw.runs]
        items.append(
            {
                "id": number,
                "record_idx": int(row.get("idx", draw.position)),
                "user_id": key[0],
                "item_id": key[1],
                "context": {**context_from_row(row), **from_data.get(key, {})},
                "run_a": shown[0].run_id,
                "explanation_a": shown[0].explanation(draw.position),
                "run_b": shown[1].run_id if len(shown) > 1 else None,
                "explanation_b": shown[1].explanation(draw.position) if len(shown) > 1 else None,
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "n": n,
        "seed": seed,
        "created_at": now(),
        "context": "rows+dataset" if with_data else "rows",
        "records": {"digest": runs[0].records_digest, "n": len(runs[0].rows)},
        "runs": [{"run_id": r.run_id, "method": r.method, "path": str(r.path)} for r in runs],
    }
    CampaignStore(folder / DATABASE, seed=seed).initialise(items)
    atomic_write_json(folder / META, meta)  # last: a folder without it is not a campaign
    return Campaign(folder, meta)


def invite(campaign: Campaign, count: int) -> list[tuple[str, str]]:
    """(annotator name, secret token) for `count` new annotators; tokens are shown only now."""
    if count < 1:
        raise BenchError(f"--annotators must be at least 1, got {count}")
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    names = campaign.store.add_annotators(count, [token_digest(t) for t in tokens])
    return list(zip(names, tokens, strict=True))
