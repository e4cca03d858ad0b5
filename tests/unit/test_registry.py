import subprocess
import sys

import pytest

from bench.registry import Registry, RegistryError, registry_for


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
