import subprocess
import sys
from pathlib import Path

import pytest

from bench.api.registry import Registry, RegistryError, registry_for


def test_duplicate_name_raises():
    reg: Registry[object] = Registry("thing")
    reg.register("a", object())
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("a", object())


def test_unknown_name_suggests_close_match():
    reg: Registry[object] = Registry("method")
    reg.register("peter", object())
    reg.register("nrt", object())
    with pytest.raises(RegistryError, match=r"unknown method 'petr'; did you mean 'peter'"):
        reg.get("petr")


def test_unknown_name_without_close_match_lists_known():
    reg: Registry[object] = Registry("method")
    reg.register("peter", object())
    with pytest.raises(RegistryError, match="Known: peter"):
        reg.get("zzzzzz")


def test_lazy_entry_imports_on_first_get():
    reg: Registry[object] = Registry("thing")
    reg.register("join", "os.path:join", summary="path join")
    entry = reg.entry("join")
    assert entry.is_lazy and entry.summary == "path join"
    import os.path

    assert reg.get("join") is os.path.join
    assert not reg.entry("join").is_lazy


def test_decorator_registration_and_docstring_summary():
    reg: Registry[object] = Registry("thing")

    @reg.register("f")
    def f():
        """First line.

        More."""

    assert reg.get("f") is f
    assert reg.entry("f").summary == "First line."


def test_lazy_entry_with_missing_module_gives_clear_error():
    reg: Registry[object] = Registry("method")
    reg.register("ghost", "no_such_module_xyz:Thing")
    with pytest.raises(RegistryError, match="needs a package that is not installed"):
        reg.get("ghost")


def test_builtin_registries_are_populated():
    assert "mf-bias" in registry_for("methods")
    assert "retrieval" in registry_for("methods")
    assert "currrl" in registry_for("methods")


@pytest.mark.parametrize("kind", ["methods", "datasets", "metrics", "tables"])
def test_bench_ls_does_not_import_torch(kind):
    code = (
        "import sys; from bench.cli import main; rc = main(['ls', %r]);"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'recbole', 'matplotlib', 'sentence_transformers') if m in sys.modules];"
        "print('HEAVY', heavy); sys.exit(rc)".replace("%r", repr(kind))
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout


# -- declarations, base classes and plugins ----------------------------------------------------

ECHO_METRIC = '''
from metrics.base import Metric


class Echo(Metric):
    """Length of each explanation."""

    name = "echo_len"
    needs = frozenset({"explanation"})
    reports = ("echo_len", "echo_chars")

    def compute(self, batch):
        lengths = [float(len(t)) for t in batch.texts("explanation")]
        return [self.value_from_samples("echo_len", lengths)]


class NotAMetric:
    pass
'''


def _metric_plugin(tmp_path, entry_points):
    from tests.plugins import install_distribution

    site = tmp_path / "site"
    install_distribution(site, "erbench-echo", {"erbench_echo.py": ECHO_METRIC}, {"bench.metrics": entry_points})
    return site


def test_a_plugin_metric_reports_what_its_class_declares(tmp_path, monkeypatch):
    from bench.api.registry import METRICS
    from metrics.suite import score_rows, select_metrics
    from tests.plugins import plugins_from

    site = _metric_plugin(tmp_path, {"echo": "erbench_echo:Echo"})
    with plugins_from(site, monkeypatch):
        assert METRICS.declared("echo")["reports"] == ["echo_len", "echo_chars"]
        assert METRICS.declared("echo")["needs"] == ["explanation"]
        assert select_metrics(["echo_chars"]) == {"echo": {"echo_chars"}}
        report = score_rows([{"idx": 0, "explanation": "abc"}], _eval(["echo_len"]))
        assert report.as_dict() == {"echo_len": 3.0, "echo_len_std": 0.0}


def test_a_plugin_never_replaces_a_builtin_name(tmp_path):
    # a fresh process: plugins used to load while the built-ins registered, and won
    import os

    site = _metric_plugin(tmp_path, {"rouge": "erbench_echo:Echo"})
    root = Path(__file__).resolve().parents[2]
    code = "import sys; from bench.cli import main; from bench.api.registry import METRICS; main(['ls', 'metrics']); print(METRICS.get('rouge').__module__)"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{root}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "metrics.text"
    assert "warning: erbench-echo registers metric 'rouge', a name erbench already uses; the plugin's entry is ignored" in out.stderr


def test_entries_must_subclass_the_registrys_base(tmp_path, monkeypatch):
    from bench.api.registry import METHODS, METRICS
    from tests.plugins import plugins_from

    with pytest.raises(RegistryError, match="not a bench.api.method.Method subclass"):
        METHODS.register("not-a-method", object)
    site = _metric_plugin(tmp_path, {"bogus": "erbench_echo:NotAMetric"})
    with plugins_from(site, monkeypatch):
        with pytest.raises(RegistryError, match=r"metric 'bogus' \(from erbench-echo\).*not a metrics.base.Metric"):
            METRICS.get("bogus")
    assert "not-a-method" not in METHODS


def _eval(metrics):
    from metrics.settings import EvalConfig

    return EvalConfig(metrics=metrics)


def test_method_and_dataset_declarations_are_read_from_the_objects():
    from bench.api.registry import DATASETS, METHODS, load_builtins

    load_builtins()
    assert METHODS.declared("mf-bias")["produces"] == ["rating"]
    assert METHODS.declared("recbole-fm")["produces"] == ["ctr_score"]
    assert "sports" in DATASETS.declared("amazon-sports")["aliases"]
