"""Does ExpCTR's frozen LC scorer read the explanation? Eq. 8 of the embedded backbone on
hand-written explanations, ranked against the true labels (AUC) on seeded ML-100K test samples.

    python benchmarks/expctr_scorer_probe.py [--n 200] [--seed 0] [--generator]

Two explanation writers per phrasing: the "oracle" (says like / dislike by the true label:
the most any explanation can give this scorer) and a "rule" (says like when at least half of
the prompt's history titles are liked: what a generator reading the history could give); and
once, the liked share itself as a score (no LLM). ExpCTR-LLM can beat ICL only if the scorer separates
the oracle's two phrasings. Uses the `cpu` profile's split and prompt history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHRASINGS = [
    ('Yes, the customer will like "{t}".', 'No, the customer will not like "{t}".'),
    ('The customer will love "{t}" because it matches the movies they liked.',
     'The customer will dislike "{t}" because it resembles the movies they disliked.'),
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="test samples (seeded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generator", action="store_true",
                    help="also the untrained generator's greedy explanations, free and yes_no opening")
    args = ap.parse_args()

    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from baselines.llm_ctr import domain_for
    from bench import data as D
    from bench.backbones import load_backbone
    from bench.backbones.answer_scoring import answer_token_ids, first_token_probs, yes_ratio
    from bench.backbones.generate import render_chat
    from bench.config import resolve
    from methods.expctr.prompts import ctr_prompt

    torch.set_num_threads(1)
    cfg = resolve("expctr", "ml-100k", profile="cpu", seed=args.seed)
    splits = D.make_splits(
        D.load_dataset(cfg.dataset, cfg.data, seed=args.seed), cfg.data, args.seed
    )
    rng = np.random.default_rng(args.seed)
    recs = [
        splits.test[i]
        for i in rng.choice(len(splits.test), min(args.n, len(splits.test)), replace=False)
    ]
    labels = np.array([r.label for r in recs])
    share = np.array(
        [
            len(r.history_liked) / max(1, len(r.history_liked) + len(r.history_disliked))
            for r in recs
        ]
    )
    bb = load_backbone(cfg.model.get("backbone", "embedded"), device="cpu", seed=args.seed)
    yes, no = answer_token_ids(bb.tokenizer, ["Yes"]), answer_token_ids(bb.tokenizer, ["No"])
    domain = domain_for(cfg.dataset)

    def scores(explanations: list[str]) -> np.ndarray:  # eq. 8 at T = 1 (logit reading)
        prompts = [
            render_chat(bb.tokenizer, ctr_prompt(e, r, domain))
            for e, r in zip(explanations, recs, strict=True)
        ]
        return np.asarray(yes_ratio(*first_token_probs(bb.model, bb.tokenizer, prompts, yes, no)))

    print(f"{len(recs)} test samples, label rate {labels.mean():.3f}; "
          f"AUC of the liked share alone {roc_auc_score(labels, share):.3f}")  # fmt: skip
    for like, dislike in PHRASINGS:
        for writer, says_like in (("oracle", labels == 1), ("rule", share >= 0.5)):
            s = scores(
                [
                    (like if y else dislike).format(t=r.title)
                    for y, r in zip(says_like, recs, strict=True)
                ]
            )
            print(f"{writer:6s} AUC {roc_auc_score(labels, s):.3f}  mean s like {s[says_like].mean():.3f} "
                  f"dislike {s[~says_like].mean():.3f}  | {like[:44]}")  # fmt: skip
    if not args.generator:
        return
    from bench.backbones.generate import generate
    from methods.expctr.prompts import explanation_prompt

    prompts = [explanation_prompt(r, domain, cfg.model.get("prompt_history")) for r in recs]
    for opening, ids in (("free", None), ("yes_no", yes + no)):  # model.explanation_opening
        texts = [t.strip() for t in generate(
            bb.model, bb.tokenizer, prompts, max_new_tokens=cfg.model.get("max_new_tokens", 32),
            opening_ids=ids)]  # fmt: skip
        opens_yes = np.array([t.lower().startswith("yes") for t in texts])
        s = scores(texts)
        print(f"untrained generator, opening {opening}: AUC {roc_auc_score(labels, s):.3f}; "
              f"opens with Yes {opens_yes.mean():.2f}, No {np.mean([t.lower().startswith('no') for t in texts]):.2f}; "
              f"AUC of opening Yes alone {roc_auc_score(labels, opens_yes) if opens_yes.any() and not opens_yes.all() else float('nan'):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
