"""A Sentires-like (feature, opinion, sentence, sentiment) extractor that runs offline.

PETER, PETER+, CER (and the FMR/FCR/DIV metrics) were trained and scored on explanations
that Sentires (Zhang et al., SIGIR 2014; wrapped by lileipisces/Sentires-Guide) mined from
reviews: a sentence of the review that holds a product feature and an opinion word about it,
with the feature's sentiment. Sentires is a Java tool with a POS tagger and a parser; NLTK's
tagger data cannot be downloaded here, so this module replaces it with a documented,
deterministic heuristic that needs nothing beyond the standard library:

1. Tokens are lower-cased words (bench.data.tokens.tokenize); sentences split on . ! ? ; and
   line breaks.
2. Opinion words: a built-in lexicon of common positive / negative adjectives (POSITIVE,
   NEGATIVE) plus adjective-looking tokens (suffixes -ful -less -able -ible -ous -ive) -- the
   latter count as opinions but carry no polarity of their own.
3. Feature candidates: alphabetic tokens of 3+ letters that are neither in the built-in
   stopword list (function words, pronouns, frequent verbs and adverbs, -ly adverbs) nor
   opinion words -- a stand-in for "noun".
4. fit(train records): a candidate becomes a feature when it occurs within `window` tokens of
   an opinion word in at least `min_count` train review sentences (Sentires' feature-opinion
   pairing, counted as co-occurrence); the `max_features` most frequent such words form the
   feature set. Only train reviews are read.
5. extract(record): the sentence is the record's reference explanation (or, if it has none,
   the first review sentence with a feature-opinion pair, capped at `max_words`). The
   feature is the feature-set word of that sentence nearest to an opinion word (ties: the
   more frequent feature); the opinion is that nearest opinion word; the sentiment is its
   lexicon polarity, flipped by a negation ("not", "no", "never", "n't") up to two tokens
   before it, and taken from the rating (>= 3.5 -> +1, else -1) when the lexicon is silent.
   A sentence with no feature-set word falls back to the item's most frequent train feature,
   then to the most frequent feature overall (PETER+ needs one feature per record).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.data.tokens import tokenize

POSITIVE = frozenset(
    """good great nice excellent perfect awesome amazing fantastic wonderful best better solid
    sturdy easy clear warm bright rich smooth comfortable decent fine happy pleased reliable
    durable cheap inexpensive affordable quiet accurate crisp clean beautiful pretty lovely cool
    superb outstanding impressive fun handy useful light lightweight strong tight stable
    responsive fast quick simple convenient versatile sweet incredible terrific fabulous
    favorite glad brilliant natural full punchy loud powerful""".split()
)
NEGATIVE = frozenset(
    """bad poor cheap flimsy terrible awful horrible worse worst noisy broken weak thin loose
    difficult hard harsh muddy dull tinny buzzy disappointing disappointed useless defective
    fragile uncomfortable expensive overpriced annoying heavy wrong faulty slow junk crappy
    mediocre unusable unstable inaccurate sharp stiff small tiny short""".split()
)
# "cheap" is ambiguous (price vs quality); it stays positive, the rating decides below when a
# lexicon polarity conflicts with nothing else.
NEGATIVE = NEGATIVE - {"cheap"}

NEGATIONS = frozenset({"not", "no", "never", "n't", "nt", "hardly", "without"})

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each few for from further had hadn has hasn have haven having he her here
    hers herself him himself his how i if in into is isn it its itself just let me more most
    mustn my myself no nor not now of off on once only or other ought our ours ourselves out
    over own same shan she should shouldn so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was wasn we
    were weren what when where which while who whom why will with won would wouldn you your
    yours yourself yourselves one ones get got gets getting use used uses using make makes made
    work works worked working buy bought purchase purchased need needs needed want wanted
    really well even still much many lot lots thing things way something anything everything
    nothing would could might may must shall say said think thought know knew see seen look
    looks looked looking go goes going went come came take took give gave put try tried find
    found like likes liked love loved seems seem seemed keep kept since though although however
    yet already always never ever again back around enough quite pretty rather almost maybe
    sure able every another year years day days time times star stars amazon review reviews
    ive dont doesnt didnt isnt cant wont im its thats youre theyre etc lol little high
    low far several bit without first last new old other next top big long""".split()
)

_ADJ_SUFFIXES = ("ful", "less", "able", "ible", "ous", "ive")
_SENT_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[.!?])(?=[A-Z])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text or "") if s and s.strip()]


def is_opinion(token: str) -> bool:
    return token in POSITIVE or token in NEGATIVE or (len(token) > 5 and token.endswith(_ADJ_SUFFIXES))


