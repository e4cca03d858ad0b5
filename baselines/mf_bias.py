"""Biased matrix factorisation (Koren et al. 2009), the rating reference row.

r̂(u, i) = μ + b_u + b_i + p_u · q_i, fitted by full-batch Adam on squared error with L2
regularisation, early-stopped on validation RMSE. With factors=0 it is the pure bias model.
Unknown users/items fall back to the learned biases that exist (μ at worst).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.api.errors import BenchError
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits


@dataclass
class Params:
    factors: int = 8
    lr: float = 0.05
    reg: float = 0.05  # L2 on biases and factors, per observed rating
    max_epochs: int = 300  # full-batch steps
    patience: int = 20  # steps without validation improvement before stopping
    clip: bool = True  # clip predictions to the observed rating range (as PETER)


class MFBias(Method):
    """Biased matrix factorisation rating predictor."""

    produces = frozenset({"rating"})
    Params = Params

    def fit(self, splits: Splits) -> None:
        train = [r for r in splits.train if r.rating is not None]
        if not train:
            raise BenchError("mf-bias needs ratings in the train split; this dataset has none")
        self.users = {u: k for k, u in enumerate(sorted({r.user_id for r in train}))}
        self.items = {i: k for k, i in enumerate(sorted({r.item_id for r in train}))}
        ratings = np.array([r.rating for r in train], dtype=np.float32)
        self.low, self.high = float(ratings.min()), float(ratings.max())
        self.run.stage("train", lambda d: self._train(train, splits.valid, d), self._load)

    def _train(self, train: list[Record], valid: list[Record], stage_dir: Path) -> None:
        import torch

        p: Params = self.params  # type: ignore[assignment]
        gen = torch.Generator().manual_seed(self.run.seed)
        n_u, n_i, k = len(self.users), len(self.items), p.factors
        mu = torch.tensor(float(np.mean([r.rating for r in train])))
        bu = torch.zeros(n_u, requires_grad=True)
        bi = torch.zeros(n_i, requires_grad=True)
        pu = (0.1 * torch.randn(n_u, k, generator=gen)).requires_grad_(True)
        qi = (0.1 * torch.randn(n_i, k, generator=gen)).requires_grad_(True)
        u = torch.tensor([self.users[r.user_id] for r in train])
        i = torch.tensor([self.items[r.item_id] for r in train])
        y = torch.tensor([r.rating for r in train], dtype=torch.float32)
        opt = torch.optim.Adam([bu, bi, pu, qi], lr=p.lr)
        valid = [r for r in valid if r.rating is not None]
        best, best_state, stale = float("inf"), None, 0
        with self.run.progress("mf-bias", p.max_epochs) as advance:
            for step in range(p.max_epochs):
                opt.zero_grad()
                # index_select, not bu[u]: the backward of advanced indexing on a 2-D tensor
                # (index_put_ with accumulate) adds rows in thread order on CPU, so results
                # changed from run to run; index_select's backward (index_add_) does not.
                b_u, b_i = bu.index_select(0, u), bi.index_select(0, i)
                p_u, q_i = pu.index_select(0, u), qi.index_select(0, i)
                pred = mu + b_u + b_i + (p_u * q_i).sum(1)
                loss = ((pred - y) ** 2).mean() + p.reg * (
                    b_u.pow(2) + b_i.pow(2) + p_u.pow(2).sum(1) + q_i.pow(2).sum(1)
                ).mean()
                loss.backward()
                opt.step()
                advance(1)
                self.state = {"mu": mu.item(), "bu": bu.detach().numpy().copy(), "bi": bi.detach().numpy().copy(),
                              "pu": pu.detach().numpy().copy(), "qi": qi.detach().numpy().copy()}  # fmt: skip
                v_rmse = _rmse(self._predict_ratings(valid), valid) if valid else loss.item()
                self.run.log("train", step, loss=loss.item(), valid_rmse=v_rmse)
                if v_rmse < best - 1e-5:
                    best, best_state, stale = v_rmse, self.state, 0
                else:
                    stale += 1
                    if stale >= p.patience:
                        break
        self.state = best_state or self.state
        np.savez(
            stage_dir / "model.npz", **self.state, low=self.low, high=self.high,
            user_ids=np.array(list(self.users), dtype=str), item_ids=np.array(list(self.items), dtype=str),
        )  # fmt: skip
        (stage_dir / "index.txt").write_text(
            "\n".join(["#users", *self.users, "#items", *self.items]) + "\n", encoding="utf-8"
        )

    def _load(self, stage_dir: Path) -> None:
        """Restore everything predict() reads from the checkpoint (not from the current splits):
        the parameters, the user/item index their rows belong to, and the clipping range."""
        with np.load(stage_dir / "model.npz", allow_pickle=False) as z:
            self.state = {k: (z[k] if z[k].ndim else float(z[k])) for k in ("mu", "bu", "bi", "pu", "qi")}
            self.low, self.high = float(z["low"]), float(z["high"])
            if "user_ids" in z.files:
                users, items = [str(u) for u in z["user_ids"]], [str(i) for i in z["item_ids"]]
            else:  # checkpoints written before the ids were stored in model.npz
                users, items = _read_index(stage_dir / "index.txt", len(self.state["bu"]), len(self.state["bi"]))
        if (len(users), len(items)) != (len(self.state["bu"]), len(self.state["bi"])):
            raise BenchError(f"{stage_dir}: the stored user/item index does not match model.npz")
        self.users = {u: k for k, u in enumerate(users)}
        self.items = {i: k for k, i in enumerate(items)}

    def _predict_ratings(self, records: list[Record]) -> list[float]:
        s = self.state
        out = []
        for r in records:
            u, i = self.users.get(r.user_id), self.items.get(r.item_id)
            value = s["mu"]
            if u is not None:
                value += s["bu"][u]
            if i is not None:
                value += s["bi"][i]
            if u is not None and i is not None:
                value += float(np.dot(s["pu"][u], s["qi"][i]))
            if self.params.clip:  # type: ignore[attr-defined]
                value = min(max(value, self.low), self.high)
            out.append(float(value))
        return out

    def predict(self, records: list[Record]) -> list[Prediction]:
        return [Prediction(rating=v) for v in self._predict_ratings(records)]


def _read_index(path: Path, n_users: int, n_items: int) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if len(lines) != n_users + n_items + 3 or lines[0] != "#users" or lines[n_users + 1] != "#items":
        raise BenchError(f"{path}: does not list {n_users} users and {n_items} items")
    return lines[1 : n_users + 1], lines[n_users + 2 : n_users + n_items + 2]


def _rmse(pred: list[float], records: list[Record]) -> float:
    truth = np.array([r.rating for r in records], dtype=np.float64)
    return float(np.sqrt(np.mean((np.array(pred) - truth) ** 2)))
