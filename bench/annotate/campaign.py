"""A campaign folder: built once from run folders, then opened by serve, invite and export.

Besides campaign.json and campaign.sqlite the folder may hold consent.md and instructions.md
(shown before the first item, Markdown rendered without raw HTML: bench.annotate.pages);
`create --consent/--instructions` copies them in, and they can be edited until serving.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.annotate.assignment import GOLD, PRACTICE, Policy
from bench.annotate.context import context_from_dataset, context_from_row
from bench.annotate.extra_items import read_extra_items
from bench.annotate.run_outputs import read_runs
from bench.annotate.sampling import draw_battles, draw_ratings
from bench.annotate.store import CampaignStore, now
from bench.annotate.tasks import TASKS, Task
from bench.api.errors import BenchError, DataError
from bench.api.run_folder import atomic_write_json

SCHEMA_VERSION = 2
META = "campaign.json"
DATABASE = "campaign.sqlite"
PAGES = ("consent", "instructions")  # <name>.md in the campaign folder, shown in this order
MAX_TEXT = 20_000  # characters of an explanation kept at create; the rest is cut (and counted)


@dataclass(frozen=True)
class Campaign:
    path: Path
    meta: dict[str, Any]

    @property
    def task(self) -> Task:
        return TASKS[self.meta["task"]]

    @property
    def store(self) -> CampaignStore:
        return CampaignStore(self.path / DATABASE, seed=int(self.meta["seed"]), policy=self.policy)

    @property
    def policy(self) -> Policy:
        return Policy.from_meta(self.meta.get("assignment"))

    @property
    def completion(self) -> dict[str, str | None]:
        """code (shown when done) and url (where the done page sends the annotator)."""
        info = self.meta.get("completion") or {}
        return {"code": info.get("code"), "url": info.get("url")}

    def page_text(self, name: str) -> str | None:
        """consent.md / instructions.md of the folder (None when absent or blank)."""
        path = self.path / f"{name}.md"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return text if text.strip() else None

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
    campaign = Campaign(folder, meta)
    campaign.store.migrate()  # a folder made by an older erbench gets the newer columns
    return campaign


def cap(text: str | None) -> tuple[str | None, int]:
    """(the text cut to MAX_TEXT characters, how many were cut)."""
    if text is None or len(text) <= MAX_TEXT:
        return text, 0
    return text[:MAX_TEXT] + " […]", len(text) - MAX_TEXT


def default_folder(task: str, run_ids: list[str], n: int, seed: int) -> Path:
    digest = hashlib.sha256(json.dumps([task, run_ids, n, seed]).encode()).hexdigest()[:8]
    return Path("campaigns") / f"{task}__n{n}__s{seed}__{digest}"


def _check_policy(task: Task, policy: Policy) -> None:
    if policy.per_item is not None and policy.per_item < 1:
        raise BenchError(f"--per-item must be at least 1, got {policy.per_item}")
    if policy.quota is not None and policy.quota < 1:
        raise BenchError(f"--quota must be at least 1, got {policy.quota}")
    if not 0 <= policy.gold_rate <= 1:
        raise BenchError(f"--gold-rate must be between 0 and 1, got {policy.gold_rate}")
    if policy.adaptive and task.name != "arena":
        raise BenchError("--adaptive is for arena campaigns (it picks model pairs)")


def create_campaign(
    task_name: str,
    run_paths: list[str],
    n: int,
    seed: int = 0,
    out: str | Path | None = None,
    with_data: bool = False,
    policy: Policy | None = None,
    practice: str | Path | None = None,
    gold: str | Path | None = None,
    pages: dict[str, str | Path] | None = None,
    completion: dict[str, str | None] | None = None,
) -> Campaign:
    """Sample the campaign's items from the runs with `seed` and write the folder."""
    if task_name not in TASKS:
        raise BenchError(f"unknown task {task_name!r}; choose from {', '.join(TASKS)}")
    task = TASKS[task_name]
    policy = policy or Policy()
    _check_policy(task, policy)
    if n < 1:
        raise BenchError(f"--n must be at least 1, got {n}")
    runs = read_runs(run_paths, at_least=task.runs_needed)
    if task is TASKS["coherence"]:
        for run in runs:  # eq. 8 compares the human's rating with the predicted one
            if not any(isinstance(r.get("rating"), (int, float)) for r in run.rows):
                raise BenchError(
                    f"{run.run_id} has no predicted rating (method {run.method!r}); a coherence "
                    "campaign compares the rating an explanation implies with the predicted one"
                )
    extra = [
        *(read_extra_items(practice, task, PRACTICE) if practice else []),
        *(read_extra_items(gold, task, GOLD) if gold else []),
    ]
    if policy.gold_rate > 0 and not any(e["kind"] == GOLD for e in extra):
        raise BenchError("--gold-rate needs gold items (--gold FILE.jsonl)")
    for name, source in (pages or {}).items():
        if name not in PAGES:
            raise BenchError(f"unknown page {name!r}; choose from {', '.join(PAGES)}")
        if not Path(source).is_file():
            raise BenchError(f"--{name} {source}: no such file")
    draws = (draw_battles if task is TASKS["arena"] else draw_ratings)(runs, n, seed)
    folder = Path(out) if out else default_folder(task.name, [r.run_id for r in runs], n, seed)
    if folder.exists() and any(folder.iterdir()):
        raise BenchError(f"{folder} exists and is not empty; choose another --out")
    from_data = context_from_dataset(runs[0].path) if with_data else {}

    items, cut = [], 0
    for number, draw in enumerate(draws):
        row = runs[0].rows[draw.position]
        key = (str(row["user_id"]), str(row["item_id"]))
        shown = [runs[r] for r in draw.runs]
        text_a, cut_a = cap(shown[0].explanation(draw.position))
        text_b, cut_b = cap(shown[1].explanation(draw.position) if len(shown) > 1 else None)
        cut += bool(cut_a) + bool(cut_b)
        items.append(
            {
                "id": number,
                "record_idx": int(row.get("idx", draw.position)),
                "user_id": key[0],
                "item_id": key[1],
                "context": {**context_from_row(row), **from_data.get(key, {})},
                "run_a": shown[0].run_id,
                "explanation_a": text_a,
                "run_b": shown[1].run_id if len(shown) > 1 else None,
                "explanation_b": text_b,
            }
        )
    for offset, item in enumerate(extra):
        item["explanation_a"], _ = cap(item["explanation_a"])
        item["explanation_b"], _ = cap(item["explanation_b"])
        items.append({**item, "id": len(draws) + offset})
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (pages or {}).items():
        (folder / f"{name}.md").write_text(
            Path(source).read_text(encoding="utf-8"), encoding="utf-8"
        )
    meta = {
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "n": n,
        "seed": seed,
        "created_at": now(),
        "context": "rows+dataset" if with_data else "rows",
        "records": {"digest": runs[0].records_digest, "n": len(runs[0].rows)},
        "runs": [{"run_id": r.run_id, "method": r.method, "path": str(r.path)} for r in runs],
        "assignment": policy.to_meta(),
        "extra_items": {k: sum(e["kind"] == k for e in extra) for k in (PRACTICE, GOLD)},
        "texts_cut": {"max_chars": MAX_TEXT, "explanations": cut},
        "completion": {k: v for k, v in (completion or {}).items() if v},
    }
    CampaignStore(folder / DATABASE, seed=seed, policy=policy).initialise(items)
    atomic_write_json(folder / META, meta)  # last: a folder without it is not a campaign
    return Campaign(folder, meta)


def invite(campaign: Campaign, count: int) -> list[tuple[str, str]]:
    """(annotator name, secret token) for `count` new annotators; tokens are shown only now."""
    if count < 1:
        raise BenchError(f"--annotators must be at least 1, got {count}")
    tokens = [new_token() for _ in range(count)]
    names = campaign.store.add_annotators(count, [token_digest(t) for t in tokens])
    return list(zip(names, tokens, strict=True))


def new_token() -> str:
    return secrets.token_urlsafe(24)


def reissue(campaign: Campaign, name: str) -> str:
    """A new secret link for annotator `name`; the old one stops working, answers stay."""
    token = new_token()
    try:
        campaign.store.replace_token(name, token_digest(token))
    except KeyError:
        raise BenchError(f"no annotator {name!r} in {campaign.path}") from None
    return token


def revoke(campaign: Campaign, name: str) -> None:
    try:
        campaign.store.revoke(name)
    except KeyError:
        raise BenchError(f"no annotator {name!r} in {campaign.path}") from None


def study_link(campaign: Campaign, platform: str) -> str:
    """A secret token for one link shared by a whole crowd study (bench.annotate.crowd)."""
    token = new_token()
    campaign.store.add_study_link(token_digest(token), platform)
    return token
