"""Is the configured device usable here? Checked before any data is read or model built.

Before, `--set device=cuda:7` on a CPU machine raised a traceback from torch.cuda.set_device,
`device=cuda` reached "Torch not compiled with CUDA enabled" deep in a method, and a method
that never moved a tensor ran on the CPU under a run id that says cuda.
"""

from __future__ import annotations

from bench.api.errors import ConfigError


def check_device(device: str) -> None:
    """Raise a one-line ConfigError when `device` (auto, cpu, cuda, cuda:N, mps) is not
    available to this process; "auto" and "cpu" always are."""
    if device in ("auto", "cpu"):
        return
    import torch

    if device == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ConfigError(
                "config key 'device' is mps, but no Apple MPS device is available "
                "here; use device=auto or device=cpu"
            )
        return
    if not device.startswith("cuda"):
        return  # RunConfig already refused anything else
    if not torch.cuda.is_available():
        why = "torch was built without CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise ConfigError(
            f"config key 'device' is {device}, but there is no CUDA device here ({why}); "
            "use device=auto (cuda when present, else cpu) or device=cpu"
        )
    count = torch.cuda.device_count()
    if ":" in device and int(device.split(":", 1)[1]) >= count:
        raise ConfigError(
            f"config key 'device' is {device}, but this machine has {count} CUDA "
            f"device(s): cuda:0 to cuda:{count - 1}"
        )
