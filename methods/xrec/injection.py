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
- "hidden_add": the same pre-hooks add the vector to the layer's input hidden state instead
  of overwriting it (h + a(x), XRec's additive operation moved from q/k/v to the residual
  stream); the first layer's input already is a(x) (the placeholder embedding), so the hooks
  sit on the layers after the first;
- "qkv": XRec's own operation, forward hooks on every layer's q_proj / k_proj / v_proj add
  the vector to their outputs at the placeholder positions; needs Llama-style projections
  whose output width is the hidden size (Llama-2-7b: yes; SmolLM2 and other grouped-query
  models: k/v are narrower, refused with one line);
- "qkv_grouped": XRec's operation on grouped-query attention (Llama-3, Qwen2, SmolLM2): q
  gets the vector as in "qkv"; k and v, which have one head per group of query heads, get
  it projected to their width by averaging, for each key/value head, the vector's slices of
  the query heads that share it (q head h reads kv head h // (heads / kv_heads), as
  transformers' repeat_kv); with as many kv heads as query heads this is exactly "qkv";
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

MODES = ("hidden", "hidden_add", "qkv", "qkv_grouped", "input")
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


def attention_shape(model: nn.Module) -> tuple[int, int, int]:
    """(query heads, key/value heads, head width) of the model's attention."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return heads, kv_heads, head_dim


def group_mean(vectors: torch.Tensor, heads: int, kv_heads: int) -> torch.Tensor:
    """(..., heads * d) -> (..., kv_heads * d): per kv head, the mean of the vector's slices
    of the heads / kv_heads consecutive query heads that share it (repeat_kv's grouping)."""
    *lead, width = vectors.shape
    d = width // heads
    grouped = vectors.reshape(*lead, kv_heads, heads // kv_heads, d)
    return grouped.mean(dim=-2).reshape(*lead, kv_heads * d)


class Injector:
    """Hooks that put (positions, vectors) into the model while `active`."""

    def __init__(self, model: nn.Module, mode: str = "hidden"):
        if mode not in MODES:
            raise BenchError(f"model.injection must be one of {', '.join(MODES)}, got {mode!r}")
        self.model = model
        self.mode = mode
        self.layers = decoder_layers(model) if mode != "input" else nn.ModuleList()
        self.targets: list[nn.Module] = list(self.layers)[1:] if mode == "hidden_add" else list(self.layers)
        # per target: how the (B, S, hidden) vectors are mapped to its output width
        self.projections: list[Any] = [None] * len(self.targets)
        if mode in ("qkv", "qkv_grouped"):
            hidden = model.config.get_text_config().hidden_size
            triples = [qkv_projections(layer) for layer in self.layers]
            self.targets = [proj for triple in triples for proj in triple]
            widths = sorted({p.out_features for p in self.targets if getattr(p, "out_features", hidden) != hidden})
            if mode == "qkv" and widths:
                raise BenchError(
                    f"model.injection=qkv adds the hidden-size vector to q/k/v as XRec does, but this "
                    f"model's projections are {widths} wide, not {hidden} (grouped-query attention): "
                    "use model.injection=qkv_grouped or hidden"
                )
            heads, kv_heads, head_dim = attention_shape(model)
            if mode == "qkv_grouped" and (heads * head_dim != hidden or heads % kv_heads):
                raise BenchError(
                    f"model.injection=qkv_grouped needs query projections as wide as the hidden size "
                    f"({heads} heads x {head_dim} = {heads * head_dim}, hidden {hidden}) and whole groups "
                    f"({heads} heads over {kv_heads} kv heads): use model.injection=hidden"
                )
            narrow = (lambda v: group_mean(v, heads, kv_heads)) if kv_heads != heads else None
            self.projections = [None if kind == "q_proj" else narrow for _ in triples for kind in QKV]

    @contextmanager
    def active(self, positions: torch.Tensor, vectors: torch.Tensor, length: int) -> Iterator[None]:
        """Inject `vectors` (B, S, H) at `positions` (B, S) into every full pass over a sequence
        of `length` tokens (training, or generation's first step); shorter passes (decode steps)
        are left alone, their keys and values for those positions come from the cache."""
        handles = []
        try:
            for target, project in zip(self.targets, self.projections, strict=True):
                if self.mode in ("hidden", "hidden_add"):
                    hook = self._pre_hook(positions, vectors, length, add=self.mode == "hidden_add")
                    handles.append(target.register_forward_pre_hook(hook, with_kwargs=True))
                else:
                    moved = project(vectors) if project is not None else vectors
                    handles.append(target.register_forward_hook(self._add_hook(positions, moved, length)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    @staticmethod
    def _pre_hook(positions: torch.Tensor, vectors: torch.Tensor, length: int, add: bool = False):
        def hook(module: nn.Module, args: tuple, kwargs: dict[str, Any]):
            in_args = bool(args)
            hidden = args[0] if in_args else kwargs["hidden_states"]
            if hidden.shape[1] != length:
                return None
            hidden = place(hidden, positions, vectors, add=add)  # the layer's input at the slots := a(x) (add: += a(x))
            if in_args:
                return (hidden, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": hidden}

        return hook

    @staticmethod
    def _add_hook(positions: torch.Tensor, vectors: torch.Tensor, length: int):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor):
            if output.shape[1] != length:
                return None
            return place(output, positions, vectors, add=True)  # q/k/v at the slots += a(x) (k/v: its group mean)

        return hook
