"""The one place that talks to TRL (pinned to trl==1.16.0).

Methods describe a training job (model, tokenizer, rows, reward functions, settings) and
call `train_grpo`, `train_dpo`, `train_sft` or `train_orpo`; they never import TRL. Every
`trl.experimental` import goes through `experimental()` below, so an upstream move is fixed
here once.

TRL 1.16 facts this adapter encodes:
- configs default to bf16 and fail on CPU: bf16 is on only with CUDA (+bf16 support);
  `use_cpu=True` when there is no CUDA;
- GRPO: the generation batch must be a multiple of `num_generations`;
  `max_completion_length` defaults to 512 (callers set it small); GRPOConfig has no
  `max_prompt_length` in 1.16 — prompts are truncated by the caller;
- DPO on an in-memory model without LoRA needs an explicit `ref_model` (a frozen copy is made);
  with LoRA the adapter-disabled model is the reference;
- ORPOTrainer lives in `trl.experimental.orpo`;
- PPOTrainer was removed in TRL >= 1.13: ExpCTR's PPO is erbench's own (bench.adapters.ppo);
- GRPO and DPO score tokens through a fused, chunked LM head (`add_fused_lm_head`) that projects
  only the completion positions on Triton devices but every position elsewhere (CPU included),
  so on CPU the 49k-word head ran over the whole prompt too; `_completion_positions_only` keeps
  the compact path on CPU (same log-probs; a tiny Curr-RLCER GRPO step 26% less CPU time).
"""

from __future__ import annotations

import copy
import importlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import ConfigError
from bench.backbones.generate import CHAT_TEMPLATE_KWARGS

log = logging.getLogger(__name__)

TRL_VERSION = "1.16.0"

LogFn = Callable[[int, dict[str, float]], None]  # (global step, scalars)


class TRLUnsupported(RuntimeError):
    """The requested trainer does not exist in the pinned TRL version."""


def check_trl_version(strict: bool = False) -> str:
    import trl

    if trl.__version__ != TRL_VERSION:
        msg = f"erbench is pinned to trl=={TRL_VERSION}, found {trl.__version__}"
        if strict:
            raise TRLUnsupported(msg)
        log.warning(msg)
    return trl.__version__


def experimental(name: str) -> Any:
    """Import `trl.experimental.<name>` (the only experimental import in the code base)."""
    try:
        return importlib.import_module(f"trl.experimental.{name}")
    except ImportError as exc:
        raise TRLUnsupported(f"trl.experimental.{name} is not available in this TRL: {exc}") from exc


# -- settings ----------------------------------------------------------------------------


@dataclass
class TrainSettings:
    """Knobs shared by every trainer; `extra` passes any other TRL config field through."""

    max_steps: int = 10
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    warmup_steps: int = 0
    lr_scheduler_type: str = "constant"
    max_grad_norm: float = 1.0
    seed: int = 0
    logging_steps: int = 1
    gradient_checkpointing: bool = False
    device: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class GRPOSettings(TrainSettings):
    num_generations: int = 4  # group size G (eq. 2); divides the generation batch
    max_completion_length: int = 64
    beta: float = 0.0  # KL coefficient (TRL default 0.0)
    temperature: float = 1.0
    top_p: float = 1.0
    loss_type: str = "grpo"  # the DeepSeek sequence-mean objective of eq. 2
    scale_rewards: str = "group"  # A_i = (r_i - mean) / std within each group (eq. 2)
    reward_weights: list[float] | None = None
    num_iterations: int = 1


@dataclass
class DPOSettings(TrainSettings):
    beta: float = 0.1
    max_length: int = 768
    loss_type: str = "sigmoid"  # eq. 1


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _precision_kwargs(device: str) -> dict[str, Any]:
    import torch

    on_cuda = device.startswith("cuda") or (device == "auto" and _cuda())
    if on_cuda and torch.cuda.is_available():
        return {"bf16": bool(torch.cuda.is_bf16_supported()), "fp16": False, "use_cpu": False}
    return {"bf16": False, "fp16": False, "use_cpu": True}


