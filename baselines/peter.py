"""PETER and PETER+ (Li, Zhang and Chen, ACL 2021: "Personalized Transformer for Explainable
Recommendation"), written after the paper and lileipisces/PETER.

Input sequence: [user, item, (feature,) <bos>, w1, ..., wn]; a post-norm transformer encoder
(sinusoidal positions, embeddings scaled by sqrt(emsize)) with the PETER mask: left-to-right
everywhere except that the user token may also see the item token, so positions 0 and 1 see
exactly {user, item} and the words see everything before them. Three heads:

- rating: an MLP (sigmoid hidden layer) on the user position's output;
- context prediction: the item position's output, through the shared word decoder, must
  predict every word of the explanation regardless of order (a bag-of-words NLL);
- explanation: next-word NLL from the <bos>.. positions through the same word decoder.

Loss = text_reg * L_exp + context_reg * L_context + rating_reg * L_rating (1, 1, 0.1 in the
paper); early stopping on validation L_exp + L_rating; SGD, lr 1.0, clip 1.0, lr x0.25 on
every epoch without improvement. PETER+ adds one feature word after the item token (the
Sentires-like feature of the record, bench.data.features; at test time the feature of the
test record, as in the paper). Decoding is greedy, capped at `words` (15).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.text import ExplainerMethod, greedy_decode, masked_mse


@dataclass
class PETERParams:
    emsize: int = 512
    nhead: int = 2
    nhid: int = 2048
    nlayers: int = 2
    dropout: float = 0.2
    words: int = 15  # explanation length cap (training targets and decoding)
    vocab_size: int = 20000
    peter_mask: bool = True  # False: plain left-to-right mask (the paper's ablation)
    text_reg: float = 1.0
    context_reg: float = 1.0
    rating_reg: float = 0.1
    optimizer: Literal["adam", "sgd"] = "sgd"
    lr: float = 1.0
    lr_decay: float = 0.25
    clip: float | None = 1.0
    epochs: int = 100
    batch_size: int = 128
    eval_batch_size: int = 256
    max_steps: int | None = None
    patience: int = 5
    # None (= fp32, the authors'); "bf16": training under bf16 autocast, a named speed option
    # (docs/results/2026-12-08-classic-bf16.md); decoding stays fp32
    precision: Literal["fp32", "bf16"] | None = None


def subsequent_mask(total_len: int) -> torch.Tensor:
    """Bool (L, L), True = may NOT attend: strictly upper triangle."""
    return torch.triu(torch.ones(total_len, total_len, dtype=torch.bool), diagonal=1)


def peter_mask(src_len: int, tgt_len: int) -> torch.Tensor:
    """The PETER attention mask over [user, item, (feature), words...]; True = blocked.

    Left-to-right, plus the user (row 0) may attend to the item (column 1)."""
    mask = subsequent_mask(src_len + tgt_len)
    mask[0, 1] = False
    return mask


def text_loss(model: PETERNet, hidden: torch.Tensor, targets: torch.Tensor, pad: int) -> torch.Tensor:
    """The explanation NLL: mean cross-entropy of the word logits over the non-pad targets.

    The same value as `F.cross_entropy(model.word_logits(hidden).reshape(-1, V), targets.reshape(-1),
    ignore_index=pad)`, but the word decoder (a product over the whole vocabulary, then a
    log-softmax over it, forward and backward: most of an epoch) runs only on the positions
    whose target counts, not on the ~1/5 that are padding on amazon-instruments."""
    flat = targets.reshape(-1)
    keep = flat != pad
    rows = hidden[:, model.src_len :].reshape(-1, hidden.size(-1))[keep]
    return F.cross_entropy(model.hidden2token(rows), flat[keep])


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float, max_len: int = 512):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, E)
        return self.dropout(x + self.pe[: x.size(1)].unsqueeze(0))


class RatingMLP(nn.Module):
    """emsize -> emsize (sigmoid) -> 1, PETER's recommender head."""

    def __init__(self, emsize: int):
        super().__init__()
        self.linear1 = nn.Linear(emsize, emsize)
        self.linear2 = nn.Linear(emsize, 1)
        for layer in (self.linear1, self.linear2):
            nn.init.uniform_(layer.weight, -0.1, 0.1)
            nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear2(torch.sigmoid(self.linear1(h))).squeeze(-1)


