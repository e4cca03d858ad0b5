"""What produced a run: code version, packages, device, data digests, seed, checkpoints."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "erbench", "torch", "transformers", "trl", "peft", "recbole",
    "bert-score", "sacrebleu", "rouge-score", "scikit-learn", "numpy", "scipy", "pandas",
)  # fmt: skip


def git_state(root: Path | None = None) -> dict[str, Any]:
    root = root or Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root, capture_output=True, text=True, check=True,
            ).stdout.strip()
        )  # fmt: skip
        return {"sha": sha, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"sha": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"requested": device, "platform": platform.platform(), "python": sys.version.split()[0]}
    torch = sys.modules.get("torch")  # only describe CUDA if torch was needed by the run
    if torch is not None:
        info["cuda_available"] = bool(torch.cuda.is_available())
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
        info["torch_threads"] = torch.get_num_threads()
    return info


def collect(
    *, seed: int, device: str, data_report: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": git_state(),
        "packages": package_versions(),
        "device": device_info(device),
        "seed": seed,
        "data": data_report or {},
        **(extra or {}),
    }