def _common_kwargs(s: TrainSettings, output_dir: str | Path) -> dict[str, Any]:
    return dict(
        output_dir=str(output_dir),
        max_steps=s.max_steps,
        learning_rate=s.learning_rate,
        per_device_train_batch_size=s.per_device_train_batch_size,
        gradient_accumulation_steps=s.gradient_accumulation_steps,
        warmup_steps=s.warmup_steps,
        lr_scheduler_type=s.lr_scheduler_type,
        max_grad_norm=s.max_grad_norm,
        seed=s.seed,
        data_seed=s.seed,
        logging_steps=s.logging_steps,
        gradient_checkpointing=s.gradient_checkpointing,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        **_precision_kwargs(s.device),
    )


def grpo_config(s: GRPOSettings, output_dir: str | Path) -> Any:
    from trl import GRPOConfig

    kw = _common_kwargs(s, output_dir)
    per_step = s.per_device_train_batch_size * s.gradient_accumulation_steps
    if per_step % s.num_generations:
        raise ConfigError(
            f"GRPO: per_device_train_batch_size x gradient_accumulation_steps ({per_step}) must be "
            f"a multiple of num_generations ({s.num_generations})"
        )
    kw.update(
        num_generations=s.num_generations,
        max_completion_length=s.max_completion_length,
        beta=s.beta,
        temperature=s.temperature,
        top_p=s.top_p,
        loss_type=s.loss_type,
        scale_rewards=s.scale_rewards,
        num_iterations=s.num_iterations,
        log_completions=False,
        chat_template_kwargs=dict(CHAT_TEMPLATE_KWARGS),  # Qwen3: no <think> in the rollouts
    )
    if s.reward_weights is not None:
        kw["reward_weights"] = list(s.reward_weights)
    kw.update(s.extra)
    return GRPOConfig(**kw)


def dpo_config(s: DPOSettings, output_dir: str | Path) -> Any:
    from trl import DPOConfig

    kw = _common_kwargs(s, output_dir)
    kw.update(beta=s.beta, max_length=s.max_length, loss_type=[s.loss_type])
    kw.update(s.extra)
    try:
        return DPOConfig(**kw)
    except (TypeError, ValueError):  # loss_type as a plain string in some releases
        kw["loss_type"] = s.loss_type
        return DPOConfig(**kw)


# -- logging -----------------------------------------------------------------------------


