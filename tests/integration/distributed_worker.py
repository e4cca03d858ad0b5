"""A few data-parallel training steps on the tiny random Llama, for test_distributed_cpu.

Run under torchrun (`python -m torch.distributed.run --nproc-per-node 2 THIS OUT`) or
called in one process: the same global batch either way, so the trained tensors must agree.
- TRL DPO (bench.adapters.trl), 2 steps of a global batch of 4 pairs (2 per process);
- erbench's PPO (bench.adapters.ppo), 2 updates of a fixed rollout of 4 responses of
  different lengths, minibatches of 2 drawn over the whole batch (so they cross processes).
The main process saves the LoRA and value-head tensors to OUT/{dpo,ppo}.pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

PAIRS = [
    {
        "prompt": [{"role": "user", "content": f"Why buy item {i}?"}],
        "chosen": [{"role": "assistant", "content": "great tone " * (i + 1)}],
        "rejected": [{"role": "assistant", "content": "it broke"}],
    }
    for i in range(8)
]


def _policy(seed: int = 0):
    from bench.backbones import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    bb = load_backbone("tiny-random", device="cpu", seed=seed)
    torch.manual_seed(seed)  # the same LoRA initialisation in every process
    return add_lora(bb.model, lora_config(r=4, alpha=8, dropout=0.0)), bb.tokenizer


def dpo_steps(out_dir: Path) -> dict[str, torch.Tensor]:
    from bench.adapters import trl as A
    from bench.api.distributed import per_process
    from bench.backbones.lora import lora_state

    model, tok = _policy()
    settings = A.DPOSettings(max_steps=2, per_device_train_batch_size=per_process(4, "batch"),
                             learning_rate=1e-2, device="cpu")
    trained = A.train_dpo(model, tok, PAIRS, settings, out_dir / "dpo-trl")
    return lora_state(trained)


def ppo_steps() -> dict[str, torch.Tensor]:
    from bench.adapters.ppo import PPOConfig, PPOTrainer, Rollout
    from bench.api.distributed import world
    from bench.backbones.generate import encode_prompts, left_pad, render_chat
    from bench.backbones.lora import lora_state

    model, tok = _policy()
    torch.manual_seed(1)
    trainer = PPOTrainer(model, tok, PPOConfig(lr=1e-3, minibatch_size=2, ppo_epochs=2), seed=0)
    prompts = [render_chat(tok, f"Explain why user {u} likes item {u + 3}.") for u in range(4)]
    q_ids, q_mask = left_pad(encode_prompts(tok, prompts), trainer.pad_id)
    r_ids = torch.randint(10, 400, (4, 5), generator=torch.Generator().manual_seed(2))
    r_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    scores = torch.tensor([1.0, -1.0, 0.5, 0.0])
    lo, hi = world().rows_of(4)  # this process's rows of the global batch
    for _ in range(2):
        ro = Rollout(prompts[lo:hi], q_ids[lo:hi], q_mask[lo:hi], r_ids[lo:hi], r_mask[lo:hi], [])
        trainer.step(ro, scores[lo:hi], rows=(lo, 4))
    state = lora_state(trainer.model)
    state.update({f"value_head.{k}": v.detach().clone() for k, v in trainer.value_head.state_dict().items()})
    return state


def main(out_dir: Path) -> None:
    from bench.api.distributed import world

    group = world("cpu")
    dpo, ppo = dpo_steps(out_dir), ppo_steps()
    if group.is_main:
        torch.save(dpo, out_dir / "dpo.pt")
        torch.save(ppo, out_dir / "ppo.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
