"""Put the adapted collaborative vectors into a frozen Hugging Face causal LM, at every layer.

XRec (Fig. 1 (iii), "Unifying CF with LLM") injects the adapted user/item embeddings at the
placeholder tokens into every layer of the LLM, not only its input. Its code does it with a
copied, modified Llama (HKUDS/XRec explainer/models/modeling_explainer.py): in each attention
layer the vector is added to the query, key and value projections at the placeholder
positions, during the full-sequence pass only (decode steps read those positions from the KV
cache). Here the same is done with forward hooks on an unmodified model, in three modes (`model.injection`):

- "hidden" (default): a forward pre-hook on every decoder layer overwrites the layer's input
  hidden state at each placeholder position with the adapted vector, so every layer sees it
  as that token's state (works for any decoder-only HF model, grouped-query attention too);
- "qkv": XRec's own operation, forward hooks on every layer's q_proj / k_proj / v_proj add
  the vector to their outputs at the placeholder positions; needs Llama-style projections
  whose output width is the hidden size (Llama-2-7b: yes; SmolLM2 and other grouped-query
  models: k/v are narrower, refused with one line);
- "input": no hooks, the vector only replaces the placeholder's input embedding (XRec's
  "w/o injection" ablation).

In every mode the caller also writes the vectors into `inputs_embeds` (`place`). Hooks are
installed only inside `Injector.active(...)`, so the backbone is untouched outside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from bench.api.errors import BenchError

MODES = ("hidden", "qkv", "input")
QKV = ("q_proj", "k_proj", "v_proj")


def place(states: torch.Tensor, positions: torch.Tensor, vectors: torch.Tensor, *, add: bool = False) -> torch.Tensor:
    """`states` (B', T, H) with row b's `positions[b, s]` set to (or, with add, increased by)
    `vectors[b, s]`. B' may be a multiple of B (beam search repeats each prompt): rows are
    matched by repeat_interleave. Out of place, so gradients reach `vectors`."""
    repeat = states.shape[0] // positions.shape[0]
    if repeat > 1:
        positions = positions.repeat_interleave(repeat, dim=0)
        vectors = vectors.repeat_interleave(repeat, dim=0)
    rows = torch.arange(states.shape[0], device=states.device).unsqueeze(1).expand_as(positions)
    return states.index_put((rows, positions.to(states.device)), vectors.to(states.dtype), accumulate=add)


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The model's stack of decoder layers: the first ModuleList as long as its layer count."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    count = getattr(config, "num_hidden_layers", None)
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == count:
            return module
    raise BenchError(f"cannot find the {count} decoder layers of {type(model).__name__} to inject into")


def qkv_projections(layer: nn.Module) -> list[nn.Module]:
    found = {name.rsplit(".", 1)[-1]: module for name, module in layer.named_modules()}
    missing = [n for n in QKV if n not in found]
    if missing:
        raise BenchError(
            f"model.injection=qkv needs Llama-style attention projections ({', '.join(QKV)}); "
            f"{type(layer).__name__} has no {', '.join(missing)}: use model.injection=hidden"
        )
    return [found[n] for n in QKV]


class Injector:
    """Hooks that put (positions, vectors) into the model while `active`."""

    def __init__(self, model: nn.Module, mode: str = "hidden"):
        if mode not in MODES:
            raise BenchError(f"model.injection must be one of {', '.join(MODES)}, got {mode!r}")
        self.model = model
        self.mode = mode
        self.layers = decoder_layers(model) if mode != "input" else nn.ModuleList()
        self.targets: list[nn.Module] = list(self.layers)
        if mode == "qkv":
            hidden = model.config.get_text_config().hidden_size
            self.targets = [proj for layer in self.layers for proj in qkv_projections(layer)]
            narrow = sorted({p.out_features for p in self.targets if getattr(p, "out_features", hidden) != hidden})
            if narrow:
                raise BenchError(
                    f"model.injection=qkv adds the hidden-size vector to q/k/v as XRec does, but this "
                    f"model's projections are {narrow} wide, not {hidden} (grouped-query attention): "
                    "use model.injection=hidden"
                )

    @contextmanager
    def active(self, positions: torch.Tensor, vectors: torch.Tensor, length: int) -> Iterator[None]:
        """Inject `vectors` (B, S, H) at `positions` (B, S) into every full pass over a sequence
        of `length` tokens (training, or generation's first step); shorter passes (decode steps)
        are left alone, their keys and values for those positions come from the cache."""
        handles = []
        try:
            for target in self.targets:
                if self.mode == "hidden":
                    handles.append(target.register_forward_pre_hook(self._pre_hook(positions, vectors, length), with_kwargs=True))
                else:
                    handles.append(target.register_forward_hook(self._add_hook(positions, vectors, length)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    @staticmethod
    def _pre_hook(positions: torch.Tensor, vectors: torch.Tensor, length: int):
        def hook(module: nn.Module, args: tuple, kwargs: dict[str, Any]):
            in_args = bool(args)
            hidden = args[0] if in_args else kwargs["hidden_states"]
            if hidden.shape[1] != length:
                return None
            hidden = place(hidden, positions, vectors)  # the layer's input at the slots := a(x)
            if in_args:
                return (hidden, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": hidden}

        return hook

    @staticmethod
    def _add_hook(positions: torch.Tensor, vectors: torch.Tensor, length: int):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor):
            if output.shape[1] != length:
                return None
            return place(output, positions, vectors, add=True)  # q/k/v at the slots += a(x)

        return hook
