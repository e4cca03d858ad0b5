"""ICL (Dai et al. 2023 / Liu et al. 2023, ExpCTR Table 1): in-context CTR scoring with a
frozen LLM, no training.

The backbone reads the TALLRec-style history prompt (liked / disliked titles of the user's
prior items, the target item, answer "Yes." or "No.") and the score is the first answer
token's P(Yes) / (P(Yes) + P(No)). Same backbone as ExpCTR's frozen LC scorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.api.loads import Checkpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits


@dataclass
class Params:
    backbone: str = "embedded"  # "embedded" (SmolLM2-135M-Instruct) or an HF id / folder
    item_domain: str = "auto"  # prompt nouns: auto | books | movies | items
    prompt_history: int | None = None  # most recent liked / disliked titles shown (None: all)
    yes_words: list[str] = field(default_factory=lambda: ["Yes"])
    no_words: list[str] = field(default_factory=lambda: ["No"])
    batch_size: int = 8
    max_prompt_tokens: int = 768


class ICL(Method):
    produces = frozenset({"ctr_score"})
    Params = Params

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        return [Checkpoint("model.backbone", params.backbone)]

    def fit(self, splits: Splits) -> None:
        from baselines.llm_ctr import domain_for
        from bench.backbones import load_for_run

        p: Params = self.params  # type: ignore[assignment]
        self.domain = domain_for(self.run.cfg.dataset, p.item_domain)
        self.backbone = load_for_run(p.backbone, self.run)

    def predict(self, records: list[Record]) -> list[Prediction]:
        from baselines.llm_ctr import history_ctr_scores

        p: Params = self.params  # type: ignore[assignment]
        with self.run.progress("icl score", len(records)) as advance:
            scores = history_ctr_scores(
                self.backbone.model, self.backbone.tokenizer, records, self.domain,
                yes_words=p.yes_words, no_words=p.no_words, max_items=p.prompt_history,
                batch_size=p.batch_size, max_prompt_tokens=p.max_prompt_tokens, advance=advance,
            )  # fmt: skip
        return [Prediction(ctr_score=float(s)) for s in scores]
