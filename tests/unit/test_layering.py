"""The floors of the house, read from the code's imports (AST, every import, lazy ones too).

- bench/api/ is the contract floor: it imports nothing of erbench outside bench.api.
- baselines/, methods/, metrics/, leaderboards/ import of bench only the contract floor and the
  shared services:
    bench.api        records, method base, metric names, registry, errors, run folder, ...
    bench.data       dataset specs, loaders, splits, profiles, features (data.* settings)
    bench.adapters   shared training back ends (torch loop, TRL, PPO, RecBole)
    bench.backbones  causal-LM backbones, generation, the OpenAI-compatible chat client
    bench.encoders   sentence embeddings shared by methods and metrics
    bench.results    the results store: tables read the store only (leaderboards)
    bench.scored_records  which test records a run scored, read beside the store
  never the app floor (cli, runner, rescore, compare, config, identity, sweep, cluster, ...).
- The shared services import neither the app floor nor a higher package.

KNOWN lists the arrows that still run up, each with the step that removes it; the test fails
when one is gone too, so the list only shrinks. It is empty: the AI judge's battles, drawn as the
annotation app draws them, moved to the app floor with `bench judge` (bench/judge_step.py).

- leaderboards/ builds tables without running the metric suite (what it shows of the suite is
  stored by `bench run`, `bench score` and `bench judge`).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HIGHER = ("baselines", "methods", "metrics", "leaderboards")
SERVICES = ("bench.api", "bench.data", "bench.adapters", "bench.backbones", "bench.encoders")
STORE = ("bench.results", "bench.scored_records")

# (file, imported module): arrows that run back up today, and what removes them
KNOWN: dict[tuple[str, str], str] = {}


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth; `from bench import data` gives bench.data."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module in ("bench",))
    return {m for m in found if m != "bench"}


def _files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_imports_of_reads_lazy_and_from_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from bench import data\ndef f():\n    import bench.runner\n    from metrics.suite import x\n")
    assert imports_of(source) == {"bench.data", "bench.runner", "metrics.suite"}


def test_the_contract_floor_imports_nothing_above_it():
    up = {
        (_rel(p), m)
        for p in _files("bench/api")
        for m in imports_of(p)
        if (_under(m, ("bench",)) and not _under(m, ("bench.api",))) or _under(m, HIGHER)
    }
    assert up == set()


def test_the_services_import_no_app_floor_and_no_higher_package():
    services = [p for p in _files("bench/data", "bench/adapters", "bench/backbones")] + [ROOT / "bench/encoders.py"]
    up = {
        (_rel(p), m)
        for p in services
        for m in imports_of(p)
        if (_under(m, ("bench",)) and not _under(m, SERVICES)) or _under(m, HIGHER)
    }
    assert up == set()


def test_the_packages_import_only_the_contract_floor_and_the_services_of_bench():
    allowed = SERVICES + STORE
    found = {
        (_rel(p), m)
        for p in _files(*HIGHER)
        for m in imports_of(p)
        if _under(m, ("bench",)) and not _under(m, allowed)
    }
    assert found == set(KNOWN)


def test_the_tables_run_no_metric_suite():
    runs_suite = {_rel(p) for p in _files("leaderboards") if any(_under(m, ("metrics.suite",)) for m in imports_of(p))}
    assert runs_suite == set()
