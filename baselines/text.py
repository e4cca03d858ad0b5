"""Shared text plumbing of the classic explanation generators (NRT, Att2Seq, PETER, CER).

- tokens: bench.data.tokens (lower-cased word / punctuation tokens, as NLG4RS).
- `Vocab`: <bos>, <eos>, <pad>, <unk> then the most frequent train words (NLG4RS keeps 20,000).
- `EntityIndex`: user / item ids -> rows of an embedding table; index 0 is the unknown entity
  (a cold user or item at test time gets that row instead of an error).
- `Corpus`: everything the models need from the train split, built deterministically from it,
  and `Corpus.encode(records)` -> a dict of tensors (user, item, rating, seq, feature).
- `format_sequence`: [<bos>, w1..wn, <eos>, <pad>...] capped at `max_words`, as PETER's
  `sentence_format`.
- `greedy_decode`: batched arg-max decoding that stops each row at <eos> and caps the length.

The explanation a model learns is the record's `reference_explanation` (the data layer builds
it from the record's own review); where a record has none, the Sentires-like extractor's
sentence (bench.data.features) stands in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bench.api.method import Method
from bench.data.tokens import detokenize, tokenize

BOS, EOS, PAD, UNK = "<bos>", "<eos>", "<pad>", "<unk>"
SPECIALS = (BOS, EOS, PAD, UNK)

class Vocab:
    """Word <-> id with the four special tokens first (ids 0..3)."""

    def __init__(self, words: Sequence[str]):
        self.itos: list[str] = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    bos = property(lambda self: self.stoi[BOS])
    eos = property(lambda self: self.stoi[EOS])
    pad = property(lambda self: self.stoi[PAD])
    unk = property(lambda self: self.stoi[UNK])

    @classmethod
    def build(cls, texts: Iterable[Sequence[str]], max_size: int = 20000) -> Vocab:
        counts: Counter[str] = Counter()
        for tokens in texts:
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        # most frequent first; ties broken alphabetically so the vocabulary is deterministic
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_size]
        return cls([w for w, _ in ranked])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        unk = self.unk
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> tokens, stopping at <eos> and dropping <bos>/<pad>."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i in (self.bos, self.pad):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out


class EntityIndex:
    """Entity id -> embedding row; row 0 stands for every entity unseen in training."""

    def __init__(self, ids: Iterable[str]):
        self.itos = ["<unk>"] + sorted(set(ids))
        self.stoi = {e: i for i, e in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, entity: str) -> int:
        return self.stoi.get(entity, 0)


def format_sequence(ids: Sequence[int], max_words: int, bos: int, eos: int, pad: int) -> list[int]:
    """[bos] + ids[:max_words] + [eos] + pads, always max_words + 2 long."""
    ids = list(ids)[:max_words]
    return [bos] + ids + [eos] + [pad] * (max_words - len(ids))


@dataclass
class Corpus:
    """Vocabulary, entity indexes and rating range built from the train split."""

    vocab: Vocab
    users: EntityIndex
    items: EntityIndex
    max_words: int
    rating_min: float
    rating_max: float
    rating_mean: float
    explanation_fn: Callable[[object], str]
    feature_fn: Callable[[object], str] | None = None

    @classmethod
    def build(
        cls,
        train: Sequence,
        *,
        max_words: int = 15,
        vocab_size: int = 20000,
        explanation_fn: Callable[[object], str],
        feature_fn: Callable[[object], str] | None = None,
    ) -> Corpus:
        texts = [tokenize(explanation_fn(r)) for r in train]
        features = [tokenize(feature_fn(r)) for r in train] if feature_fn else []
        vocab = Vocab.build(texts + features, vocab_size)
        ratings = [float(r.rating) for r in train if r.rating is not None]
        if not ratings:
            ratings = [3.0]
        return cls(
            vocab=vocab,
            users=EntityIndex(r.user_id for r in train),
            items=EntityIndex(r.item_id for r in train),
            max_words=max_words,
            rating_min=min(ratings),
            rating_max=max(ratings),
            rating_mean=sum(ratings) / len(ratings),
            explanation_fn=explanation_fn,
            feature_fn=feature_fn,
        )

    def encode(self, records: Sequence) -> dict:
        """Tensors for a list of records: user, item (long), rating (float; the train mean
        where a record has none, with rating_mask 0), seq (B, max_words + 2), feature (B,)."""
        import torch

        v = self.vocab
        seqs, feats, ratings, mask = [], [], [], []
        for r in records:
            seqs.append(
                format_sequence(v.encode(tokenize(self.explanation_fn(r))), self.max_words, v.bos, v.eos, v.pad)
            )
            if self.feature_fn is not None:
                ftoks = tokenize(self.feature_fn(r))
                feats.append(v.stoi.get(ftoks[0], v.unk) if ftoks else v.unk)
            else:
                feats.append(v.unk)
            ratings.append(self.rating_mean if r.rating is None else float(r.rating))
            mask.append(0.0 if r.rating is None else 1.0)
        return {
            "user": torch.tensor([self.users[r.user_id] for r in records], dtype=torch.long),
            "item": torch.tensor([self.items[r.item_id] for r in records], dtype=torch.long),
            "rating": torch.tensor(ratings, dtype=torch.float),
            "rating_mask": torch.tensor(mask, dtype=torch.float),
            "seq": torch.tensor(seqs, dtype=torch.long).reshape(len(records), self.max_words + 2),
            "feature": torch.tensor(feats, dtype=torch.long),
        }

    def clamp_rating(self, value: float) -> float:
        return float(min(self.rating_max, max(self.rating_min, value)))


def greedy_decode(
    step: Callable[[torch.Tensor], torch.Tensor],  # noqa: F821
    batch_size: int,
    *,
    bos: int,
    eos: int,
    max_len: int,
    device: str = "cpu",
) -> list[list[int]]:
    """Batched greedy decoding.

    `step(prefix)` gets the tokens so far, (B, t) starting with <bos>, and returns next-token
    scores (B, V) (logits or log-probabilities). Each row stops at its first <eos> (not
    included in the output) or after `max_len` tokens; the loop ends once every row stopped.
    """
    import torch

    prefix = torch.full((batch_size, 1), bos, dtype=torch.long, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    out: list[list[int]] = [[] for _ in range(batch_size)]
    for _ in range(max_len):
        scores = step(prefix)
        nxt = scores.argmax(dim=-1)
        nxt = torch.where(finished, torch.full_like(nxt, eos), nxt)
        for b, tok in enumerate(nxt.tolist()):
            if not finished[b] and tok != eos:
                out[b].append(tok)
        finished = finished | (nxt == eos)
        prefix = torch.cat([prefix, nxt.unsqueeze(1)], dim=1)
        if bool(finished.all()):
            break
    return out


# -- the Method base shared by NRT, Att2Seq, PETER, PETER+ and CER ----------------------------


def masked_mse(pred, target, mask):
    """Mean squared error over the rows whose rating is known (mask 1)."""
    return (((pred - target) ** 2) * mask).sum() / mask.sum().clamp(min=1.0)


def explanation_of(record, extractor) -> str:
    """The explanation a model learns: the reference explanation, else the extractor's sentence."""
    return record.reference_explanation or (extractor.best_sentence(record.review) if extractor else "")


