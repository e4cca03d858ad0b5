"""CER, the Coherent Explainable Recommender (Raczynski, Lango and Stefanowski, ECAI 2023:
"The Problem of Coherence in Natural Language Explanations of Recommendations"), written after
the paper and JMRaczynski/CER.

CER is PETER+ (PETER with the feature word, baselines.peter) plus a second rating head that
reads the explanation: the explanation positions' transformer outputs are max-pooled over
time and fed to its own MLP, giving an "explanation rating". Training adds the alignment
term MSE(explanation rating, predicted rating) to the rating loss (both directions get
gradients, as in the reference), so the words the model writes must carry the sentiment of
the rating it predicts:

    L = text_reg * L_exp + context_reg * L_context + rating_reg * (MSE(r_hat, r) + MSE(r_exp, r_hat))

Validation minimises L_exp + MSE(r_hat, r) + MSE(r_exp, r_hat). The rating reported is the
recommender head's; the explanation head's rating of the generated explanation is returned in
`extras["explanation_rating"]` for coherence measures. One deviation: pad positions are left
out of the max-pool (the reference pools over them too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from baselines.peter import PETERNet, PETERParams, PETERPlus, RatingMLP


@dataclass
class CERParams(PETERParams):
    coherence_reg: float = 1.0  # weight of MSE(r_exp, r_hat) inside the rating loss (1 in CER)


class CERNet(PETERNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.explanation_recommender = RatingMLP(self.emsize)

    def explanation_rating(self, hidden: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Max-pool the explanation positions' outputs (pads excluded) -> rating (B,)."""
        h = hidden[:, self.src_len :]
        words = text[:, self.src_len - 2 :]  # the tokens at those positions
        h = h.masked_fill((words == self.pad_idx).unsqueeze(-1), float("-inf"))
        pooled = h.max(dim=1).values
        pooled = torch.nan_to_num(pooled, neginf=0.0)
        return self.explanation_recommender(pooled)


class CER(PETERPlus):
    """CER: PETER+ with rating-explanation coherence alignment."""

    Params: ClassVar[type] = CERParams
    stage_name = "cer"
    uses_feature = True

    def build_model(self) -> CERNet:
        p = self.params
        return CERNet(
            len(self.corpus.users), len(self.corpus.items), len(self.corpus.vocab),
            emsize=p.emsize, nhead=p.nhead, nhid=p.nhid, nlayers=p.nlayers, dropout=p.dropout,
            src_len=2 + int(self.uses_feature), tgt_len=p.words + 1, pad_idx=self.corpus.vocab.pad,
            use_peter_mask=p.peter_mask,
        )

    def _extra_rating_loss(self, model, hidden, batch, rating_pred):
        text = self._text(batch, batch["seq"][:, :-1])
        r_exp = model.explanation_rating(hidden, text)
        return self.params.coherence_reg * torch.mean((r_exp.float() - rating_pred.float()) ** 2)  # fp32 under autocast

    def _generate_extras(self, batch, ids) -> dict:
        """The explanation head's rating of each generated explanation."""
        vocab = self.corpus.vocab
        width = max((len(s) for s in ids), default=0) + 2
        rows = [[vocab.bos] + s + [vocab.eos] + [vocab.pad] * (width - len(s) - 2) for s in ids]
        prefix = torch.tensor(rows, dtype=torch.long, device=batch["user"].device)
        text = self._text(batch, prefix)
        hidden = self.model(batch["user"], batch["item"], text)
        r_exp = self.model.explanation_rating(hidden, text)
        return {"explanation_rating": [float(x) for x in r_exp.tolist()]}
