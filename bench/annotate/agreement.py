"""Inter-annotator agreement: Krippendorff's alpha from the `krippendorff` package.

Ratings use the interval distance (the same alpha metrics.coherence reports as
coh_human_alpha); arena outcomes (which run won, tie, both bad) are nominal. Units answered
by fewer than two annotators carry no agreement information and are left out. Alpha is None
where it is undefined: no unit with two answers, or a single value used throughout.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import krippendorff
import numpy as np


def _reliability_matrix(
    answers: Iterable[tuple[Hashable, str, float]],
) -> np.ndarray | None:
    """annotators x units matrix (NaN where an annotator did not answer), units with >= 2."""
    by_unit: dict[Hashable, dict[str, float]] = {}
    for unit, annotator, value in answers:
        by_unit.setdefault(unit, {})[annotator] = value
    units = [u for u, values in by_unit.items() if len(values) >= 2]
    if not units:
        return None
    annotators = sorted({a for u in units for a in by_unit[u]})
    matrix = np.full((len(annotators), len(units)), np.nan)
    for col, unit in enumerate(units):
        for annotator, value in by_unit[unit].items():
            matrix[annotators.index(annotator), col] = value
    return matrix


def _alpha(matrix: np.ndarray | None, level: str) -> float | None:
    if matrix is None or len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def rating_alpha(answers: Iterable[tuple[Hashable, str, float]]) -> float | None:
    """(unit, annotator, rating) triples -> interval alpha."""
    return _alpha(_reliability_matrix(answers), "interval")


def nominal_alpha(answers: Iterable[tuple[Hashable, str, Hashable]]) -> float | None:
    """(unit, annotator, category) triples -> nominal alpha (categories coded as integers)."""
    codes: dict[Hashable, int] = {}
    coded = [(u, a, float(codes.setdefault(c, len(codes)))) for u, a, c in answers]
    return _alpha(_reliability_matrix(coded), "nominal")
