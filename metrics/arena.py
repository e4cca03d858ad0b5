"""Arena statistics: Bradley–Terry scores with bootstrap intervals, win rates, pair tests.

Albert et al. (§2) compare four explainers in pairwise battles, "similarly to the Chatbot
Arena platform" (Chiang et al. 2024), and report that n = 216 votes show no significant
difference. Votes here are (a, b, outcome) with outcome "a", "b", "tie" or "both_bad".

- Bradley–Terry (Bradley & Terry 1952): P(i beats j) = e^θi / (e^θi + e^θj). The strengths θ
  are fitted by `choix.ilsr_pairwise` (choix 0.4.1; iterative Luce spectral ranking, Maystre &
  Grossglauser 2015, which converges to the maximum-likelihood estimate) with choix's small
  regularization `alpha` (a pseudo-count between every pair of models: it keeps θ finite when
  a model never wins or never loses; 30x faster than choix.opt_pairwise's MAP, which gives the
  same θ to 1e-4 on 3,000 simulated votes). A tie or both-bad vote counts as half a win for
  each side (Chatbot Arena's convention), implemented by giving every decisive vote two
  (winner, loser) comparisons and every tie one in each direction. Scores are shown on
  Chatbot Arena's Elo scale, 1000 + 400 · (θ − mean θ) / ln 10.
- 95% intervals: percentile bootstrap over votes (`n_boot` resamples of the votes with
  replacement, refit each time), seeded.
- win rate of i over j: (wins + ½ ties and both-bad) / battles between them; overall win rate
  against every other model likewise.
- pair test: exact two-sided binomial test (scipy.stats.binomtest) of the decisive votes
  between i and j against 1/2 (ties and both-bad left out), Holm–Bonferroni adjusted over all
  pairs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

OUTCOMES = ("a", "b", "tie", "both_bad")
ELO_BASE = 1000.0
ELO_SCALE = 400.0 / math.log(10.0)


@dataclass(frozen=True)
class Battle:
    a: int  # model index shown first (left)
    b: int
    outcome: str  # "a" | "b" | "tie" | "both_bad"

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"battle outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        if self.a == self.b:
            raise ValueError("a battle needs two different models")


def comparisons(battles: Sequence[Battle]) -> list[tuple[int, int]]:
    """(winner, loser) pairs: two per decisive vote, one each way per tie / both-bad."""
    out: list[tuple[int, int]] = []
    for bt in battles:
        if bt.outcome == "a":
            out += [(bt.a, bt.b), (bt.a, bt.b)]
        elif bt.outcome == "b":
            out += [(bt.b, bt.a), (bt.b, bt.a)]
        else:
            out += [(bt.a, bt.b), (bt.b, bt.a)]
    return out


def bradley_terry(n_models: int, battles: Sequence[Battle], alpha: float = 0.01) -> list[float]:
    """θ (mean 0) of the Bradley–Terry model fitted to the battles (module docstring)."""
    import choix

    data = comparisons(battles)
    if not data:
        return [0.0] * n_models
    theta = choix.ilsr_pairwise(n_models, data, alpha=alpha)
    mean = float(sum(theta)) / n_models
    return [float(t) - mean for t in theta]


def elo(theta: Sequence[float]) -> list[float]:
    """Chatbot Arena's display scale: 1000 + 400 (θ − mean θ) / ln 10."""
    mean = sum(theta) / len(theta) if theta else 0.0
    return [ELO_BASE + ELO_SCALE * (t - mean) for t in theta]


def bootstrap_intervals(n_models: int, battles: Sequence[Battle], *, n_boot: int = 200,
                        seed: int = 0, alpha: float = 0.01,
                        confidence: float = 0.95) -> list[tuple[float, float]]:  # fmt: skip
    """Percentile intervals of each model's Elo-scale score over vote resamples."""
    if not battles:
        return [(math.nan, math.nan)] * n_models
    rng = random.Random(seed)
    samples: list[list[float]] = [[] for _ in range(n_models)]
    for _ in range(n_boot):
        draw = [battles[rng.randrange(len(battles))] for _ in battles]
        for i, score in enumerate(elo(bradley_terry(n_models, draw, alpha))):
            samples[i].append(score)
    low_q, high_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    return [(_quantile(s, low_q), _quantile(s, high_q)) for s in samples]


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class PairRecord:
    wins_i: int = 0
    wins_j: int = 0
    ties: int = 0  # tie and both-bad

    @property
    def n(self) -> int:
        return self.wins_i + self.wins_j + self.ties

    @property
    def win_rate(self) -> float | None:
        """i's win rate over j, ties counted half."""
        return (self.wins_i + 0.5 * self.ties) / self.n if self.n else None


def pair_records(n_models: int, battles: Sequence[Battle]) -> dict[tuple[int, int], PairRecord]:
    """(i, j) with i < j -> wins of i, wins of j, ties."""
    out: dict[tuple[int, int], PairRecord] = {
        (i, j): PairRecord() for i in range(n_models) for j in range(i + 1, n_models)
    }
    for bt in battles:
        i, j = sorted((bt.a, bt.b))
        rec = out[(i, j)]
        winner = {"a": bt.a, "b": bt.b}.get(bt.outcome)
        if winner is None:
            rec.ties += 1
        elif winner == i:
            rec.wins_i += 1
        else:
            rec.wins_j += 1
    return out


def win_rate_matrix(n_models: int, battles: Sequence[Battle]) -> list[list[float | None]]:
    """M[i][j] = win rate of i over j (None without battles; the diagonal is None)."""
    pairs = pair_records(n_models, battles)
    matrix: list[list[float | None]] = [[None] * n_models for _ in range(n_models)]
    for (i, j), rec in pairs.items():
        if rec.n:
            matrix[i][j] = rec.win_rate
            matrix[j][i] = 1 - rec.win_rate  # type: ignore[operator]
    return matrix


def overall_win_rates(n_models: int, battles: Sequence[Battle]) -> list[float | None]:
    wins = [0.0] * n_models
    games = [0] * n_models
    for bt in battles:
        for side, other in ((bt.a, "a"), (bt.b, "b")):
            games[side] += 1
            if bt.outcome == other:
                wins[side] += 1
            elif bt.outcome in ("tie", "both_bad"):
                wins[side] += 0.5
    return [w / g if g else None for w, g in zip(wins, games, strict=True)]


def binomial_p(wins: int, losses: int) -> float | None:
    """Two-sided exact binomial test of wins / (wins + losses) = 1/2 (None without votes)."""
    if wins + losses == 0:
        return None
    from scipy.stats import binomtest

    return float(binomtest(wins, wins + losses, 0.5).pvalue)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone), None kept as None."""
    present = sorted((p, k) for k, p in enumerate(p_values) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, k) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[k] = running
    return out
