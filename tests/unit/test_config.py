import pytest

from bench.api.config_keys import parse_set
from bench.api.errors import ConfigError
from bench.config import RunConfig, build_dataclass, config_hash, resolve


def test_parse_set_reads_yaml_values():
    assert parse_set("model.lr=0.001") == {"model": {"lr": 0.001}}
    assert parse_set("eval.metrics=[rmse, mae]") == {"eval": {"metrics": ["rmse", "mae"]}}
    assert parse_set("data.max_records=null") == {"data": {"max_records": None}}
    with pytest.raises(ConfigError, match="key=value"):
        parse_set("model.lr")


def test_layers_in_order(tmp_path, monkeypatch):
    import bench.config as config

    (tmp_path / "methods").mkdir()
    (tmp_path / "datasets").mkdir()
    (tmp_path / "methods" / "m.yaml").write_text(
        "seed: 1\ndata: {max_records: 100, history_len: 3}\nmodel: {lr: 0.1, epochs: 2}\n"
        "profiles: {tiny: {model: {epochs: 1}}}\n"
    )
    (tmp_path / "datasets" / "d.yaml").write_text("data: {max_records: 200, split: per-user-8:1:1}\n")
    user = tmp_path / "user.yaml"
    user.write_text("model: {lr: 0.2}\n")
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)

    cfg = resolve("m", "d", config_file=user, sets=["model.lr=0.3", "data.history_len=5"], profile="tiny")
    assert cfg.seed == 1  # method yaml
    assert cfg.data.max_records == 200  # dataset yaml beats method yaml
    assert cfg.data.split == "per-user-8:1:1"
    assert cfg.data.history_len == 5  # --set beats method yaml
    assert cfg.model == {"lr": 0.3, "epochs": 1}  # --set beats --config beats yaml; profile applied
    assert cfg.profile == "tiny"
    assert resolve("m", "d", seed=7).seed == 7  # --seed beats the yaml


def test_method_profile_beats_dataset_yaml_base(tmp_path, monkeypatch):
    import bench.config as config

    (tmp_path / "methods").mkdir()
    (tmp_path / "datasets").mkdir()
    (tmp_path / "methods" / "m.yaml").write_text(
        "data: {split: random-3:1:1}\nprofiles: {cpu: {data: {split: per-user-target5-8:1:1}}}\n"
    )
    (tmp_path / "datasets" / "d.yaml").write_text(
        "data: {split: per-user-8:1:1, history_len: 4}\nprofiles: {cpu: {data: {history_len: 7}}}\n"
    )
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    assert resolve("m", "d").data.split == "per-user-8:1:1"  # dataset yaml beats method yaml
    cpu = resolve("m", "d", profile="cpu")
    assert cpu.data.split == "per-user-target5-8:1:1"  # method profile beats dataset yaml
    assert cpu.data.history_len == 7  # dataset profile comes last
    assert resolve("m", "d", profile="cpu", sets=["data.split=time"]).data.split == "time"


def test_unknown_key_is_an_error_naming_the_path():
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) data.max_recods"):
        resolve("mf-bias", "ml-100k", sets=["data.max_recods=5"])


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="data.history_len' expects int"):
        resolve("mf-bias", "ml-100k", sets=["data.history_len=abc"])


def test_choice_outside_a_literal_is_an_error_listing_the_choices():
    with pytest.raises(ConfigError, match="eval.bertscore_dtype' expects one of 'float32', 'bfloat16'"):
        resolve("mf-bias", "ml-100k", sets=["eval.bertscore_dtype=fp16"])
    assert resolve("mf-bias", "ml-100k", sets=["eval.bertscore_dtype=bfloat16"]).eval.bertscore_dtype == "bfloat16"


def test_unknown_profile_is_an_error():
    with pytest.raises(ConfigError, match="profile 'nope'"):
        resolve("mf-bias", "ml-100k", profile="nope")


def test_method_params_unknown_key():
    from dataclasses import dataclass

    @dataclass
    class P:
        lr: float = 0.1

    assert build_dataclass(P, {"lr": 1}, "model").lr == 1.0
    with pytest.raises(ConfigError, match="model.lrr"):
        build_dataclass(P, {"lrr": 1}, "model")


def test_scientific_notation_without_a_dot_is_a_float():
    """PyYAML reads `--set model.lr=2e-4` (and `lr: 2e-4` in a file) as the string '2e-4'."""
    from dataclasses import dataclass

    @dataclass
    class P:
        lr: float = 0.1
        maybe: float | None = None
        name: str = "x"

    got = build_dataclass(P, {"lr": "2e-4", "maybe": "-1E3", "name": "1e5"}, "model")
    assert (got.lr, got.maybe, got.name) == (2e-4, -1000.0, "1e5")
    with pytest.raises(ConfigError, match="model.lr' expects float, got 'fast'"):
        build_dataclass(P, {"lr": "fast"}, "model")
    from bench.identity import effective_config

    typed = effective_config(resolve("expctr", "ml-100k", sets=["model.lr=2e-4"]))[0]
    dotted = effective_config(resolve("expctr", "ml-100k", sets=["model.lr=0.0002"]))[0]
    assert typed.model["lr"] == 2e-4 and typed == dotted  # the same run identity


def test_config_hash_ignores_locations_but_not_values():
    a = RunConfig("m", "d")
    b = RunConfig("m", "d", runs_dir="/elsewhere")
    b.data.data_dir = "/data"
    c = RunConfig("m", "d", model={"lr": 0.5})
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(c)


def test_keys_that_do_not_change_results_leave_the_hash_alone():
    from bench.config import NOT_HASHED

    other = {
        "runs_dir": "elsewhere", "threads": 1, "report_to": "[mlflow]", "data.data_dir": "/d",
        "eval.judge_prompt_file": "p.txt", "eval.human_ratings_csv": "h.csv",
        "eval.judge_api_key_env": "KEY", "eval.judge_max_concurrency": 9,
        "eval.judge_timeout_s": 5, "eval.judge_max_retries": 1, "eval.judge_cache_path": "c",
        "model.generation_api_key_env": "KEY", "model.generation_max_concurrency": 64,
        "model.teacher_max_concurrency": 3, "eval.bertscore_engine": "torch",
    }  # fmt: skip
    assert set(other) == set(NOT_HASHED)
    base = config_hash(resolve("mf-bias", "ml-100k"))
    for key, value in other.items():
        assert config_hash(resolve("mf-bias", "ml-100k", sets=[f"{key}={value}"])) == base, key
    assert config_hash(resolve("mf-bias", "ml-100k", sets=["eval.judge_model=m"])) != base