class PETERNet(nn.Module):
    def __init__(
        self, nuser: int, nitem: int, ntoken: int, *, emsize: int, nhead: int, nhid: int,
        nlayers: int, dropout: float, src_len: int, tgt_len: int, pad_idx: int, use_peter_mask: bool = True,
    ):
        super().__init__()
        self.emsize = emsize
        self.src_len = src_len
        self.pad_idx = pad_idx
        self.user_embeddings = nn.Embedding(nuser, emsize)
        self.item_embeddings = nn.Embedding(nitem, emsize)
        self.word_embeddings = nn.Embedding(ntoken, emsize)
        self.pos_encoder = PositionalEncoding(emsize, dropout, max_len=src_len + tgt_len + 8)
        layer = nn.TransformerEncoderLayer(emsize, nhead, nhid, dropout, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.hidden2token = nn.Linear(emsize, ntoken)
        self.recommender = RatingMLP(emsize)
        total = src_len + tgt_len + 8
        mask = peter_mask(src_len, total - src_len) if use_peter_mask else subsequent_mask(total)
        self.register_buffer("attn_mask", mask, persistent=False)
        self.register_buffer(
            "attn_mask_float", torch.zeros(total, total).masked_fill(mask, float("-inf")), persistent=False
        )
        for emb in (self.user_embeddings, self.item_embeddings, self.word_embeddings):
            nn.init.uniform_(emb.weight, -0.1, 0.1)
        nn.init.uniform_(self.hidden2token.weight, -0.1, 0.1)
        nn.init.zeros_(self.hidden2token.bias)

    def forward(self, user: torch.Tensor, item: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """user, item (B,); text (B, T) = [(feature,) <bos>, w1...]. Returns hidden (B, 2+T, E)."""
        total = 2 + text.size(1)
        src = torch.cat(
            [self.user_embeddings(user).unsqueeze(1), self.item_embeddings(item).unsqueeze(1), self.word_embeddings(text)],
            dim=1,
        ) * math.sqrt(self.emsize)
        src = self.pos_encoder(src)
        pad = torch.cat([torch.zeros(text.size(0), 2, dtype=torch.bool, device=text.device), text == self.pad_idx], dim=1)
        # float masks for both (bool + bool masks mix fine, but float avoids the fast-path warning);
        # the attention mask is built once (attn_mask_float) and sliced per length
        key_pad = torch.zeros(pad.shape, device=src.device).masked_fill(pad, float("-inf"))
        return self.transformer(src, mask=self.attn_mask_float[:total, :total], src_key_padding_mask=key_pad)

    def rating(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.recommender(hidden[:, 0])

    def context_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.hidden2token(hidden[:, 1])

    def word_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.hidden2token(hidden[:, self.src_len :])


class PETER(ExplainerMethod):
    """PETER: user + item ids -> rating and a generated explanation."""

    Params: ClassVar[type] = PETERParams
    produces = frozenset({"rating", "explanation"})
    stage_name = "peter"
    uses_feature = False
    coherence = False  # CER turns this on

    def build_model(self) -> PETERNet:
        p = self.params
        return PETERNet(
            len(self.corpus.users), len(self.corpus.items), len(self.corpus.vocab),
            emsize=p.emsize, nhead=p.nhead, nhid=p.nhid, nlayers=p.nlayers, dropout=p.dropout,
            src_len=2 + int(self.uses_feature), tgt_len=p.words + 1, pad_idx=self.corpus.vocab.pad,
            use_peter_mask=p.peter_mask,
        )

    def _text(self, batch: dict, prefix: torch.Tensor) -> torch.Tensor:
        if self.uses_feature:
            return torch.cat([batch["feature"].unsqueeze(1), prefix], dim=1)
        return prefix

    def _extra_rating_loss(self, model, hidden, batch, rating_pred) -> torch.Tensor | None:
        return None

    def loss(self, model: PETERNet, batch: dict):
        p = self.params
        pad = self.corpus.vocab.pad
        seq = batch["seq"]  # (B, W + 2) = <bos> w... <eos> <pad>...
        hidden = model(batch["user"], batch["item"], self._text(batch, seq[:, :-1]))
        t_loss = text_loss(model, hidden, seq[:, 1:], pad)
        # context: the item position predicts every word (and <eos>) of the explanation, unordered
        ctx = F.log_softmax(model.context_logits(hidden).float(), dim=-1)  # (B, V); fp32 under bf16 autocast
        targets = seq[:, 1:-1]
        picked = ctx.gather(1, targets.clamp(min=0))
        keep = (targets != pad).float()
        c_loss = -(picked * keep).sum() / keep.sum().clamp(min=1.0)
        rating_pred = model.rating(hidden)
        r_loss = masked_mse(rating_pred, batch["rating"], batch["rating_mask"])
        extra = self._extra_rating_loss(model, hidden, batch, rating_pred)
        scalars = {"text": t_loss.item(), "context": c_loss.item(), "rating": r_loss.item()}
        if extra is not None:
            scalars["coherence"] = extra.item()
            r_loss = r_loss + extra
        loss = p.text_reg * t_loss + p.context_reg * c_loss + p.rating_reg * r_loss
        scalars["objective"] = (t_loss + r_loss).item() if p.rating_reg else t_loss.item()
        return loss, scalars

    def generate(self, batch: dict):
        model = self.model
        user, item = batch["user"], batch["item"]
        vocab = self.corpus.vocab
        first = model(user, item, self._text(batch, torch.full_like(user, vocab.bos).unsqueeze(1)))
        ratings = model.rating(first).tolist()

        def step(prefix: torch.Tensor) -> torch.Tensor:
            hidden = model(user, item, self._text(batch, prefix))
            return model.hidden2token(hidden[:, -1])

        ids = greedy_decode(step, len(user), bos=vocab.bos, eos=vocab.eos, max_len=self.params.words, device=user.device)
        return ratings, ids, self._generate_extras(batch, ids)

    def _generate_extras(self, batch, ids) -> dict:
        return {}


class PETERPlus(PETER):
    """PETER+: PETER with the record's feature word after the item token."""

    stage_name = "peter+"
    uses_feature = True
