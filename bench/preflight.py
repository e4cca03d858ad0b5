"""The preflight of a run: everything that can fail after a stage has trained, checked first.

`bench run --dry-run` prints it and stops; every real `bench run` does it before any work. One
line per item, ✓ or ✗:

- params: the method's and the metrics' settings (types, choices, metric names, prompt file);
- data: the dataset's raw files (present, hashed for the run identity);
- device: the requested device exists here (`--set device=cuda` on a CPU machine is ✗);
- checkpoint: every checkpoint the method (`Method.loads`) and the metrics it will compute
  (`Metric.loads`) will load: built in, a local folder with config.json, in the local Hugging
  Face cache, or on the hub (probed with a short timeout; HF_HUB_OFFLINE means the cache only);
- endpoint: every OpenAI-compatible endpoint (teacher, judge, served generation) answers
  GET /models within the timeout, and its API key variable is set (a loopback server needs none).

Then the planned work (`Method.planned_work`: records, steps, generated tokens per stage), a rough time
estimate on this device (bench.run_estimate) and a warning when a run sized for a GPU starts on
a CPU. Any ✗ fails the run with exit 2 before anything trains. Network probes run concurrently,
so a preflight with every host unreachable takes about one timeout.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.loads import Checkpoint, Endpoint, Load
from bench.api.work_plan import PlannedStage
from bench.config import RunConfig
from bench.loopback import is_loopback

PROBE_TIMEOUT_S = 4.0  # per network probe (hub, endpoints); probes run at once
GPU_SIZED_RECORDS = 1000  # a stage this large on a CPU gets the "sized for a GPU" warning
GPU_SIZED_SECONDS = 6 * 3600  # as does an estimate above this on a CPU


class PreflightError(BenchError):
    """One or more preflight items failed (their lines were printed)."""


@dataclass
class Item:
    kind: str  # params, data, device, checkpoint, endpoint
    label: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"  {'✓' if self.ok else '✗'} {self.kind:<10s} {self.label}: {self.detail}"


@dataclass
class Preflight:
    title: str
    items: list[Item] = field(default_factory=list)
    plan: list[PlannedStage] = field(default_factory=list)
    device: str = "cpu"
    estimate: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if not i.ok]

    def lines(self) -> list[str]:
        out = [f"preflight: {self.title}", *(i.line() for i in self.items)]
        if self.plan:
            out.append("planned work:")
            out += [f"  {s.describe()}" for s in self.plan]
        if self.estimate:
            out.append(f"estimate on {self.device}: {self.estimate}")
        out += [f"warning: {w}" for w in self.warnings]
        return out

    def failure_summary(self) -> str:
        """The failed items on one line (a sweep's unavailable cell)."""
        return "preflight: " + "; ".join(f"{i.kind} {i.label}: {i.detail}" for i in self.failed)

    def raise_if_failed(self) -> None:
        if self.failed:
            names = "; ".join(i.label for i in self.failed)
            hint = ""
            if any(i.label.startswith("eval.") for i in self.failed):  # a scorer, not the method itself
                hint = (" (a scorer's item: point its key at a local folder or endpoint, or leave the"
                        " metric out with --set eval.metrics=[...]; docs/troubleshooting.md)")
            raise PreflightError(
                f"preflight failed for {len(self.failed)} item(s) ({names}); nothing was run{hint}")


def run_preflight(cfg: RunConfig, probed: dict[Any, tuple[bool, str]] | None = None) -> Preflight:
    """Check `cfg` as bench.preflight describes. A config mistake raises its one-line BenchError;
    every other failed item is listed (.failed), not raised. `probed` keeps the answers of
    checkpoint and endpoint probes across calls (a sweep checks many cells that load the same)."""
    report = Preflight(f"{cfg.method} on {cfg.dataset}" + (f" (profile {cfg.profile})" if cfg.profile else ""))
    params, cls = _params_item(cfg, report)
    report.items.append(_data_item(cfg))
    device_item, report.device = _device_item(cfg.device)
    report.items.append(device_item)
    loads = [*cls.loads(params), *_metric_loads(cfg, cls)]
    report.items += _probe_all(loads, {} if probed is None else probed)
    report.plan = cls.planned_work(params, cfg)
    _estimate(report, loads)
    return report


# -- params, data, device -------------------------------------------------------------------


def _params_item(cfg: RunConfig, report: Preflight) -> tuple[Any, Any]:
    """The method's Params and class; a config mistake raises its own one-line error (the
    preflight cannot say what a run would load without its settings)."""
    from bench.checks.ranges import check_ranges
    from bench.identity import effective_config, method_class
    from bench.trackers import check_trackers

    cls = method_class(cfg.method)
    _, params = effective_config(cfg)
    check_ranges(params, "model")  # the runner's own range check (bench.checks.ranges)
    check_ranges(cfg.data, "data")
    check_ranges(cfg.eval, "eval")
    check_trackers(cfg.report_to)
    if cfg.eval.metrics:
        from metrics.suite import select_metrics

        select_metrics(cfg.eval.metrics)
    if cfg.eval.judge_prompt_file:
        from metrics.gptscore import read_prompt_file

        read_prompt_file(cfg.eval.judge_prompt_file)
    report.items.append(Item("params", "config", True, "model.* and eval.* settings valid"))
    return params, cls


def _data_item(cfg: RunConfig) -> Item:
    from bench.data import data_file_digests

    try:
        digests = dict(data_file_digests(cfg.dataset, cfg.data))
    except BenchError as exc:
        return Item("data", cfg.dataset, False, _one_line(exc))
    return Item("data", cfg.dataset, True, f"{len(digests)} raw file(s) present: {', '.join(sorted(digests))}")


def _device_item(device: str) -> tuple[Item, str]:
    """The device as this process will use it ("auto" resolved) and whether it exists here
    (bench.checks.device, the check the runner makes in every process)."""
    import torch

    from bench.checks.device import check_device

    try:
        check_device(device)
    except BenchError as exc:
        return Item("device", f"device={device}", False, _one_line(exc)), "cpu"
    if device in ("auto", "", None):
        resolved = "cuda" if torch.cuda.is_available() else "cpu"
        return Item("device", f"device={device}", True, f"resolves to {resolved}"), resolved
    if device.startswith("cuda"):
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return Item("device", f"device={device}", True, torch.cuda.get_device_name(index)), device
    return Item("device", f"device={device}", True, "available"), device


def _metric_loads(cfg: RunConfig, method_cls: Any) -> list[Load]:
    """What the metrics this run will compute load: the requested ones (eval.metrics) or every
    registered metric whose needs the method's predictions and the data can fill."""
    import metrics  # noqa: F401  (registers the built-in metrics)
    from bench.api.records import TRUTH_FIELDS
    from bench.api.registry import registry_for

    registry = registry_for("metrics")
    if cfg.eval.metrics:
        from metrics.suite import select_metrics

        names = list(select_metrics(cfg.eval.metrics))
    else:
        names = registry.names()
    present = set(method_cls.produces) | set(TRUTH_FIELDS)
    out: list[Load] = []
    for name in names:
        if set(registry.declared(name).get("needs") or ()) <= present:
            out += registry.get(name).loads(cfg.eval)
    return out


# -- checkpoints and endpoints --------------------------------------------------------------


def _probe_all(loads: list[Load], probed: dict[Any, tuple[bool, str]]) -> list[Item]:
    """One item per distinct checkpoint and endpoint (roles naming the same one are joined),
    probed concurrently; answers already in `probed` are reused, new ones added to it."""
    groups: dict[Any, list[Load]] = {}
    for load in loads:
        key = ("c", load.ref) if isinstance(load, Checkpoint) else ("e", load.base_url, load.model, load.api_key_env)
        groups.setdefault(key, []).append(load)
    todo = [key for key in groups if key not in probed]
    if todo:
        with ThreadPoolExecutor(max_workers=min(16, len(todo))) as pool:
            probed.update(zip(todo, pool.map(lambda key: _probe(groups[key][0]), todo), strict=True))
    return [_item(same, *probed[key]) for key, same in groups.items()]


def _probe(load: Load) -> tuple[bool, str]:
    return resolve_checkpoint(load.ref) if isinstance(load, Checkpoint) else check_endpoint(load)


def _item(same: list[Load], ok: bool, detail: str) -> Item:
    roles = ", ".join(dict.fromkeys(load.role for load in same))
    first = same[0]
    if isinstance(first, Checkpoint):
        return Item("checkpoint", f"{roles} {first.ref}", ok, detail)
    return Item("endpoint", f"{roles} {first.base_url} ({first.model})", ok, detail)


def resolve_checkpoint(ref: str) -> tuple[bool, str]:
    """(found, where or why not) for a built-in name, a local folder or a Hugging Face id."""
    if Checkpoint("", ref).builtin:
        return True, "built in (no download)"
    path = Path(ref).expanduser()
    if ref.startswith(("/", "./", "../", "~")) or path.exists():
        if not path.is_dir():
            return False, f"local folder {str(path)!r} does not exist"
        if not any((path / f).exists() for f in ("config.json", "modules.json", "adapter_config.json")):
            return False, f"local folder {str(path)!r} has no config.json"
        return True, "local folder"
    if _in_hf_cache(ref):
        return True, "in the local Hugging Face cache"
    from metrics.checkpoint import hub_offline

    if hub_offline():
        return False, "not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, reason = _get(f"{endpoint}/api/models/{ref}", headers)
    if status == 200:
        return True, f"on the hub ({endpoint}; downloads on first use)"
    if status in (401, 403):
        return False, f"gated or private on the hub (HTTP {status}): set HF_TOKEN to a token with access"
    if status == 404:
        return False, f"not in the local Hugging Face cache and not on the hub ({endpoint}: HTTP 404)"
    return False, f"not in the local Hugging Face cache and the hub is unreachable ({endpoint}: {reason})"


def check_endpoint(ep: Endpoint) -> tuple[bool, str]:
    """(usable, detail): the key variable is set (unless the host is this machine) and the
    endpoint answers GET <base>/models."""
    if not ep.base_url or not ep.model:
        return False, "base URL and model name must both be set"
    host = urllib.parse.urlsplit(ep.base_url).hostname or ""
    key = os.environ.get(ep.api_key_env or "", "").strip() if ep.api_key_env else ""
    problems = []
    if not key and not is_loopback(host):  # a local server needs no key
        problems.append(f"${ep.api_key_env} is unset" if ep.api_key_env else "no API key variable named")
    status, reason = _get(_models_url(ep.base_url), {"Authorization": f"Bearer {key}"} if key else {})
    if status is None:
        problems.append(f"unreachable ({reason})")
    elif status in (401, 403):
        problems.append(f"the key was refused (HTTP {status})")
    elif status in (500, 502, 503, 504):  # down or failing; 501/405/404: there, without /models
        problems.append(f"answers HTTP {status}")
    if problems:
        return False, "; ".join(problems)
    note = "" if status == 200 else f" (HTTP {status} on /models)"
    return True, f"answers{note}" + ("" if key else ", no key (local server)")


def _models_url(base_url: str) -> str:
    url = base_url.rstrip("/").removesuffix("/chat/completions")
    if not url.endswith("/v1"):
        url += "/v1"
    return url + "/models"


def _get(url: str, headers: dict[str, str]) -> tuple[int | None, str]:
    """(HTTP status, "") for any answer, (None, reason) when nothing answered in time."""
    request = urllib.request.Request(url, headers={"User-Agent": "erbench-preflight", **headers})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason


def _in_hf_cache(ref: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for name in ("config.json", "modules.json", "adapter_config.json"):
        try:
            if isinstance(try_to_load_from_cache(ref, name), str):
                return True
        except Exception:  # noqa: BLE001 (an id the hub library rejects is simply not cached)
            return False
    return False


def _one_line(exc: BaseException) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


# -- planned work ---------------------------------------------------------------------------


def _estimate(report: Preflight, loads: list[Load]) -> None:
    from bench.run_estimate import estimate_seconds, format_duration, parameters_of

    backbone = next((x.ref for x in loads if isinstance(x, Checkpoint) and x.role == "model.backbone"), None)
    seconds = None
    if backbone is not None:
        seconds = estimate_seconds(report.plan, report.device, parameters_of(backbone, _config_file(backbone)))
        if seconds is not None:
            report.estimate = (f"~{format_duration(seconds)} of generation and training (rough: documented "
                               "per-step costs, bench/run_estimate.py; loading and scoring not included)")  # fmt: skip
    if report.device.startswith("cuda"):
        return
    biggest = max((s.records or 0 for s in report.plan), default=0)
    if biggest >= GPU_SIZED_RECORDS or (seconds or 0) >= GPU_SIZED_SECONDS:
        report.warnings.append(
            f"this run is sized for a GPU ({biggest:,} records in a stage"
            + (f", ~{format_duration(seconds)} estimated" if seconds else "")
            + ") and starts on a CPU; --profile cpu or tiny is sized for one"
        )


def _config_file(ref: str) -> Path | None:
    path = Path(ref).expanduser() / "config.json"
    if path.is_file():
        return path
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(ref, "config.json")
    except Exception:  # noqa: BLE001
        return None
    return Path(found) if isinstance(found, str) else None


def print_lines(lines: list[str], *, to_stderr: bool = False) -> None:
    import sys

    if lines:
        print("\n".join(lines), file=sys.stderr if to_stderr else sys.stdout, flush=True)

