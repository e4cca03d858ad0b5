"""Att2Seq, attribute-to-sequence review generation (Dong, Huang, Wei, Lapata, Zhou and Xu,
EACL 2017: "Learning to Generate Product Reviews from Attributes"), written after the paper
(lileipisces/Att2Seq, the NLG4RS version, drops the attention and the rating attribute; we keep
both, as the paper has them).

- Attribute encoder: the attributes (user, item, rating) are embedded, g_i = e(a_i); the
  decoder's initial hidden states of all `nlayers` LSTM layers are tanh(H [g_1; g_2; g_3] + b)
  split per layer; cell states start at zero.
- Decoder: an `nlayers` LSTM over word embeddings; at each step the top hidden state h_t
  attends over the attribute vectors, a_t^i = softmax_i(tanh(W [h_t; g_i])), context
  c_t = sum_i a_t^i g_i, and the word distribution is softmax(W_o tanh(W_1 c_t + W_2 h_t)).
- Loss: next-word NLL; Adam (lr 1e-4 in the reference; the paper used RMSProp 2e-3), clip 5,
  dropout 0.2 between LSTM layers, batch 50, early stopping on validation NLL.

The rating attribute is the record's own rating, at test time too (it is an input attribute
in the paper's task; Att2Seq predicts no rating). A record without a rating gets the
"unknown rating" embedding (row 0). Produces explanations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.text import ExplainerMethod, greedy_decode


@dataclass
class Att2SeqParams:
    emsize: int = 64  # attribute embedding size
    nhid: int = 512  # LSTM hidden size (also its word-embedding size, as in the reference)
    nlayers: int = 2
    dropout: float = 0.2
    use_rating: bool = True  # the rating attribute (False: user and item only, as NLG4RS)
    words: int = 15
    vocab_size: int = 20000
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-4
    lr_decay: float = 1.0
    clip: float | None = 5.0
    epochs: int = 100
    batch_size: int = 50
    eval_batch_size: int = 256
    max_steps: int | None = None
    patience: int = 5


class Att2SeqNet(nn.Module):
    def __init__(self, nuser, nitem, nrating, ntoken, *, emsize, nhid, nlayers, dropout, use_rating):
        super().__init__()
        self.nlayers, self.nhid, self.use_rating = nlayers, nhid, use_rating
        self.user_embeddings = nn.Embedding(nuser, emsize)
        self.item_embeddings = nn.Embedding(nitem, emsize)
        self.rating_embeddings = nn.Embedding(nrating, emsize)
        nattr = 3 if use_rating else 2
        self.encoder = nn.Linear(nattr * emsize, nhid * nlayers)
        self.word_embeddings = nn.Embedding(ntoken, nhid)
        self.lstm = nn.LSTM(nhid, nhid, nlayers, dropout=dropout if nlayers > 1 else 0.0, batch_first=True)
        self.attn_score = nn.Linear(nhid + emsize, 1)
        self.attn_context = nn.Linear(emsize, nhid, bias=False)
        self.attn_hidden = nn.Linear(nhid, nhid)
        self.out = nn.Linear(nhid, ntoken)
        for m in (self.user_embeddings, self.item_embeddings, self.rating_embeddings, self.word_embeddings):
            nn.init.uniform_(m.weight, -0.08, 0.08)
        nn.init.uniform_(self.out.weight, -0.08, 0.08)
        nn.init.zeros_(self.out.bias)

    def attributes(self, user, item, rating_level):
        attrs = [self.user_embeddings(user), self.item_embeddings(item)]
        if self.use_rating:
            attrs.append(self.rating_embeddings(rating_level))
        return torch.stack(attrs, dim=1)  # (B, A, emsize)

    def init_state(self, attrs):
        b = attrs.size(0)
        h0 = torch.tanh(self.encoder(attrs.reshape(b, -1)))
        h0 = h0.reshape(b, self.nlayers, self.nhid).transpose(0, 1).contiguous()
        return h0, torch.zeros_like(h0)

    def decode(self, tokens, state, attrs):
        output, state = self.lstm(self.word_embeddings(tokens), state)  # (B, T, H)
        T, A = output.size(1), attrs.size(1)
        pairs = torch.cat(
            [output.unsqueeze(2).expand(-1, -1, A, -1), attrs.unsqueeze(1).expand(-1, T, -1, -1)], dim=-1
        )  # (B, T, A, H + E)
        weights = torch.softmax(torch.tanh(self.attn_score(pairs)).squeeze(-1), dim=-1)  # (B, T, A)
        context = torch.einsum("bta,bae->bte", weights, attrs)
        mixed = torch.tanh(self.attn_context(context) + self.attn_hidden(output))
        return self.out(mixed), state

    def forward(self, user, item, rating_level, seq_in):
        attrs = self.attributes(user, item, rating_level)
        logits, _ = self.decode(seq_in, self.init_state(attrs), attrs)
        return logits


class Att2Seq(ExplainerMethod):
    Params: ClassVar[type] = Att2SeqParams
    produces = frozenset({"explanation"})
    stage_name = "att2seq"

    def _levels(self) -> int:
        c = self.corpus
        return int(round(c.rating_max - c.rating_min)) + 2  # row 0 = unknown

    def rating_level(self, batch) -> torch.Tensor:
        level = (batch["rating"] - self.corpus.rating_min).round().long() + 1
        level = level.clamp(1, self._levels() - 1)
        return torch.where(batch["rating_mask"] > 0, level, torch.zeros_like(level))

    def build_model(self) -> Att2SeqNet:
        p = self.params
        return Att2SeqNet(
            len(self.corpus.users), len(self.corpus.items), self._levels(), len(self.corpus.vocab),
            emsize=p.emsize, nhid=p.nhid, nlayers=p.nlayers, dropout=p.dropout, use_rating=p.use_rating,
        )

    def loss(self, model: Att2SeqNet, batch: dict):
        seq = batch["seq"]
        logits = model(batch["user"], batch["item"], self.rating_level(batch), seq[:, :-1])
        t_loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), seq[:, 1:].reshape(-1), ignore_index=self.corpus.vocab.pad
        )
        return t_loss, {"text": t_loss.item()}

    def generate(self, batch: dict):
        model = self.model
        attrs = model.attributes(batch["user"], batch["item"], self.rating_level(batch))
        holder = {"state": model.init_state(attrs)}

        def step(prefix):
            logits, holder["state"] = model.decode(prefix[:, -1:], holder["state"], attrs)
            return logits[:, -1]

        vocab = self.corpus.vocab
        ids = greedy_decode(step, attrs.size(0), bos=vocab.bos, eos=vocab.eos, max_len=self.params.words,
                            device=attrs.device)
        return [None] * len(ids), ids, {}