def _log_callback(log_fn: LogFn | None):
    from transformers import TrainerCallback

    class _Forward(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: D401
            if log_fn is None or not logs or "train_runtime" in logs:
                return
            scalars = {}
            for key, value in logs.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    if isinstance(value, float) and not math.isfinite(value):
                        continue
                    scalars[key.replace("/", ".")] = float(value)
            if scalars:
                log_fn(int(state.global_step), scalars)

    return _Forward()


# logged keys shown beside the progress bar, under a short name
_SHOWN = {"loss": "loss", "reward": "reward", "rewards/margins": "margin"}


def progress_callback(description: str) -> Any:
    """A TrainerCallback feeding a `bench.api.progress.bar`: one step per optimizer step of the
    trainer, with its latest logged loss / reward beside the bar. `close()` ends the bar when
    training stops early (an exception skips on_train_end)."""
    from transformers import TrainerCallback

    from bench.api.progress import bar

    class _Progress(TrainerCallback):
        def __init__(self) -> None:
            self._bar = ExitStack()
            self._advance: Callable[..., None] | None = None
            self._done = 0
            self._status: dict[str, float] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            self._advance = self._bar.enter_context(bar(description, state.max_steps or None))
            self._done = state.global_step

        def on_step_end(self, args, state, control, **kwargs):
            if self._advance is not None:
                self._advance(state.global_step - self._done, **self._status)
            self._done = state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            shown = {
                name: float(logs[key])
                for key, name in _SHOWN.items()
                if isinstance((logs or {}).get(key), (int, float))
            }
            if shown:
                self._status = shown
                if self._advance is not None:
                    self._advance(0, **shown)

        def on_train_end(self, args, state, control, **kwargs):
            self.close()

        def close(self) -> None:
            self._bar.close()
            self._advance = None

    return _Progress()


@contextmanager
def _library_bars_off() -> Iterator[None]:
    """Hide transformers' and datasets' own tqdm bars (and DPO's reference pass, which reads
    TQDM_DISABLE) while a trainer runs, so only erbench's bar is drawn."""
    import datasets
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    old_env = os.environ.get("TQDM_DISABLE")
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
        if old_env is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old_env


@contextmanager
def _completion_positions_only() -> Iterator[None]:
    """While a trainer runs, score only the labelled (completion) positions in TRL's fused LM
    head on CPU as well. TRL 1.16 skips that compaction off Triton devices because the varying
    token count would recompile Neuron graphs; eager CPU kernels take any shape."""
    utils = importlib.import_module("trl.trainer.utils")
    original = utils._use_triton
    utils._use_triton = lambda device: device.type == "cpu" or original(device)
    try:
        yield
    finally:
        utils._use_triton = original


def named_reward(name: str, fn: Callable[..., list[float]]) -> Callable[..., list[float]]:
    """A reward function whose __name__ TRL uses in its log keys (rewards/<name>/mean)."""

    def reward(prompts=None, completions=None, **kwargs):
        return [float(x) for x in fn(completions=completions, prompts=prompts, **kwargs)]

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def completion_text(completion: Any) -> str:
    """TRL passes a conversational completion as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[0], dict):
        return "".join(str(m.get("content", "")) for m in completion)
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


def _dataset(rows: Sequence[dict[str, Any]]):
    import datasets

    datasets.disable_progress_bars()
    return datasets.Dataset.from_list([dict(r) for r in rows])


def _quiet(trainer: Any) -> Any:
    """Drop the Trainer's stdout printer and tqdm bar; scalars reach the run through log_fn,
    progress through progress_callback."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


# -- trainers ----------------------------------------------------------------------------


def _thinking_off(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conversational rows with TRL's per-row `chat_template_kwargs` (thinking off, as
    render_chat renders prompts); plain-text rows as they are."""
    return [
        {**row, "chat_template_kwargs": dict(CHAT_TEMPLATE_KWARGS)}
        if isinstance(row.get("prompt", row.get("messages")), list) else dict(row)
        for row in rows
    ]


def _fit(trainer_cls: Any, model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]], args: Any,
         log_fn: LogFn | None, peft_config: Any, **extra: Any) -> Any:
    """Build one TRL trainer the same way for every algorithm, train it, return its model."""
    progress = progress_callback(f"{trainer_cls.__name__.removesuffix('Trainer')} steps")
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=_dataset(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_log_callback(log_fn), progress],
        **extra,
    )
    try:
        with _library_bars_off(), _completion_positions_only():
            _quiet(trainer).train()
    finally:
        progress.close()
    return trainer.model


def train_grpo(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    rewards: dict[str, Callable[..., list[float]]],
    settings: GRPOSettings,
    output_dir: str | Path,
    *,
    log_fn: LogFn | None = None,
    peft_config: Any = None,
) -> Any:
    """GRPO on `rows` ({"prompt": chat messages, ...extra columns passed to rewards}).

    `rewards` maps component name -> fn(completions, prompts, **columns) -> list[float];
    each component is logged as rewards.<name>.mean. Returns the trained model (a PeftModel
    when `peft_config` is given or `model` already is one).
    """
    from bench.adapters.grpo_prefill import shared_prefill_grpo_trainer

    check_trl_version()
    tokenizer.padding_side = "left"
    funcs = [named_reward(name, fn) for name, fn in rewards.items()]
    # each prompt's prefill shared by its G completions (same samples at the same seed)
    return _fit(shared_prefill_grpo_trainer(), model, tokenizer, rows, grpo_config(settings, output_dir), log_fn, peft_config,
                reward_funcs=funcs)


def train_dpo(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    settings: DPOSettings,
    output_dir: str | Path,
    *,
    log_fn: LogFn | None = None,
    peft_config: Any = None,
    ref_model: Any = None,
) -> Any:
    """DPO (eq. 1) on rows {"prompt", "chosen", "rejected"} (chat messages or strings).

    Without LoRA (no peft_config, model not a PeftModel) and no `ref_model`, a frozen deep copy
    of `model` is made the reference, as TRL needs for an in-memory model.
    """
    from trl import DPOTrainer

    check_trl_version()
    is_peft = peft_config is not None or hasattr(model, "peft_config")
    if ref_model is None and not is_peft:
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    return _fit(DPOTrainer, model, tokenizer, _thinking_off(rows), dpo_config(settings, output_dir), log_fn, peft_config,
                ref_model=ref_model)


def train_sft(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    settings: TrainSettings,
    output_dir: str | Path,
    *,
    log_fn: LogFn | None = None,
    peft_config: Any = None,
    max_length: int = 768,
) -> Any:
    """Supervised fine-tuning on rows {"prompt", "completion"} or {"messages"} (hook for
    the ORPO/SFT distillation and ExpCTR methods)."""
    from trl import SFTConfig, SFTTrainer

    check_trl_version()
    check_sft_prompt_lengths(tokenizer, rows, max_length)
    kw = _common_kwargs(settings, output_dir)
    kw.update(max_length=max_length)
    kw.update(settings.extra)
    return _fit(SFTTrainer, model, tokenizer, _thinking_off(rows), SFTConfig(**kw), log_fn, peft_config)


def prompt_tokens(tokenizer: Any, prompt: Any) -> int:
    """Tokens of a row's prompt as SFTTrainer renders it (chat template, thinking off)."""
    if isinstance(prompt, list):
        prompt = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True,
                                               **CHAT_TEMPLATE_KWARGS)  # fmt: skip
    return len(tokenizer(prompt, add_special_tokens=False)["input_ids"])


