"""ExpCTR (Yu, Zhang & Chen, WSDM 2025): explainable CTR prediction via LLM reasoning.

One base LLM + one LoRA adapter (§4.3.1): the adapter-enabled model is the explanation
generator pi_RL; the same model with its adapter disabled is both the PPO reference pi_init
and the frozen LC scorer. Training (§4.3.2), every stage checkpointed through run.stage:

  ctr_pretrain   the ID DeepFM (RecBole's, methods.expctr.deepfm) on the train split, z = 0
  lc             stage 1: PPO with R = R_LC^norm (eq. 8-10, 14) for `lc_epochs` passes
                 over the RL train records; the sampled explanations are accumulated
  ctr_k          stage 2: DeepFM trained with the explanation embeddings (eq. 11, 12, 15)
  ic_k           stage 3: PPO with R = R_IC^norm (eq. 11-13, 16) for `ic_epochs` passes
                 k = 1..iterations (stages 2-3 repeated)
  ctr_final      (final_ctr_refit) stage 2 once more on the explanations of the last IC
                 stage, so the Aug scorer matches the final generator

Prediction: a greedy explanation per record from the final generator, then
  ctr_llm = eq. 8 of the frozen base on the CTR prompt with that explanation  (ExpCTR-LLM)
  ctr_aug = the DeepFM with the explanation embedding                        (ExpCTR-Aug)
`score_with` picks which one is the record's ctr_score; both are in extras.
LC/IC reward trajectories (Fig. 3) go to train_log.jsonl under stages "lc" and "ic_k".
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from baselines.llm_ctr import domain_for
from bench.api.errors import BenchError
from bench.api.loads import Checkpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits
from bench.api.work_plan import PlannedStage
from methods.expctr.prompts import ctr_prompt, explanation_prompt


@dataclass
class Params:
    backbone: str = "embedded"  # "embedded" (SmolLM2-135M-Instruct), HF id / folder (real mode)
    score_with: str = "llm"  # "llm": ExpCTR-LLM row; "aug": ExpCTR-Aug row
    item_domain: str = "auto"  # prompt nouns: auto | books | movies | items
    prompt_history: int | None = None  # most recent liked / disliked titles shown (None: all)
    # LoRA (§4.3.1)
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0  # 0: the PPO ratio is exactly 1 before the first update
    lora_targets: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    # PPO (§4.2.1 / §5.1.4)
    algorithm: Literal["ppo", "rloo"] = "ppo"  # "ppo" (paper); "rloo" only when asked for explicitly
    lr: float = 1e-5
    beta: float = 0.05  # KL penalty
    delta: float = 1.0  # reward clip bound of eq. 10
    clip_eps: float = 0.2
    vf_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 0.95
    ppo_epochs: int = 1
    batch_size: int = 8  # rollouts per PPO step (the batch of eq. 10's mean/std)
    # explanations sampled per record in a step (batch_size / samples_per_record records); 1 is
    # the paper's PPO. reward_norm: eq. 10 over the "batch" (paper) or over each "record"'s
    # samples, a named deviation that removes the label from the advantage (rewards.py)
    samples_per_record: int = 1
    reward_norm: Literal["batch", "record"] = "batch"
    minibatch_size: int = 4
    kl_estimator: Literal["k1", "k3"] = "k1"  # bench.adapters.ppo.kl_penalty
    max_new_tokens: int = 64
    temperature: float = 1.0  # sampling temperature during PPO
    top_k: int = 0
    top_p: float = 1.0
    max_prompt_tokens: int = 512
    # LC reward (eq. 8)
    lc_temperature: float = 1.0  # T of eq. 8
    # eq. 8's p: "logit" (the first token's logit: softmax over Yes/No, = P(Yes)/(P(Yes)+P(No))
    # at T=1, the ICL/TALLRec score) or "prob" (the probabilities themselves; a named
    # deviation: scores squeezed around 0.5, see methods.expctr.rewards)
    lc_score_input: Literal["logit", "prob"] = "logit"
    yes_words: list[str] = field(default_factory=lambda: ["Yes"])
    no_words: list[str] = field(default_factory=lambda: ["No"])
    # "free" (paper): the generator writes any sentence. "yes_no": its first token is one of
    # the answer words (yes_words / no_words), drawn from its own distribution over them, in
    # PPO and at prediction: a named deviation for scorers that read only a leading Yes/No
    # (SmolLM2-135M: README, benchmarks/expctr_scorer_probe.py)
    explanation_opening: Literal["free", "yes_no"] = "free"
    # schedule (§4.3.2; "two epochs per iteration")
    lc_epochs: int = 2
    ic_epochs: int = 2
    iterations: int = 1  # repeats of stages 2-3
    final_ctr_refit: bool = True
    train_records: int | None = None  # seeded subsample of train used for RL (None: all)
    # IC reward: encoder (eq. 11) and DeepFM (eq. 12)
    encoder: str = "embedded"  # "embedded" (all-MiniLM-L6-v2) or BAAI/bge-small-en (paper)
    encoder_normalize: bool = False
    ctr_records: str = "all"  # DeepFM training rows: "all" train records or the "explained" ones
    # the DeepFM of eq. 12: RecBole's DeepFM and its defaults (methods.expctr.deepfm)
    ctr_embed_dim: int = 10
    ctr_hidden: list[int] = field(default_factory=lambda: [128, 128, 128])
    ctr_dropout: float = 0.2
    # "direct": Concat(h_ui, z_ui) as eq. 12; "projection": z through Linear+ReLU (width
    # ctr_z_proj) first, a named variant (erbench's earlier module)
    ctr_z_concat: Literal["direct", "projection"] = "direct"
    ctr_z_proj: int = 32
    ctr_lr: float = 1e-3
    ctr_batch_size: int = 256
    ctr_pretrain_epochs: int = 5
    ctr_epochs: int = 3
    ctr_weight_decay: float = 0.0
    ctr_z_dropout: float = 0.25  # rows trained with z = 0, so s~ (eq. 13) is in-distribution
    # inference
    gen_batch_size: int | Literal["auto"] = 8  # "auto": largest batch free GPU memory holds (8 on CPU)
    score_batch_size: int = 8


def rl_sample(labelled: list[Record], train_records: int | None, seed: int) -> list[Record]:
    """The RL train records: a seeded subsample of `train_records` (in split order), or all."""
    if not train_records or train_records >= len(labelled):
        return labelled
    keep = sorted(random.Random(seed).sample(range(len(labelled)), train_records))
    return [labelled[i] for i in keep]


def ppo_schedule(n: int, per_step: int, epochs: int, seed: int, stage: str) -> list[tuple[int, list[int]]]:
    """(epoch, record indices) of each PPO step of a stage: every epoch a seeded shuffle of the
    n records, `per_step` at a time (analyses of train_log.jsonl rebuild the steps from this)."""
    rng = random.Random(f"{seed}:{stage}")
    steps = []
    for epoch in range(epochs):
        order = list(range(n))
        rng.shuffle(order)
        steps += [(epoch, order[start : start + per_step]) for start in range(0, n, per_step)]
    return steps


def _key(r: Record) -> str:
    return f"{r.user_id}\t{r.item_id}"


class ExpCTR(Method):
    produces = frozenset({"ctr_score", "explanation"})
    Params = Params

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        return [Checkpoint("model.backbone", params.backbone), Checkpoint("model.encoder", params.encoder)]

    @classmethod
    def planned_work(cls, params: Any, cfg: Any) -> list[PlannedStage]:
        """The PPO stages (LC, then IC per iteration) and the test explanations; the DeepFM
        stages are left out (small next to the LLM's)."""
        p, n = params, params.train_records
        gen = p.gen_batch_size if isinstance(p.gen_batch_size, int) and p.gen_batch_size > 0 else 8
        per_step = max(1, p.batch_size // max(1, p.samples_per_record))
        rollout_steps = math.ceil(p.batch_size / gen) * p.max_new_tokens

        def ppo(name: str, epochs: int) -> PlannedStage:
            steps = epochs * math.ceil(n / per_step) if n else None
            return PlannedStage(f"{name} (PPO)", n, steps, (steps or 0) * p.batch_size * p.max_new_tokens,
                                (steps or 0) * rollout_steps, (steps or 0) * p.batch_size * p.ppo_epochs)  # fmt: skip

        stages = [ppo("lc", p.lc_epochs), *(ppo(f"ic_{k}", p.ic_epochs) for k in range(1, p.iterations + 1))]
        test = cfg.eval.max_records or None
        stages.append(PlannedStage("predict (explanation + CTR score)", test, None,
                                   (test or 0) * p.max_new_tokens,
                                   math.ceil((test or 0) / gen) * p.max_new_tokens))  # fmt: skip
        return stages

    # -- setup ------------------------------------------------------------------------------

    def _check_params(self) -> None:
        p: Params = self.params  # type: ignore[assignment]
        if p.score_with not in ("llm", "aug"):
            raise BenchError(f"model.score_with must be 'llm' or 'aug', got {p.score_with!r}")
        if p.algorithm not in ("ppo", "rloo"):
            raise BenchError(f"model.algorithm must be 'ppo' or 'rloo', got {p.algorithm!r}")
        if p.reward_norm not in ("batch", "record"):
            raise BenchError(f"model.reward_norm must be 'batch' or 'record', got {p.reward_norm!r}")
        if p.samples_per_record < 1 or p.batch_size % p.samples_per_record:
            raise BenchError(
                f"model.samples_per_record ({p.samples_per_record}) must divide model.batch_size ({p.batch_size})"
            )
        if p.reward_norm == "record" and p.samples_per_record < 2:
            raise BenchError("model.reward_norm=record needs model.samples_per_record >= 2")
        if p.explanation_opening not in ("free", "yes_no"):
            raise BenchError(f"model.explanation_opening must be 'free' or 'yes_no', got {p.explanation_opening!r}")
        if p.ctr_records not in ("all", "explained"):
            raise BenchError(
                f"model.ctr_records must be 'all' or 'explained', got {p.ctr_records!r}"
            )

    def _setup_llm(self) -> None:
        import torch

        from bench.adapters.ppo import PPOConfig, PPOTrainer
        from bench.backbones import load_for_run
        from bench.backbones.answer_scoring import answer_token_ids
        from bench.backbones.lora import add_lora, lora_config

        p: Params = self.params  # type: ignore[assignment]
        torch.manual_seed(self.run.seed)
        self.backbone = load_for_run(p.backbone, self.run)
        self.tok = self.backbone.tokenizer
        for param in self.backbone.model.parameters():
            param.requires_grad_(False)
        self.model = add_lora(
            self.backbone.model, lora_config(p.lora_r, p.lora_alpha, p.lora_dropout, p.lora_targets)
        )
        self.yes_ids = answer_token_ids(self.tok, p.yes_words)
        self.no_ids = answer_token_ids(self.tok, p.no_words)
        self.opening_ids = self.yes_ids + self.no_ids if p.explanation_opening == "yes_no" else None
        cfg = PPOConfig(
            lr=p.lr, beta=p.beta, clip_eps=p.clip_eps, vf_coef=p.vf_coef, gamma=p.gamma, lam=p.lam,
            ppo_epochs=p.ppo_epochs, minibatch_size=p.minibatch_size, max_new_tokens=p.max_new_tokens,
            temperature=p.temperature, top_k=p.top_k, top_p=p.top_p, kl_estimator=p.kl_estimator,
            algorithm=p.algorithm, max_prompt_tokens=p.max_prompt_tokens, opening_ids=self.opening_ids,
        )  # fmt: skip
        self.trainer = PPOTrainer(self.model, self.tok, cfg, seed=self.run.seed)
        self._fresh_score_caches()

    def _fresh_score_caches(self) -> None:
        """Empty the frozen scorers' caches. Called when each PPO stage and predict start: a
        cached value (or the stored prefix a batch was split at) depends on what ran before,
        within float noise, so a stage resumed after a kill must start from the same empty
        caches as the uninterrupted run to write the same bytes."""
        from bench.backbones.common_prefix import PrefixStore

        self.lc_cache: dict[str, tuple[float, float]] = {}  # prompt sha1 -> (P(Yes), P(No))
        self.lc_prefixes = PrefixStore()
        if getattr(self.trainer, "reference_prefixes", None) is not None:
            self.trainer.reference_prefixes = PrefixStore()

    def _setup_ctr(self, train: list[Record]) -> None:
        import torch

        from bench.encoders import SentenceEncoder
        from methods.expctr.deepfm import DeepFM, DeepFMConfig, IdIndex

        p: Params = self.params  # type: ignore[assignment]
        # eq. 11 is the attention-masked mean of the last layer for every encoder (the paper's
        # choice even for BGE, whose own config says CLS), 128 tokens, not normalised by default
        self.encoder = SentenceEncoder(
            p.encoder, device=self.run.device, pooling="mean",
            normalize=p.encoder_normalize, max_length=128,
        )  # fmt: skip
        self.index = IdIndex([r.user_id for r in train], [r.item_id for r in train])
        torch.manual_seed(self.run.seed)
        self.deepfm = DeepFM(
            len(self.index.users), len(self.index.items), self.encoder.dim,
            DeepFMConfig(p.ctr_embed_dim, tuple(p.ctr_hidden), p.ctr_z_proj, p.ctr_dropout, p.ctr_z_concat),
        )  # fmt: skip

    # -- fit --------------------------------------------------------------------------------

    def fit(self, splits: Splits) -> None:
        self._check_params()
        p: Params = self.params  # type: ignore[assignment]
        self.domain = domain_for(self.run.cfg.dataset, p.item_domain)
        labelled = [r for r in splits.train if r.label is not None]
        if not labelled:
            raise BenchError("ExpCTR needs binary labels in the train split (ratings + threshold)")
        self.rl_records = rl = rl_sample(labelled, p.train_records, self.run.seed)
        self.ctr_train = labelled if p.ctr_records == "all" else rl
        self.explanations: dict[str, str] = {}
        self._setup_llm()
        self._setup_ctr(labelled)
        self.global_step = 0

        self.run.stage("ctr_pretrain", self._train_ctr_pretrain, self._load_ctr)
        self.run.stage("lc", lambda d: self._train_ppo("lc", p.lc_epochs, d), self._load_ppo)
        for k in range(1, p.iterations + 1):
            self.run.stage(
                f"ctr_{k}", lambda d, k=k: self._train_ctr(f"ctr_{k}", d), self._load_ctr
            )
            self.run.stage(
                f"ic_{k}", lambda d, k=k: self._train_ppo(f"ic_{k}", p.ic_epochs, d), self._load_ppo
            )
        if p.final_ctr_refit:
            self.run.stage("ctr_final", lambda d: self._train_ctr("ctr_final", d), self._load_ctr)

    # -- rewards ------------------------------------------------------------------------------

    def _lc_scores(
        self, records: list[Record], explanations: list[str], advance: Any = None
    ) -> np.ndarray:
        """Eq. 8 with the frozen base (adapter disabled) on the §4.2.2 CTR prompt. The base
        never trains, so its (P(Yes), P(No)) of a prompt is kept by the prompt's digest
        (self.lc_cache) and the prompts' common opening runs once per run (self.lc_prefixes)."""

        from bench.backbones.answer_scoring import first_token_probs
        from bench.backbones.generate import render_chat
        from methods.expctr.rewards import first_token_values, lc_score

        p: Params = self.params  # type: ignore[assignment]
        prompts = [
            render_chat(self.tok, ctr_prompt(e, r, self.domain))
            for r, e in zip(records, explanations, strict=False)
        ]
        keys = [hashlib.sha1(text.encode("utf-8")).hexdigest() for text in prompts]
        todo = list({k: text for k, text in zip(keys, prompts, strict=True) if k not in self.lc_cache}.items())
        if todo:
            with self.model.disable_adapter():
                got = first_token_probs(
                    self.model, self.tok, [text for _, text in todo], self.yes_ids, self.no_ids,
                    batch_size=p.score_batch_size, max_prompt_tokens=p.max_prompt_tokens,
                    prefix_store=self.lc_prefixes, advance=advance,
                )  # fmt: skip
            self.lc_cache.update({k: (y, n) for (k, _), y, n in zip(todo, *got, strict=True)})
        if advance is not None and len(prompts) > len(todo):
            advance(len(prompts) - len(todo))  # answered from the cache
        p_yes = np.array([self.lc_cache[k][0] for k in keys], dtype=np.float64)
        p_no = np.array([self.lc_cache[k][1] for k in keys], dtype=np.float64)
        v_yes, v_no = first_token_values(p_yes, p_no, p.lc_score_input)
        return lc_score(v_yes, v_no, p.lc_temperature).numpy()  # eq. 8

    def _aug_scores(
        self, records: list[Record], explanations: list[str] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(s^r with the explanation embedding, s~^r with z = 0) of eq. 12/13."""
        import torch

        from methods.expctr.deepfm import predict_proba

        u, i = self.index.encode(records)
        s0 = predict_proba(self.deepfm, u, i, None)
        if explanations is None:
            return s0, s0
        z = torch.from_numpy(self.encoder.encode(explanations))
        return predict_proba(self.deepfm, u, i, z), s0

    def _rewards(
        self, kind: str, records: list[Record], texts: list[str]
    ) -> tuple[Any, dict[str, float]]:
        import torch

        from methods.expctr.rewards import ic_reward, lc_reward

        if not records:  # a process whose share of a small batch is empty
            return torch.zeros(0, dtype=torch.float64), {}
        y = torch.tensor([float(r.label) for r in records], dtype=torch.float64)
        if kind == "lc":
            s = torch.from_numpy(self._lc_scores(records, texts))
            raw = lc_reward(y, s)  # eq. 9
            return raw, {
                "ctr_score_mean": s.mean().item(),
                "acc": ((s > 0.5).double() == y).double().mean().item(),
            }
        s, s0 = self._aug_scores(records, texts)
        s, s0 = torch.from_numpy(s), torch.from_numpy(s0)
        raw = ic_reward(y, s, s0)  # eq. 13
        return raw, {
            "ctr_score_mean": s.mean().item(),
            "ic_fit": (1 - (y - s).abs()).mean().item(),
            "ic_delta": (s - s0).abs().mean().item(),
        }

    # -- PPO stages ---------------------------------------------------------------------------

    def _train_ppo(self, stage: str, epochs: int, stage_dir: Path) -> None:
        """PPO passes over the RL records. In a launched run each process rolls out and scores
        its own rows of each batch; eq. 10 normalises over the whole batch and the PPO update
        is the whole batch's (bench.adapters.ppo), so `batch_size` means the same on 1 or N
        processes."""
        self._fresh_score_caches()
        import torch

        from bench.api.distributed import world
        from bench.backbones.generate import render_chat
        from methods.expctr.rewards import normalize_clip, normalize_clip_per_record

        p: Params = self.params  # type: ignore[assignment]
        group = world()
        kind = "lc" if stage == "lc" else "ic"
        records = self.rl_records
        k = p.samples_per_record
        schedule = ppo_schedule(len(records), p.batch_size // k, epochs, self.run.seed, stage)
        step = 0
        with self.run.progress(f"expctr {stage} (PPO)", len(schedule)) as advance:
            for epoch, picked in schedule:
                batch = [records[j] for j in picked for _ in range(k)]
                lo, hi = group.rows_of(len(batch))  # this process's rows (all of them in one)
                prompts = [
                    render_chat(self.tok, explanation_prompt(r, self.domain, p.prompt_history))
                    for r in batch[lo:hi]
                ]
                torch.manual_seed(self.run.seed * 100003 + self.global_step + 7_919_993 * group.rank)
                ro = self.trainer.generate(prompts)  # scored inside step (first minibatch shared)
                raw_mine, extra = self._rewards(kind, batch[lo:hi], ro.texts)
                shares = group.gather((raw_mine.tolist(), ro.texts))  # every process's rows
                raw = torch.tensor([x for values, _ in shares for x in values], dtype=torch.float64)
                texts = [t for _, share in shares for t in share]
                if p.reward_norm == "record":  # eq. 10 per record (named option)
                    norm = normalize_clip_per_record(raw, k, p.delta)
                else:
                    norm = normalize_clip(raw, p.delta)  # eq. 10, over the whole batch
                stats = self.trainer.step(ro, norm[lo:hi].float(), rows=(lo, len(batch)))
                for r, text in zip(batch, texts, strict=True):
                    self.explanations[_key(r)] = text
                self.run.log(
                    stage, step, kind=kind, epoch=epoch, global_step=self.global_step,
                    reward_raw=raw.mean().item(), reward_norm=norm.mean().item(),
                    **{f"{kind}_reward": raw.mean().item()}, **extra, **stats,
                )  # fmt: skip
                step += 1
                self.global_step += 1
                advance(1)
        self.trainer.save(stage_dir / "policy")
        self._save_state(stage_dir)

    def _save_state(self, stage_dir: Path) -> None:
        from bench.api.run_folder import atomic_write_json

        atomic_write_json(stage_dir / "explanations.json", self.explanations)
        atomic_write_json(stage_dir / "state.json", {"global_step": self.global_step})

    def _load_state(self, stage_dir: Path) -> None:
        self.explanations = json.loads(
            (stage_dir / "explanations.json").read_text(encoding="utf-8")
        )
        self.global_step = json.loads((stage_dir / "state.json").read_text())["global_step"]

    def _load_ppo(self, stage_dir: Path) -> None:
        self.trainer.load(stage_dir / "policy")
        self._load_state(stage_dir)

    # -- CTR stages ---------------------------------------------------------------------------

    def _train_ctr_pretrain(self, stage_dir: Path) -> None:
        import torch

        from methods.expctr.deepfm import train_deepfm

        p: Params = self.params  # type: ignore[assignment]
        u, i = self.index.encode(self.ctr_train)
        y = torch.tensor([r.label for r in self.ctr_train])
        train_deepfm(
            self.deepfm, u, i, y, None, epochs=p.ctr_pretrain_epochs, lr=p.ctr_lr,
            batch_size=p.ctr_batch_size, weight_decay=p.ctr_weight_decay, seed=self.run.seed,
            log=lambda e, loss: self.run.log("ctr_pretrain", e, bce=loss),
        )  # fmt: skip
        self._save_ctr(stage_dir)

    def _train_ctr(self, stage: str, stage_dir: Path) -> None:
        """Stage 2 (eq. 15): rows with an accumulated explanation get its embedding, the rest z=0."""
        import torch

        from methods.expctr.deepfm import train_deepfm

        p: Params = self.params  # type: ignore[assignment]
        records = self.ctr_train
        u, i = self.index.encode(records)
        y = torch.tensor([r.label for r in records])
        z = np.zeros((len(records), self.encoder.dim), dtype=np.float32)
        rows = [k for k, r in enumerate(records) if _key(r) in self.explanations]
        if rows:
            z[rows] = self.encoder.encode([self.explanations[_key(records[k])] for k in rows])
        train_deepfm(
            self.deepfm, u, i, y, torch.from_numpy(z), epochs=p.ctr_epochs, lr=p.ctr_lr,
            batch_size=p.ctr_batch_size, weight_decay=p.ctr_weight_decay, z_dropout=p.ctr_z_dropout,
            seed=self.run.seed + len(stage), log=lambda e, loss: self.run.log(stage, e, bce=loss, explained=len(rows)),
        )  # fmt: skip
        self._save_ctr(stage_dir)

    def _save_ctr(self, stage_dir: Path) -> None:
        import torch

        from bench.api.run_folder import atomic_write_json

        torch.save(self.deepfm.state_dict(), stage_dir / "deepfm.pt")
        atomic_write_json(
            stage_dir / "deepfm.json",
            {
                "config": asdict(self.deepfm.cfg),
                "z_dim": self.deepfm.z_dim,
                "encoder": self.encoder.checkpoint,
                **self.index.to_dict(),
            },
        )

    def _load_ctr(self, stage_dir: Path) -> None:
        import torch

        self.deepfm.load_state_dict(torch.load(stage_dir / "deepfm.pt", weights_only=True))
        self.deepfm.eval()

    # -- predict ------------------------------------------------------------------------------

    def explain(self, records: list[Record]) -> list[str]:
        """Greedy explanations from the current generator (adapter enabled)."""
        from bench.backbones.generate import generate

        p: Params = self.params  # type: ignore[assignment]
        prompts = [explanation_prompt(r, self.domain, p.prompt_history) for r in records]
        with self.run.progress("expctr explain", len(records)) as advance:
            texts = generate(
                self.model, self.tok, prompts, max_new_tokens=p.max_new_tokens,
                batch_size=p.gen_batch_size, do_sample=False, max_prompt_tokens=p.max_prompt_tokens,
                advance=advance, opening_ids=self.opening_ids,
            )  # fmt: skip
        return [t.strip() for t in texts]

    def predict(self, records: list[Record]) -> list[Prediction]:
        p: Params = self.params  # type: ignore[assignment]
        texts = self.explain(records)
        self._fresh_score_caches()
        with self.run.progress("expctr LC score", len(records)) as advance:
            llm = self._lc_scores(records, texts, advance)
        aug, aug0 = self._aug_scores(records, texts)
        out = []
        for text, s_llm, s_aug, s0 in zip(texts, llm, aug, aug0, strict=False):
            score = float(s_llm if p.score_with == "llm" else s_aug)
            out.append(Prediction(ctr_score=score, explanation=text, extras={
                "ctr_llm": float(s_llm), "ctr_aug": float(s_aug), "ctr_aug_no_expl": float(s0),
                "variant": "ExpCTR-LLM" if p.score_with == "llm" else "ExpCTR-Aug",
            }))  # fmt: skip
        return out
