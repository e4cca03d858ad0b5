"""One training epoch of PETER / PETER+ / CER (bench.adapters.torch_loop.fit_loop: the steps, the
validation pass, the checkpoint), today's code against an older commit's, in one process on the
same prepared data and the same initial weights, interleaved A-B-B-A (benchmarks/abba.py).

    python benchmarks/bench_classic_epoch.py --method peter [--versus d4e9976] [--steps 0]
        [--rounds 1] [--dataset amazon-instruments] [--profile cpu] [--precision bf16]

The older commit's baselines/peter.py, baselines/cer.py and bench/adapters/torch_loop.py are
read with `git show` and imported under other names; everything else (data, corpus, tensors) is
shared. The new side sets the allocator as the new fit does (bench/adapters/heap.py), the
old side sets glibc's largest adaptive thresholds (mmap above 32 MB, trim above 64 MB) before
each call. `--steps N` stops the epoch after N optimizer steps (0: the whole epoch). Prints wall and
CPU seconds per call, the new/old ratios, and how far the two sides' per-step losses, validation
scalars and final weights are apart (same seed, so only float rounding may differ). Run with
OMP_NUM_THREADS=1 (the `cpu` profiles' `threads: 1`). `--precision bf16` trains the new side
under bf16 autocast (`model.precision`); `--versus HEAD` then times that option alone.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import subprocess
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from abba import abba  # noqa: E402

OLD_FILES = {  # module name in this process -> path at the old commit
    "_old_torch_loop": "bench/adapters/torch_loop.py",
    "_old_peter": "baselines/peter.py",
    "_old_cer": "baselines/cer.py",
}


def import_old(rev: str) -> dict[str, types.ModuleType]:
    """The old commit's modules, with cer.py importing the old peter.py."""
    modules = {}
    for name, path in OLD_FILES.items():
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True
        ).stdout
        source = source.replace("from baselines.peter import", "from _old_peter import")
        module = types.ModuleType(name)
        module.__file__ = f"{rev}:{path}"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # our own repository's code
        modules[name] = module
    return modules


class StubRun:
    """What fit_loop reads of a run: seed, device, progress bars (none), the train log (kept)."""

    def __init__(self, seed: int):
        self.seed, self.device, self.logged = seed, "cpu", []

    @contextlib.contextmanager
    def progress(self, name, total):
        yield lambda n=1, **info: None

    def log(self, stage, step, **row):
        self.logged.append(row)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="peter", choices=["peter", "peter+", "cer"])
    ap.add_argument("--versus", default="d4e9976", help="the older commit (default: before issue #26's classic work)")
    ap.add_argument("--dataset", default="amazon-instruments")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--steps", type=int, default=0, help="stop each epoch after this many steps (0: whole epoch)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default=None, help="the new side's model.precision")
    args = ap.parse_args()

    import torch

    from bench import data as data_layer
    from bench.adapters import torch_loop
    from bench.api.run_folder import RunContext
    from bench.config import resolve
    from bench.identity import effective_config, method_class

    old = import_old(args.versus)
    old_classes = {"peter": old["_old_peter"].PETER, "peter+": old["_old_peter"].PETERPlus, "cer": old["_old_cer"].CER}

    cfg = resolve(args.method, args.dataset, profile=args.profile, sets=["device=cpu"])
    cfg, params = effective_config(cfg)
    splits = data_layer.make_splits(data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    scratch = Path(tempfile.mkdtemp(prefix="bench-classic-"))
    new_method = method_class(args.method)(params, RunContext(scratch / "ctx", cfg, quiet=True))
    train, valid = new_method.prepare(splits)
    initial = copy.deepcopy(new_method.model.state_dict())
    old_method = old_classes[args.method](params, new_method.run)
    old_method.corpus, old_method.extractor = new_method.corpus, new_method.extractor
    old_method.model = old_method.build_model()
    settings = dataclasses.replace(
        torch_loop.LoopSettings.from_params(params), epochs=1, max_steps=args.steps or None
    )
    print(
        f"{args.method} on {args.dataset} ({args.profile}): {len(train)} train / {len(valid) if valid else 0} valid "
        f"records, {train.num_batches(settings.batch_size)} batches of {settings.batch_size}, vocabulary "
        f"{len(new_method.corpus.vocab)}, torch threads {torch.get_num_threads()}, old = {args.versus}"
    )

    from bench.adapters.heap import keep_freed_memory

    def side(loop, method, name, settings):
        def epoch():
            # the new fit keeps freed memory in the heap (bench/adapters/heap.py); the old one
            # gets glibc's own most generous state: mmap above 32 MB, trim above 64 MB
            keep_freed_memory() if name == "new" else keep_freed_memory(32 << 20)
            method.model.load_state_dict(initial)
            run = StubRun(cfg.seed)
            stage_dir = scratch / name
            stage_dir.mkdir(exist_ok=True)
            step_losses = []

            def loss_fn(model, batch):  # records each step's scalars on the way
                loss, scalars = method.loss(model, batch)
                if model.training:
                    step_losses.append(float(loss.detach()))
                return loss, scalars

            loop.fit_loop(run, method.stage_name, stage_dir, method.model, train, valid, loss_fn, settings)
            return step_losses, run.logged[-1], {k: v.clone() for k, v in method.model.state_dict().items()}

        return epoch

    a, b = abba(
        side(old["_old_torch_loop"], old_method, "old", settings),
        side(torch_loop, new_method, "new", dataclasses.replace(settings, precision=args.precision)),
        rounds=args.rounds, names=(f"old {args.versus}", f"new {args.precision or 'fp32'}"),
    )  # fmt: skip
    (la, rowa, wa), (lb, rowb, wb) = a.result, b.result
    print(f"  steps: {len(la)} old, {len(lb)} new; max |step loss difference| {max(abs(x - y) for x, y in zip(la, lb, strict=True)):.3g}")
    keys = sorted(k for k in rowa if k.startswith("valid_") or k.startswith("train_"))
    print("  " + ", ".join(f"{k} {rowa[k]:.6f}/{rowb[k]:.6f}" for k in keys))
    print(f"  max |validation difference| {max(abs(rowa[k] - rowb[k]) for k in keys):.3g}")
    print(f"  max |final weight difference| {max((wa[k] - wb[k]).abs().max().item() for k in wa):.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
