"""A deterministic multi-stage test method for the randomized kill campaign (registered in tests
only: `register()`): three stages, each training a small real biased-MF model for `epochs`
full-batch Adam steps from the previous stage's weights, logging every step and saving its
checkpoint as .npy files (byte-deterministic, unlike np.savez's zip timestamps).

`ERBENCH_TOY_KILL_AT=<stage>:<step>` or `predict` kills the process with SIGKILL at that event,
so a test can stop a run at an exact point inside a stage, between stages or in predict.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits

NAME = "staged-toy"
STAGES = ("s1_warmup", "s2_factors", "s3_finetune")
KILL_ENV = "ERBENCH_TOY_KILL_AT"
ARRAYS = ("mu", "bu", "bi", "pu", "qi")


@dataclass
class Params:
    epochs: int = 40  # full-batch steps per stage
    factors: int = 4
    lr: float = 0.05


def _maybe_die(event: str) -> None:
    if os.environ.get(KILL_ENV) == event:
        os.kill(os.getpid(), signal.SIGKILL)


class StagedToy(Method):
    """Biased MF trained in three stages (biases, then factors, then all at a lower lr)."""

    produces = frozenset({"rating"})
    Params = Params

    def fit(self, splits: Splits) -> None:
        train = [r for r in splits.train if r.rating is not None]
        self.users = {u: k for k, u in enumerate(sorted({r.user_id for r in train}))}
        self.items = {i: k for k, i in enumerate(sorted({r.item_id for r in train}))}
        self.state: dict[str, np.ndarray] = {}
        for number, name in enumerate(STAGES):
            self.run.stage(name, lambda d, n=number, s=name: self._train(train, s, n, d), self._load)
            _maybe_die(f"after:{name}")

    def _train(self, train: list[Record], stage: str, number: int, stage_dir: Path) -> None:
        import torch

        p: Params = self.params  # type: ignore[assignment]
        gen = torch.Generator().manual_seed(self.run.seed)
        n_u, n_i = len(self.users), len(self.items)
        if self.state:
            start = {k: torch.tensor(v) for k, v in self.state.items()}
        else:
            start = {"mu": torch.tensor(float(np.mean([r.rating for r in train]))),
                     "bu": torch.zeros(n_u), "bi": torch.zeros(n_i),
                     "pu": 0.1 * torch.randn(n_u, p.factors, generator=gen),
                     "qi": 0.1 * torch.randn(n_i, p.factors, generator=gen)}  # fmt: skip
        params = {k: v.clone().requires_grad_(k != "mu") for k, v in start.items()}
        trained = [params[k] for k in (("bu", "bi"), ("pu", "qi"), ("bu", "bi", "pu", "qi"))[number]]
        opt = torch.optim.Adam(trained, lr=p.lr / (1 + number))
        u = torch.tensor([self.users[r.user_id] for r in train])
        i = torch.tensor([self.items[r.item_id] for r in train])
        y = torch.tensor([r.rating for r in train], dtype=torch.float32)
        for step in range(p.epochs):
            _maybe_die(f"{stage}:{step}")
            opt.zero_grad()
            pred = params["mu"] + params["bu"].index_select(0, u) + params["bi"].index_select(0, i) + (
                params["pu"].index_select(0, u) * params["qi"].index_select(0, i)).sum(1)  # fmt: skip
            loss = ((pred - y) ** 2).mean()
            loss.backward()
            opt.step()
            self.run.log(stage, step, loss=round(loss.item(), 10))
        self.state = {k: v.detach().numpy().copy() for k, v in params.items()}
        for key in ARRAYS:
            np.save(stage_dir / f"{key}.npy", self.state[key], allow_pickle=False)

    def _load(self, stage_dir: Path) -> None:
        self.state = {k: np.load(stage_dir / f"{k}.npy", allow_pickle=False) for k in ARRAYS}

    def predict(self, records: list[Record]) -> list[Prediction]:
        _maybe_die("predict")
        s = self.state
        out = []
        for r in records:
            value = float(s["mu"])
            u, i = self.users.get(r.user_id), self.items.get(r.item_id)
            value += float(s["bu"][u]) if u is not None else 0.0
            value += float(s["bi"][i]) if i is not None else 0.0
            if u is not None and i is not None:
                value += float(np.dot(s["pu"][u], s["qi"][i]))
            out.append(Prediction(rating=min(max(value, 1.0), 5.0)))
        return out


DATASET = "toy-reviews"
REVIEWS = "reviews_Toy_5.json.gz"


def register() -> None:
    """The method and a one-file Amazon-format dataset without a recorded digest."""
    from bench.api.registry import DATASETS, METHODS
    from bench.data.spec import DatasetSpec, RawFile

    if NAME not in METHODS.names():
        METHODS.register(NAME, "tests.staged_toy:StagedToy", summary="test-only staged method")
    if DATASET not in DATASETS.names():
        spec = DatasetSpec(name=DATASET, summary="test", loader="amazon", subdir="toy",
                           files=(RawFile(REVIEWS, "interactions"),), url="tests/staged_toy.py")  # fmt: skip
        DATASETS.register(DATASET, spec, summary="test")


def write_reviews(data_dir: Path, n: int = 900, seed: int = 0) -> Path:
    """A deterministic Amazon-format reviews file for DATASET: n ratings of 60 users x 40 items."""
    import gzip
    import json
    import random

    rng = random.Random(seed)
    lines = []
    for k in range(n):
        u, i = rng.randrange(60), rng.randrange(40)
        lines.append(json.dumps({"reviewerID": f"U{u}", "asin": f"I{i}", "overall": float(1 + (u * 7 + i * 3) % 5),
                                 "reviewText": f"review {k} about item {i}", "summary": "ok",
                                 "unixReviewTime": 1400000000 + k}))  # fmt: skip
    path = data_dir / "toy" / REVIEWS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path


def _install_kill_points() -> None:
    """Kill points outside the method: `replace:<file name>` dies just before an atomic write
    renames its temp file over <file name>; `score` dies inside the metric suite; `store` dies
    inside the results-store transaction, after its inserts, before its commit."""
    event = os.environ.get(KILL_ENV, "")
    if event.startswith("replace:"):
        real_replace, name = os.replace, event.split(":", 1)[1]

        def replace(src, dst, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            if Path(dst).name == name:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_replace(src, dst, *a, **kw)

        os.replace = replace
    elif event == "score":
        import metrics.suite as suite

        real_score = suite.score_rows

        def score_rows(rows, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            real_score(rows[: len(rows) // 2], *a, **kw)  # half the work, then the kill
            os.kill(os.getpid(), signal.SIGKILL)

        suite.score_rows = score_rows
    elif event == "store":
        from bench.results import ResultsStore

        real_connect = ResultsStore._connect

        class Dying:
            def __init__(self, con):  # noqa: ANN001
                self.con = con

            def __getattr__(self, name):  # noqa: ANN001, ANN204
                return getattr(self.con, name)

            def __enter__(self):  # noqa: ANN204
                self.con.__enter__()
                return self

            def __exit__(self, *exc):  # noqa: ANN002, ANN204
                os.kill(os.getpid(), signal.SIGKILL)  # inserted, not committed

        ResultsStore._connect = lambda self: Dying(real_connect(self))


def main() -> int:
    """`python -m tests.staged_toy run ...`: the bench CLI with this method registered."""
    import sys

    from bench.cli import main as bench_main

    register()
    _install_kill_points()
    return bench_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
