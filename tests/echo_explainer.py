"""A test-only method that explains without training ("a fine pick: item I3"), so a test can
run a whole cell whose explanations an endpoint judges (the canary-key chaos test)."""

from __future__ import annotations

from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits

NAME = "echo-explainer"


class EchoExplainer(Method):
    produces = frozenset({"explanation"})

    def fit(self, splits: Splits) -> None:
        pass

    def predict(self, records: list[Record]) -> list[Prediction]:
        return [Prediction(explanation=f"a fine pick: item {r.item_id}") for r in records]


def register() -> None:
    from bench.api.registry import METHODS

    if NAME not in METHODS.names():
        METHODS.register(NAME, "tests.echo_explainer:EchoExplainer", summary="test-only explainer")
