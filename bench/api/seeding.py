"""Per-stage seeding: every training stage starts from RNG states fixed by (run seed, stage name).

A stage that draws from the global generators (LoRA init, dropout, shuffling) must not depend
on whether earlier stages were trained in this attempt or reloaded by `--resume`: training
advances the global RNGs, reloading does not. RunContext.stage therefore reseeds python
`random`, numpy's global generator and torch (every CUDA device too) right before each stage
trains, from `stage_seed(run seed, stage name)`.
"""

from __future__ import annotations

import hashlib
import random


def stage_seed(seed: int, stage: str) -> int:
    """A stable 32-bit seed for one stage of one run (the same on every machine and Python)."""
    digest = hashlib.sha256(f"{seed}:{stage}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 2**32


def seed_global_rngs(seed: int) -> None:
    """Seed python `random`, numpy's global generator and torch (CPU and every CUDA device)."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch-free methods (e.g. retrieval on a slim install)
        return
    torch.manual_seed(seed)  # also seeds every CUDA device (torch.cuda.manual_seed_all)
