"""Every registered method answers the preflight's `planned_work(params, cfg)`
(bench.api.method.Method.planned_work) with a list, under each of its profiles: no method may
shadow it with an attribute of its own (the distillation students' instance `plan()` shadowed
the classmethod when it was called `plan`, so every `bench run --method sft-distill|orpo-distill`
died in the preflight with a TypeError)."""

from __future__ import annotations

import pytest

from bench.api.registry import METHODS
from bench.config import resolve
from bench.identity import effective_config, method_class


def _profiles(method: str) -> list[str | None]:
    from bench.config import method_yaml, read_yaml

    path = method_yaml(method)
    doc = read_yaml(path) if path.exists() else {}
    return [None, *sorted(doc.get("profiles") or {})]


@pytest.mark.parametrize("method", sorted(METHODS.names()))
def test_planned_work_is_the_preflight_classmethod(method):
    for profile in _profiles(method):
        cfg = resolve(method, "ml-100k", profile=profile)
        effective, params = effective_config(cfg)
        planned = method_class(method).planned_work(params, effective)
        assert isinstance(planned, list), (method, profile, planned)
