"""The method adapter contract: fit on splits, predict per record.

A method declares what it produces ({"rating", "ctr_score", "explanation"}); the metric
suite scores what is there. Methods never import the CLI; they talk to the run through
`RunContext` (stage checkpoints, train log, progress).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bench.api.loads import Load
from bench.api.records import Prediction, Record, Splits
from bench.api.work_plan import PlannedStage

if TYPE_CHECKING:
    from bench.api.run_folder import RunContext


@dataclass
class NoParams:
    """A method without tunable parameters."""


class Method(ABC):
    """Base class for every registered method.

    Subclasses set `produces`, optionally a `Params` dataclass (the `model:` config section,
    unknown keys are an error) and implement `fit` and `predict`.
    """

    produces: ClassVar[frozenset[str]] = frozenset()
    Params: ClassVar[type] = NoParams
    # a plugin's yaml (defaults and profiles, as bench/configs/methods/*.yaml), relative to the
    # module that defines the class; ship it as package data
    config_file: ClassVar[str | None] = None

    @classmethod
    def shipped_config(cls) -> Path | None:
        if cls.config_file is None:
            return None
        return Path(inspect.getfile(cls)).parent / cls.config_file

    @classmethod
    def declarations(cls) -> dict[str, Any]:
        """What the registry reports about this method (bench.api.registry.Registry.declared)."""
        return {"produces": sorted(cls.produces)}

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        """The checkpoints and endpoints this method will load or call under `params`, read from
        them without loading anything: the preflight resolves each before any work starts."""
        return []

    @classmethod
    def planned_work(cls, params: Any, cfg: Any) -> list[PlannedStage]:
        """The stages this method will run under `params` (records, steps, generated tokens), for
        the preflight's planned work and time estimate; `cfg` is the whole RunConfig."""
        return []

    def __init__(self, params: object, run: RunContext):
        self.params = params
        self.run = run

    @abstractmethod
    def fit(self, splits: Splits) -> None:
        """Train (or index) on splits.train, validating on splits.valid.

        Long work goes through `self.run.stage(name, train, load)` so `--resume` skips
        finished stages and reloads their checkpoints.
        """

    @abstractmethod
    def predict(self, records: list[Record]) -> list[Prediction]:
        """One Prediction per record, same order."""