def check_sft_prompt_lengths(tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int) -> None:
    """SFTTrainer keeps the first max_length tokens and silently drops a row whose prompt alone
    fills them (no completion token left to learn): say how many, and stop when that is every
    row (TRL then fails with "num_samples=0" in its sampler)."""
    lengths = [prompt_tokens(tokenizer, r["prompt"]) for r in rows if "prompt" in r]
    full = sum(n >= max_length for n in lengths)
    if lengths and full == len(lengths):
        raise ConfigError(f"max_length={max_length}: every one of the {full} SFT prompts is at least that long "
                          f"(shortest {min(lengths)} tokens), so no completion token is left to train on; "
                          "raise the method's max_length")  # fmt: skip
    if full:
        log.warning("max_length=%d: %d of %d SFT prompts fill it; those rows train on nothing", max_length, full,
                    len(lengths))  # fmt: skip


def train_orpo(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    settings: TrainSettings,
    output_dir: str | Path,
    *,
    beta: float = 0.1,
    max_length: int = 768,
    log_fn: LogFn | None = None,
    peft_config: Any = None,
) -> Any:
    """ORPO on rows {"prompt", "chosen", "rejected"} via trl.experimental.orpo (hook)."""
    orpo = experimental("orpo")
    check_trl_version()
    kw = _common_kwargs(settings, output_dir)
    kw.update(beta=beta, max_length=max_length)
    kw.update(settings.extra)
    return _fit(orpo.ORPOTrainer, model, tokenizer, _thinking_off(rows), orpo.ORPOConfig(**kw), log_fn, peft_config)
