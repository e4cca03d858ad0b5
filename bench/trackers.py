"""Report a finished run to experiment trackers: `--report-to mlflow|tensorboard|wandb`.

Each tracker gets, through its own library, the same three things:

- params: the resolved config, flattened (`model.lr`, `eval.metrics`, ...);
- step metrics: the rows of train_log.jsonl, as `train/<stage>/<name>` at the row's step
  (steps restart at each stage, so each stage has its own series);
- final metrics: the rows of metrics.json, as `<split>/<metric>`.

Every back end (torch loop, PPO, TRL, RecBole) writes the train log, so reporting from it
after the run gives the same keys for all of them; TRL's own `report_to` stays "none" (it
would open a tracker run per training stage and report only TRL's stages).

Where the data goes is each tracker's own configuration: MLflow's MLFLOW_TRACKING_URI and
MLFLOW_EXPERIMENT_NAME (default experiment "erbench"); TensorBoard event files in
<run_dir>/tensorboard; W&B in offline mode in <run_dir>/wandb unless WANDB_MODE says
otherwise (project WANDB_PROJECT, default "erbench").
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError, ConfigError
from bench.api.metric_name import MetricName

# tracker -> (module that must import, pip package that provides it)
TRACKERS: dict[str, tuple[str, str]] = {
    "mlflow": ("mlflow", "mlflow-skinny"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
}
_NOT_LOGGED = {"stage", "step", "time"}  # train-log columns that are not values


def parse_report_to(values: Iterable[str]) -> list[str]:
    """`["mlflow,wandb", "tensorboard"]` -> ["mlflow", "wandb", "tensorboard"]; "none" is
    nothing; an unknown name is a ConfigError."""
    names: list[str] = []
    for value in values:
        for name in str(value).split(","):
            name = name.strip().lower()
            if name and name != "none" and name not in names:
                names.append(name)
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise ConfigError(
            f"unknown tracker {unknown[0]!r} in report_to; choose from {', '.join(TRACKERS)}"
        )
    return names


def check_trackers(report_to: Sequence[str]) -> None:
    """Fail before any work when a tracker's package is not installed."""
    for name in parse_report_to(report_to):
        module, package = TRACKERS[name]
        if find_spec(module) is None:
            raise BenchError(
                f"--report-to {name} needs the Python package {package}: pip install {package}"
            )
        if name == "mlflow" and not os.environ.get("MLFLOW_TRACKING_URI") and find_spec("sqlalchemy") is None:
            raise BenchError(
                "--report-to mlflow: set MLFLOW_TRACKING_URI (e.g. http://host:5000 for a tracking "
                "server); MLflow's default local store needs the full package: pip install mlflow"
            )


def report_run(
    report_to: Sequence[str],
    run_dir: str | Path,
    config: dict[str, Any],  # flattened (bench.config.flatten): {"model.lr": 0.001, ...}
    train_log_rows: Sequence[dict[str, Any]],
    metric_rows: Sequence[dict[str, Any]],
) -> None:
    """Send one finished run to every tracker in `report_to`."""
    names = parse_report_to(report_to)
    if not names:
        return
    check_trackers(names)
    run_dir = Path(run_dir)
    params = tracker_params(config)
    steps = step_metrics(train_log_rows)
    final = {
        f"{row.get('split') or 'test'}/{row['metric']}": float(row["value"])
        for row in metric_rows
        if _is_number(row.get("value"))
    }
    for name in names:
        try:
            _REPORTERS[name](run_dir, params, steps, final)
        except BenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tracker's own error becomes one line
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BenchError(
                f"reporting to {name} failed: {message} (the run itself is complete in {run_dir})"
            ) from exc


# -- what is reported ----------------------------------------------------------------------


def tracker_params(config: dict[str, Any]) -> dict[str, Any]:
    """The flattened config as tracker params: lists become comma strings, empty sections go."""
    return {
        key: ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value
        for key, value in config.items()
        if value != {}
    }


def step_metrics(rows: Iterable[dict[str, Any]]) -> list[tuple[str, int, float, float | None]]:
    """(key, step, value, unix time) for every numeric value of every train-log row."""
    out = []
    for row in rows:
        stage, step, when = row.get("stage", "train"), int(row.get("step", 0)), row.get("time")
        for key, value in row.items():
            if key not in _NOT_LOGGED and _is_number(value):
                out.append((f"train/{stage}/{key}", step, float(value), when))
    return out


def tracker_key(name: str) -> str:
    """A metric name every tracker accepts: `bertscore_f1[all-MiniLM-L6-v2,bf16]` ->
    `bertscore_f1/all-MiniLM-L6-v2/bf16` (MLflow allows letters, digits, _ - . space / only)."""
    return re.sub(r"[^\w\-. /]", "_", MetricName.parse(name).path())


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


# -- the trackers, each through its own library --------------------------------------------


def _to_mlflow(run_dir: Path, params: dict[str, Any], steps: list, final: dict[str, float]) -> None:
    import mlflow
    from mlflow.entities import Metric, Param

    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or "erbench")
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name=run_dir.name) as run:
        run_id = run.info.run_id
        millis = int(os.path.getmtime(run_dir) * 1000)
        entries = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(entries), 100):  # MLflow's limit on params per batch
            client.log_batch(run_id, params=entries[i : i + 100])
        metrics = [
            Metric(tracker_key(k), v, int((t or 0) * 1000) or millis, step)
            for k, step, v, t in steps
        ]
        metrics += [Metric(tracker_key(k), v, millis, 0) for k, v in final.items()]
        for i in range(0, len(metrics), 1000):  # and on metrics per batch
            client.log_batch(run_id, metrics=metrics[i : i + 1000])
        mlflow.set_tag("erbench.run_dir", str(run_dir))


def _to_tensorboard(run_dir: Path, params: dict[str, Any], steps: list, final: dict[str, float]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(run_dir / "tensorboard")) as writer:
        for key, step, value, when in steps:
            writer.add_scalar(tracker_key(key), value, step, walltime=when)
        hparams = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in params.items()}
        writer.add_hparams(hparams, {tracker_key(k): v for k, v in final.items()}, run_name=".")


def _to_wandb(run_dir: Path, params: dict[str, Any], steps: list, final: dict[str, float]) -> None:
    import wandb

    rows: dict[tuple[str, int], dict[str, float]] = {}  # (stage, step) -> its values
    for key, step, value, _ in steps:
        stage_key = key.rsplit("/", 1)[0]
        rows.setdefault((stage_key, step), {})[tracker_key(key)] = value
    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT") or "erbench",
        name=run_dir.name,
        dir=str(run_dir),
        config=params,
        mode=os.environ.get("WANDB_MODE") or "offline",
    )
    try:
        # W&B keeps one increasing step per run; each stage gets its own step axis instead
        for stage_key in sorted({stage_key for stage_key, _ in rows}):
            run.define_metric(f"{stage_key}/*", step_metric=f"{stage_key}/step")
        for (stage_key, step), values in rows.items():
            run.log({**values, f"{stage_key}/step": step})
        run.summary.update({tracker_key(k): v for k, v in final.items()})
    finally:
        run.finish()


_REPORTERS = {"mlflow": _to_mlflow, "tensorboard": _to_tensorboard, "wandb": _to_wandb}
