"""metrics.arena: Bradley–Terry against hand-computed and simulated strengths, win rates,
binomial and Holm p-values."""

import math
import random

import pytest

from metrics import arena as A

pytest.importorskip("choix")


def _votes(a, b, wins_a, wins_b, ties=0):
    return [A.Battle(a, b, "a")] * wins_a + [A.Battle(a, b, "b")] * wins_b + [A.Battle(a, b, "tie")] * ties


def test_two_models_mle_is_log_odds():
    # 3 wins to 1: the BT maximum likelihood gives θ0 − θ1 = ln 3 (a tiny prior changes nothing)
    theta = A.bradley_terry(2, _votes(0, 1, 3, 1), alpha=1e-9)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-3)
    assert sum(theta) == pytest.approx(0, abs=1e-9)
    # 2 wins + 2 ties count as 3 wins to 1
    again = A.bradley_terry(2, _votes(0, 1, 2, 0, ties=2), alpha=1e-9)
    assert again[0] - again[1] == pytest.approx(math.log(3), abs=1e-3)
    # the Elo scale: 400 / ln 10 per unit of θ
    scores = A.elo(theta)
    assert scores[0] - scores[1] == pytest.approx(400 * math.log10(3), abs=0.5)
    assert sum(scores) / 2 == pytest.approx(1000)


def test_simulated_votes_recover_the_order_of_known_strengths():
    truth = [0.0, 0.6, 1.2, 1.8]
    rng = random.Random(7)
    battles = []
    for _ in range(1200):
        i, j = rng.sample(range(4), 2)
        p_i = math.exp(truth[i]) / (math.exp(truth[i]) + math.exp(truth[j]))  # Bradley & Terry
        battles.append(A.Battle(i, j, "a" if rng.random() < p_i else "b"))
    theta = A.bradley_terry(4, battles)
    assert sorted(range(4), key=theta.__getitem__) == [0, 1, 2, 3]
    centred = [t - sum(truth) / 4 for t in truth]
    assert theta == pytest.approx(centred, abs=0.2)
    intervals = A.bootstrap_intervals(4, battles, n_boot=40, seed=1)
    for (low, high), score in zip(intervals, A.elo(theta), strict=True):
        assert low <= score <= high
    assert intervals[0][1] < intervals[3][0]  # the weakest and strongest do not overlap


def test_win_rates_and_pair_records():
    battles = _votes(0, 1, 3, 1, ties=2) + _votes(2, 0, 1, 0)
    matrix = A.win_rate_matrix(3, battles)
    assert matrix[0][1] == pytest.approx((3 + 1) / 6) and matrix[1][0] == pytest.approx(2 / 6)
    assert matrix[0][2] == 0.0 and matrix[1][2] is None and matrix[0][0] is None
    overall = A.overall_win_rates(3, battles)
    assert overall[0] == pytest.approx(4 / 7) and overall[2] == 1.0
    rec = A.pair_records(3, battles)[(0, 1)]
    assert (rec.wins_i, rec.wins_j, rec.ties, rec.n) == (3, 1, 2, 6)


def test_binomial_and_holm():
    # 9 of 10: two-sided exact p = 2 · (C(10,9) + C(10,10)) / 2^10 = 22/1024
    assert A.binomial_p(9, 1) == pytest.approx(22 / 1024)
    assert A.binomial_p(0, 0) is None
    assert A.holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])


def test_bad_battles():
    with pytest.raises(ValueError):
        A.Battle(0, 0, "a")
    with pytest.raises(ValueError):
        A.Battle(0, 1, "left")
