"""User/item profiles and reference explanations, built from the TRAIN split only.

Nothing here reads a valid or test record's text or rating to build an input: profiles and
the feature vocabulary come from `train`; a record's reference explanation is the one target
taken from its own review (it is what a method must generate, not an input).

Tokens: lower-cased `[a-z]+('[a-z]+)?`; content words are tokens of >= 3 letters that are
not in STOPWORDS. "Generic" words (GENERIC: sentiment and filler such as great, good, use,
product) are content words that carry no item aspect.

User / item profile (datasets with reviews), one short deterministic text:
    Average rating 4.2 over 7 reviews. Recent review summaries: "a"; "b"; "c".
    Frequent words: w1, w2, ..., w8.
  - summaries: the entity's train review summaries, newest first (timestamp, then load
    order), distinct, at most 3;
  - words: the 8 most frequent aspect words (content words minus generic ones) of its train
    reviews + summaries, ties broken alphabetically;
  - an item profile starts with "Title: <title>." and "Categories: ..." when metadata has
    them (metadata is not split-dependent).
  A user/item with no train record gets "" (or its metadata-only text for items).

Datasets without reviews (MovieLens, Book-Crossing):
  item: "<title>. Genres: a, b." (MovieLens) / "<title> by <author> (<year>)." (books)
  user: "Average rating 3.9 over 52 ratings. Liked genres: a, b, c. Recently liked: t1; t2; t3."
  (liked = train rating >= threshold; genres counted over liked train items, top 3,
  ties alphabetical; recent = the 3 newest liked train items).

Reference explanation (PETER-style, from the record's own review):
  - feature vocabulary: the FEATURE_VOCAB aspect words with the highest document frequency
    over train records (review + summary), ties alphabetical: a stand-in for
    PETER's extracted item-feature nouns (no POS tagger or Sentires needed);
  - sentences: the review split after . ! ? (also "word.Next" without a space);
  - pick the first sentence with 4..max_words whitespace words that mentions a feature
    word; else the first sentence truncated to max_words words; a record with an empty
    review uses its summary the same way. No review text -> "".
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from bench.api.records import Record

FEATURE_VOCAB = 200
N_SUMMARIES = 3
N_WORDS = 8

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[a-z][.!?])(?=[A-Z])")

STOPWORDS = frozenset(
    """a about above after again against all almost along already also although always am
    among an and another any anyone anything are aren't around as at away be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't done down during each either else enough etc even ever every few for
    from further get gets getting got had hadn't has hasn't have haven't having he he'd he'll
    he's her here here's hers herself him himself his how how's however i i'd i'll i'm i've if
    in into is isn't it it's its itself just let's many may me might more most much must
    mustn't my myself no nor not now of off often on once one ones only or other others ought
    our ours ourselves out over own per quite rather really same shan't she she'd she'll
    she's should shouldn't since so some something still such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those though through thus to too under until up upon us use used using very was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's whether which
    while who who's whom why why's will with within without won't would wouldn't yet you
    you'd you'll you're you've your yours yourself yourselves""".split()
)

GENERIC = frozenset(
    """great good nice best better excellent awesome amazing perfect fine bad poor worst
    love loved like liked likes well pretty little lot lots thing things way time times
    product products item items bought buy buying purchase purchased purchasing order
    ordered recommend recommended would make makes made work works worked working need
    needed needs want wanted think thought know say said says first new old sure back
    right able day days year years month months also two three review reviews star stars
    highly definitely actually probably maybe bit long far went going come comes came look
    looks looked looking see seems seemed find found give gave take took put keep kept try
    tried happy glad easy""".split()
)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


_DROP = STOPWORDS | GENERIC


def aspect_words(text: str) -> list[str]:
    """Content words that are not generic (the words profiles and features are made of)."""
    return [
        t for t in TOKEN.findall(text.lower()) if len(t) >= 3 and t not in _DROP and "'" not in t
    ]


def iter_sentences(text: str) -> Iterator[str]:
    start = 0
    for match in SENTENCE_END.finditer(text):
        piece = text[start : match.start()].strip()
        if piece:
            yield piece
        start = match.end()
    piece = text[start:].strip()
    if piece:
        yield piece


def split_sentences(text: str) -> list[str]:
    return list(iter_sentences(text.strip()))


def record_words(train: Iterable[Record]) -> list[list[str]]:
    """aspect_words(review + summary) per train record, computed once per split."""
    return [aspect_words(r.review + " " + r.summary) for r in train]


def feature_vocabulary(
    train: Iterable[Record], size: int = FEATURE_VOCAB, words: list[list[str]] | None = None
) -> frozenset[str]:
    df: Counter[str] = Counter()
    for bag in words if words is not None else record_words(train):
        df.update(set(bag))
    ranked = sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))
    return frozenset(word for word, _ in ranked[:size])


def reference_explanation(record: Record, features: frozenset[str], max_words: int) -> str:
    text = record.review.strip() or record.summary.strip()
    if not text:
        return ""
    first = None
    for sentence in iter_sentences(text):
        if first is None:
            first = sentence
        n_words = len(sentence.split())
        if 4 <= n_words <= max_words and any(w in features for w in aspect_words(sentence)):
            return sentence
    return " ".join((first or text).split()[:max_words])


def _order_key(record: Record, index: int) -> tuple[int, int]:
    return (record.timestamp, index)


def _review_profile(
    entries: list[tuple[int, Record]], words: dict[int, list[str]], head: str = ""
) -> str:
    """entries: (load index, record) of one user's/item's train records; words by index."""
    if not entries:
        return head
    ratings = [r.rating for _, r in entries if r.rating is not None]
    parts = [head] if head else []
    if ratings:
        parts.append(
            f"Average rating {sum(ratings) / len(ratings):.1f} over {len(ratings)} reviews."
        )
    newest = sorted(entries, key=lambda e: _order_key(e[1], e[0]), reverse=True)
    summaries: list[str] = []
    for _, record in newest:
        summary = " ".join(record.summary.split())
        if summary and summary not in summaries:
            summaries.append(summary)
        if len(summaries) == N_SUMMARIES:
            break
    if summaries:
        parts.append("Recent review summaries: " + "; ".join(f'"{s}"' for s in summaries) + ".")
    counts: Counter[str] = Counter()
    for index, _record in entries:
        counts.update(words[index])
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:N_WORDS]
    if top:
        parts.append("Frequent words: " + ", ".join(w for w, _ in top) + ".")
    return " ".join(parts)


def item_head(meta: dict[str, Any] | None, has_reviews: bool) -> str:
    """Metadata-only text for an item (split-independent)."""
    if not meta:
        return ""
    title = meta.get("title", "")
    if has_reviews:
        parts = [f"Title: {title}."] if title else []
        cats = [c for c in meta.get("categories", []) if c]
        if cats:
            parts.append("Categories: " + ", ".join(cats[:6]) + ".")
        return " ".join(parts)
    if not title:
        return ""
    if meta.get("genres"):
        return f"{title}. Genres: {', '.join(meta['genres'])}."
    if meta.get("author"):
        year = f" ({meta['year']})" if meta.get("year") else ""
        return f"{title} by {meta['author']}{year}."
    return f"{title}."


def _rating_profile(
    entries: list[tuple[int, Record]], items: dict[str, dict[str, Any]], threshold: float
) -> str:
    if not entries:
        return ""
    ratings = [r.rating for _, r in entries if r.rating is not None]
    parts = []
    if ratings:
        parts.append(
            f"Average rating {sum(ratings) / len(ratings):.1f} over {len(ratings)} ratings."
        )
    liked = [(i, r) for i, r in entries if r.rating is not None and r.rating >= threshold]
    genres: Counter[str] = Counter()
    for _, record in liked:
        genres.update((items.get(record.item_id) or {}).get("genres", []))
    top = sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    if top:
        parts.append("Liked genres: " + ", ".join(g for g, _ in top) + ".")
    newest = sorted(liked, key=lambda e: _order_key(e[1], e[0]), reverse=True)
    titles = [r.title or f"item {r.item_id}" for _, r in newest[:3]]
    if titles:
        parts.append("Recently liked: " + "; ".join(titles) + ".")
    return " ".join(parts)


def build_profiles(
    train: list[Record],
    train_index: list[int],
    items: dict[str, dict[str, Any]],
    *,
    has_reviews: bool,
    threshold: float,
    words: list[list[str]] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(user profiles, item profiles) from train records; `train_index` = their load order;
    `words` = record_words(train) when already computed."""
    by_user: dict[str, list[tuple[int, Record]]] = defaultdict(list)
    by_item: dict[str, list[tuple[int, Record]]] = defaultdict(list)
    for index, record in zip(train_index, train, strict=True):
        by_user[record.user_id].append((index, record))
        by_item[record.item_id].append((index, record))
    if has_reviews:
        bags = words if words is not None else record_words(train)
        by_index = dict(zip(train_index, bags, strict=True))
        users = {u: _review_profile(e, by_index) for u, e in by_user.items()}
        item_ids = set(by_item) | set(items)
        item_profiles = {
            i: _review_profile(by_item.get(i, []), by_index, item_head(items.get(i), True))
            for i in item_ids
        }
    else:
        users = {u: _rating_profile(e, items, threshold) for u, e in by_user.items()}
        item_profiles = {i: item_head(m, False) for i, m in items.items()}
    return users, item_profiles