class ExplainerMethod(Method):
    """Fit = build corpus + extractor from train, train one resumable stage; predict = greedy.

    Subclasses set `stage_name`, `uses_feature`, and implement `build_model()`,
    `loss(model, batch) -> (loss, scalars)` and `generate(batch) -> (ratings | None, ids)`.
    """

    stage_name = "train"
    uses_feature = False

    def prepare(self, splits) -> tuple:
        """Extractor, corpus and a freshly initialised model from the train split; returns the
        (train, valid) TensorBatches. Deterministic given the split and the run seed."""
        import torch

        from bench.adapters.torch_loop import TensorBatches
        from bench.data.features import FeatureExtractor

        p = self.params
        torch.manual_seed(self.run.seed)
        self.extractor = FeatureExtractor(max_words=p.words).fit(splits.train)
        self.corpus = Corpus.build(
            splits.train,
            max_words=p.words,
            vocab_size=p.vocab_size,
            explanation_fn=lambda r: explanation_of(r, self.extractor),
            feature_fn=self.extractor.feature,
        )
        self.model = self.build_model().to(self.run.device)
        train = TensorBatches(self.corpus.encode(splits.train))
        valid = TensorBatches(self.corpus.encode(splits.valid)) if splits.valid else None
        return train, valid

    def fit(self, splits) -> None:
        from bench.adapters.heap import keep_freed_memory
        from bench.adapters.torch_loop import LoopSettings, train_model

        keep_freed_memory()  # vocabulary-sized tensors every step: reuse them, no page faults
        train, valid = self.prepare(splits)
        train_model(self.run, self.stage_name, self.model, train, valid, self.loss, LoopSettings.from_params(self.params))

    def predict(self, records):
        import torch

        from bench.api.records import Prediction

        self.model.eval()
        bs = getattr(self.params, "eval_batch_size", 256)
        produces_rating = "rating" in self.produces
        out = []
        with torch.no_grad(), self.run.progress(f"{self.stage_name} generate", len(records)) as advance:
            for start in range(0, len(records), bs):
                chunk = records[start : start + bs]
                batch = {k: v.to(self.run.device) for k, v in self.corpus.encode(chunk).items()}
                ratings, ids, extras = self.generate(batch)
                for b, (record, seq) in enumerate(zip(chunk, ids, strict=True)):
                    extra = {"feature": self.extractor.feature(record)}
                    extra.update({k: v[b] for k, v in extras.items()})
                    rating = self.corpus.clamp_rating(float(ratings[b])) if produces_rating else None
                    text = detokenize(self.corpus.vocab.decode(seq))
                    out.append(Prediction(rating=rating, explanation=text, extras=extra))
                advance(len(chunk))
        return out
