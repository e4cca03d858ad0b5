"""NRT, Neural Rating regression with abstractive Tips generation (Li, Wang, Ren, Bing and Lam,
SIGIR 2017), written after the paper and lileipisces/NRT (the NLG4RS version, which, like
ours, leaves out the paper's review bag-of-words task).

- Rating regression: user and item embeddings, concatenated, through an MLP of `nlayers`
  sigmoid hidden layers of width `nhid`, to a scalar rating.
- Tip generation: a GRU decoder whose initial state is tanh(W [u; i; onehot(r_hat)] + b), the
  one-hot of the predicted rating rounded into the rating range (no gradient through it, as in
  the reference, which truncates instead of rounding), fed the previous word's embedding.
- Loss = text_reg * NLL(tip) + rating_reg * MSE(rating) + l2_reg * ||theta||^2 (1, 1, 0: the
  paper's 1e-4 L2 makes every tip identical, per the reference); Adam lr 1e-4, batch 200,
  early stopping on validation NLL + MSE. Decoding is greedy, capped at `words` (15).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.text import ExplainerMethod, greedy_decode, masked_mse


@dataclass
class NRTParams:
    emsize: int = 300
    nhid: int = 400
    nlayers: int = 4  # hidden layers of the rating MLP
    words: int = 15
    vocab_size: int = 20000
    text_reg: float = 1.0
    rating_reg: float = 1.0
    l2_reg: float = 0.0
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-4
    lr_decay: float = 1.0
    clip: float | None = None
    epochs: int = 100
    batch_size: int = 200
    eval_batch_size: int = 256
    max_steps: int | None = None
    patience: int = 5


class NRTNet(nn.Module):
    def __init__(self, nuser, nitem, ntoken, *, emsize, nhid, nlayers, rating_min, rating_max):
        super().__init__()
        self.rating_min = int(round(rating_min))
        self.num_rating = int(round(rating_max)) - self.rating_min + 1
        self.user_embeddings = nn.Embedding(nuser, emsize)
        self.item_embeddings = nn.Embedding(nitem, emsize)
        self.first_layer = nn.Linear(2 * emsize, nhid)
        self.layers = nn.ModuleList(nn.Linear(nhid, nhid) for _ in range(nlayers))
        self.last_layer = nn.Linear(nhid, 1)
        self.encoder = nn.Linear(2 * emsize + self.num_rating, nhid)
        self.word_embeddings = nn.Embedding(ntoken, emsize)
        self.gru = nn.GRU(emsize, nhid, batch_first=True)
        self.out = nn.Linear(nhid, ntoken)
        for m in [self.user_embeddings, self.item_embeddings, self.word_embeddings]:
            nn.init.uniform_(m.weight, -0.1, 0.1)
        for m in [self.first_layer, *self.layers, self.last_layer, self.encoder, self.out]:
            nn.init.uniform_(m.weight, -0.1, 0.1)
            nn.init.zeros_(m.bias)

    def encode(self, user, item):
        u, i = self.user_embeddings(user), self.item_embeddings(item)
        ui = torch.cat([u, i], dim=1)
        h = torch.sigmoid(self.first_layer(ui))
        for layer in self.layers:
            h = torch.sigmoid(layer(h))
        rating = self.last_layer(h).squeeze(-1)
        level = (rating.detach().round().long() - self.rating_min).clamp(0, self.num_rating - 1)
        onehot = F.one_hot(level, self.num_rating).float()
        state = torch.tanh(self.encoder(torch.cat([ui, onehot], dim=1))).unsqueeze(0)  # (1, B, H)
        return rating, state

    def decode(self, tokens, state):
        output, state = self.gru(self.word_embeddings(tokens), state)
        return self.out(output), state

    def forward(self, user, item, seq_in):
        rating, state = self.encode(user, item)
        logits, _ = self.decode(seq_in, state)
        return rating, logits


class NRT(ExplainerMethod):
    Params: ClassVar[type] = NRTParams
    produces = frozenset({"rating", "explanation"})
    stage_name = "nrt"

    def build_model(self) -> NRTNet:
        p = self.params
        return NRTNet(
            len(self.corpus.users), len(self.corpus.items), len(self.corpus.vocab),
            emsize=p.emsize, nhid=p.nhid, nlayers=p.nlayers,
            rating_min=self.corpus.rating_min, rating_max=self.corpus.rating_max,
        )

    def loss(self, model: NRTNet, batch: dict):
        p = self.params
        seq = batch["seq"]
        rating, logits = model(batch["user"], batch["item"], seq[:, :-1])
        t_loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), seq[:, 1:].reshape(-1), ignore_index=self.corpus.vocab.pad
        )
        r_loss = masked_mse(rating, batch["rating"], batch["rating_mask"])
        loss = p.text_reg * t_loss + p.rating_reg * r_loss
        if p.l2_reg:
            loss = loss + p.l2_reg * sum(w.pow(2).sum() for w in model.parameters())
        return loss, {"text": t_loss.item(), "rating": r_loss.item(), "objective": (t_loss + r_loss).item()}

    def generate(self, batch: dict):
        model = self.model
        rating, state = model.encode(batch["user"], batch["item"])
        holder = {"state": state}

        def step(prefix):
            logits, holder["state"] = model.decode(prefix[:, -1:], holder["state"])
            return logits[:, -1]

        vocab = self.corpus.vocab
        ids = greedy_decode(step, len(rating), bos=vocab.bos, eos=vocab.eos, max_len=self.params.words,
                            device=rating.device)
        return rating.tolist(), ids, {}