def is_candidate(token: str) -> bool:
    return (
        len(token) >= 3
        and token.isalpha()
        and token not in STOPWORDS
        and not is_opinion(token)
        and not token.endswith("ly")
    )


@dataclass(frozen=True)
class Quadruple:
    """What Sentires gives per record: (feature, opinion, sentence, sentiment)."""

    feature: str
    opinion: str
    sentence: str
    sentiment: int  # +1 / -1
    in_sentence: bool  # False when the feature is a fallback (item's / global most frequent)


class FeatureExtractor:
    """Fit on train records; `extract(record)` -> Quadruple. See the module docstring."""

    def __init__(self, *, window: int = 3, min_count: int = 5, max_features: int = 1000, max_words: int = 15):
        self.window = window
        self.min_count = min_count
        self.max_features = max_features
        self.max_words = max_words
        self.counts: Counter[str] = Counter()
        self.item_features: dict[str, Counter[str]] = defaultdict(Counter)
        self.feature_set: frozenset[str] = frozenset()

    # -- fitting ---------------------------------------------------------------------------
    def _pairs(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        """(feature-candidate index, opinion index) pairs within the window."""
        opinions = [j for j, t in enumerate(tokens) if is_opinion(t)]
        pairs = []
        for i, t in enumerate(tokens):
            if not is_candidate(t):
                continue
            near = [j for j in opinions if abs(j - i) <= self.window]
            if near:
                pairs.append((i, min(near, key=lambda j: abs(j - i))))
        return pairs

    def fit(self, train: Iterable) -> FeatureExtractor:
        per_item: dict[str, Counter[str]] = defaultdict(Counter)
        counts: Counter[str] = Counter()
        for record in train:
            for sentence in split_sentences(record.review or record.reference_explanation):
                tokens = tokenize(sentence)
                found = {tokens[i] for i, _ in self._pairs(tokens)}
                counts.update(found)
                per_item[record.item_id].update(found)
        ranked = sorted(
            ((w, c) for w, c in counts.items() if c >= self.min_count), key=lambda wc: (-wc[1], wc[0])
        )[: self.max_features]
        self.counts = Counter(dict(ranked))
        self.feature_set = frozenset(self.counts)
        self.item_features = defaultdict(Counter)
        for item, ctr in per_item.items():
            self.item_features[item] = Counter({w: c for w, c in ctr.items() if w in self.feature_set})
        return self

    # -- extraction ------------------------------------------------------------------------
    def best_sentence(self, review: str) -> str:
        """First review sentence with a feature-opinion pair (capped), else the first one."""
        sentences = split_sentences(review)
        for sentence in sentences:
            tokens = tokenize(sentence)
            if any(tokens[i] in self.feature_set for i, _ in self._pairs(tokens)):
                return " ".join(sentence.split()[: self.max_words])
        return " ".join(sentences[0].split()[: self.max_words]) if sentences else ""

    def _fallback(self, item_id: str) -> str:
        local = self.item_features.get(item_id)
        if local:
            return max(local.items(), key=lambda wc: (wc[1], self.counts[wc[0]], wc[0]))[0]
        if self.counts:
            return self.counts.most_common(1)[0][0]
        return ""

    def _sentiment(self, tokens: Sequence[str], j: int | None, rating: float | None) -> int:
        polarity = 0
        if j is not None:
            word = tokens[j]
            polarity = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
            if polarity and any(t in NEGATIONS or t.endswith("n't") for t in tokens[max(0, j - 2) : j]):
                polarity = -polarity
        if polarity == 0:
            polarity = 1 if rating is None or rating >= 3.5 else -1
        return polarity

    def extract(self, record) -> Quadruple:
        sentence = record.reference_explanation or self.best_sentence(record.review)
        tokens = tokenize(sentence)
        best: tuple[int, int, str, int | None] | None = None  # (distance, -count, word, opinion idx)
        opinions = [j for j, t in enumerate(tokens) if is_opinion(t)]
        for i, t in enumerate(tokens):
            if t not in self.feature_set:
                continue
            if opinions:
                j = min(opinions, key=lambda k: abs(k - i))
                key = (abs(j - i), -self.counts[t], t, j)
            else:
                key = (10**6, -self.counts[t], t, None)
            if best is None or key[:3] < best[:3]:
                best = key
        if best is not None:
            feature, j, found = best[2], best[3], True
        else:
            feature, j, found = self._fallback(record.item_id), (opinions[0] if opinions else None), False
        opinion = tokens[j] if j is not None else ""
        return Quadruple(feature, opinion, sentence, self._sentiment(tokens, j, record.rating), found)

    def feature(self, record) -> str:
        return self.extract(record).feature
