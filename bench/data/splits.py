"""Split protocols, histories and labels.

Protocols (DataConfig.split):
  random-A:B:C    (default "random-3:1:1", Curr-RLCER) seeded shuffle of all records, cut
                  into A:B:C (train = round(n*A/S), valid = round(n*B/S), test = rest).
  per-user-A:B:C  ("per-user-8:1:1") each user's records in time order;
                  the last round(n*C/S) (at least 1) go to test, the round(n*B/S) (at least
                  1) before them to valid, the rest to train; a user with fewer than 3
                  records is all train.
  per-user-target[K]-A:B:C
                  ("per-user-target-8:1:1", ExpCTR §5.1.1, which TALLRec, ICL and the RecBole
                  rows of its Table 1 share) one sample per user: a seeded random target
                  interaction whose history is the user's up to history_len interactions
                  chronologically before it; the samples are cut A:B:C at random. The user's
                  other records are no sample (no split; info["counts"]["unused"]), only
                  history. K > 1 ("per-user-target5-8:1:1", a deviation for small datasets:
                  ML-100K has 943 users, so one target each leaves 94 test samples) draws K
                  targets per user (all of a user's records when fewer) and cuts the USERS
                  A:B:C, so all samples of a user share a split and no held-out target is
                  the history of a train sample; for K = 1 that is the paper's cut.
  time[-A:B:C]    ("time" = 8:1:1) all records in global time order, cut A:B:C.
  given           the dataset's own split (XRec files: extras["split"]).
Time order is (timestamp, seeded tie-break): the seed only matters for equal timestamps in
per-user / time protocols. Within a split, records keep the load order.

label = int(rating >= rating_threshold) where a rating exists: a rating equal to the threshold
is positive, for every dataset (ExpCTR §5.1.1 states thresholds 4 and 5 and leaves the equal
case open; this is the one reading erbench uses).

History (every protocol): up to history_len of the user's items that come before the record
in time order, newest last, split into history_liked / history_disliked titles by the
threshold (an item without a title is named by its id). For per-user / time protocols all
earlier records are eligible (they are never in a later split); for random and given splits
only TRAIN records are, so no held-out rating leaks into an input.

Splits.info: protocol, ratios, seed, counts, label rates and a sha256 digest of each split's
sorted "user\\titem" keys (same data + seed -> same digests).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict, deque
from typing import Any

from bench.api.errors import DataError
from bench.api.records import Record

PROTOCOLS = ("random-3:1:1", "per-user-8:1:1", "per-user-target-8:1:1", "time", "given")
_PATTERN = re.compile(
    r"^(random|per-user-target(?:[1-9]\d*)?|per-user|time)"
    r"(?:-(\d+(?:\.\d+)?):(\d+(?:\.\d+)?):(\d+(?:\.\d+)?))?$"
)
_TARGETS = re.compile(r"^per-user-target(\d*)")
UNUSED = -1  # split code of a record that is no sample (per-user-target: history only)


def parse_protocol(name: str) -> tuple[str, tuple[float, float, float] | None]:
    if name == "given":
        return "given", None
    match = _PATTERN.match(name.strip())
    if not match:
        raise DataError(
            f"unknown split protocol {name!r}; use one of {', '.join(PROTOCOLS)} "
            "(or random-A:B:C, per-user-A:B:C, time-A:B:C)"
        )
    kind = "per-user-target" if match.group(1).startswith("per-user-target") else match.group(1)
    if match.group(2) is None:
        if kind != "time":
            raise DataError(f"split protocol {name!r} needs ratios, e.g. {kind}-8:1:1")
        return kind, (8.0, 1.0, 1.0)
    ratios = tuple(float(match.group(i)) for i in (2, 3, 4))
    if ratios[0] <= 0 or sum(ratios) <= 0:
        raise DataError(f"split protocol {name!r}: the train share must be positive")
    return kind, ratios  # type: ignore[return-value]


def targets_per_user(protocol: str) -> int:
    """K of per-user-target[K]-A:B:C (1 when the name has no number)."""
    match = _TARGETS.match(protocol.strip())
    return int(match.group(1) or 1) if match else 1


def _round(x: float) -> int:
    return int(x + 0.5)


def key_digest(records: list[Record]) -> str:
    keys = sorted(f"{r.user_id}\t{r.item_id}" for r in records)
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()


def assign(records: list[Record], protocol: str, seed: int) -> list[int]:
    """Split code per record: 0 train, 1 valid, 2 test (UNUSED: no sample)."""
    kind, ratios = parse_protocol(protocol)
    n = len(records)
    codes = [0] * n
    if kind == "given":
        names = {"train": 0, "valid": 1, "test": 2}
        for i, record in enumerate(records):
            split = record.extras.get("split")
            if split not in names:
                raise DataError(
                    "split protocol 'given' needs records tagged with their split "
                    f"(XRec files); record {record.source or i} has none"
                )
            codes[i] = names[split]
        return codes
    rng = random.Random(seed)
    total = sum(ratios)  # type: ignore[arg-type]
    if kind == "random":
        order = list(range(n))
        rng.shuffle(order)
        n_train = _round(n * ratios[0] / total)  # type: ignore[index]
        n_valid = min(n - n_train, _round(n * ratios[1] / total))  # type: ignore[index]
        for pos, i in enumerate(order):
            codes[i] = 0 if pos < n_train else 1 if pos < n_train + n_valid else 2
        return codes
    if kind == "per-user-target":
        return _assign_targets(records, ratios, targets_per_user(protocol), rng)  # type: ignore[arg-type]
    tie = list(range(n))
    rng.shuffle(tie)
    if kind == "time":
        order = sorted(range(n), key=lambda i: (records[i].timestamp, tie[i]))
        n_train = _round(n * ratios[0] / total)  # type: ignore[index]
        n_valid = min(n - n_train, _round(n * ratios[1] / total))  # type: ignore[index]
        for pos, i in enumerate(order):
            codes[i] = 0 if pos < n_train else 1 if pos < n_train + n_valid else 2
        return codes
    # per-user
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_user[record.user_id].append(i)
    for indices in by_user.values():
        m = len(indices)
        if m < 3:
            continue
        indices.sort(key=lambda i: (records[i].timestamp, tie[i]))
        n_test = max(1, _round(m * ratios[2] / total)) if ratios[2] > 0 else 0  # type: ignore[index]
        n_valid = max(1, _round(m * ratios[1] / total)) if ratios[1] > 0 else 0  # type: ignore[index]
        n_train = m - n_test - n_valid
        for pos, i in enumerate(indices):
            codes[i] = 0 if pos < n_train else 1 if pos < n_train + n_valid else 2
    return codes


def _cut(n: int, ratios: tuple[float, float, float]) -> tuple[int, int]:
    """(train, valid) counts of n items cut A:B:C; test gets the rest."""
    total = sum(ratios)
    n_train = _round(n * ratios[0] / total)
    return n_train, min(n - n_train, _round(n * ratios[1] / total))


def _assign_targets(
    records: list[Record], ratios: tuple[float, float, float], k: int, rng: random.Random
) -> list[int]:
    """per-user-target[K]: K seeded random targets per user (ExpCTR §5.1.1: K = 1), the other
    records UNUSED; K = 1 cuts the samples A:B:C at random, K > 1 cuts the users."""
    codes = [UNUSED] * len(records)
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_user[record.user_id].append(i)
    users = sorted(by_user)
    targets = {u: sorted(rng.sample(by_user[u], min(k, len(by_user[u])))) for u in users}
    units = [[i] for u in users for i in targets[u]] if k == 1 else [targets[u] for u in users]
    rng.shuffle(units)
    n_train, n_valid = _cut(len(units), ratios)
    for pos, unit in enumerate(units):
        for i in unit:
            codes[i] = 0 if pos < n_train else 1 if pos < n_train + n_valid else 2
    return codes


def add_history(
    records: list[Record],
    codes: list[int],
    protocol: str,
    seed: int,
    history_len: int,
    threshold: float,
) -> None:
    """Fill history_liked / history_disliked in place (see the module docstring)."""
    kind, _ = parse_protocol(protocol)
    train_only = kind in ("random", "given")  # per-user-target: every earlier record
    if history_len <= 0:
        return
    rng = random.Random(seed + 1)
    tie = list(range(len(records)))
    rng.shuffle(tie)
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_user[record.user_id].append(i)
    for indices in by_user.values():
        indices.sort(key=lambda i: (records[i].timestamp, tie[i]))
        window: deque[tuple[str, bool]] = deque(maxlen=history_len)
        for i in indices:
            record = records[i]
            record.history_liked = [t for t, liked in window if liked]
            record.history_disliked = [t for t, liked in window if not liked]
            if record.rating is None or (train_only and codes[i] != 0):
                continue
            window.append((record.title or record.item_id, record.rating >= threshold))


def _fresh_copy(record: Record) -> Record:
    """A shallow copy with its own extras dict and empty histories (fast path of replace())."""
    copy = object.__new__(Record)
    state = record.__dict__.copy()
    state["extras"] = dict(record.extras)
    state["history_liked"] = []
    state["history_disliked"] = []
    copy.__dict__.update(state)
    return copy


def split_records(
    records: list[Record], protocol: str, seed: int, *, threshold: float, history_len: int
) -> tuple[list[Record], list[Record], list[Record], list[int], dict[str, Any], list[Record]]:
    """Copy, label, split and add histories. Returns train, valid, test, their load indices
    (train's), Splits.info, and the UNUSED records (history only)."""
    copies = [_fresh_copy(r) for r in records]
    for record in copies:
        if record.rating is not None:
            record.label = int(record.rating >= threshold)
    codes = assign(copies, protocol, seed)
    add_history(copies, codes, protocol, seed, history_len, threshold)
    parts: list[list[Record]] = [[], [], []]
    train_index: list[int] = []
    unused: list[Record] = []
    for i, (record, code) in enumerate(zip(copies, codes, strict=True)):
        if code == UNUSED:
            unused.append(record)
            continue
        parts[code].append(record)
        if code == 0:
            train_index.append(i)
    names = ("train", "valid", "test")
    kind, ratios = parse_protocol(protocol)
    info: dict[str, Any] = {
        "protocol": protocol,
        "kind": kind,
        "ratios": list(ratios) if ratios else None,
        "seed": seed,
        "rating_threshold": threshold,
        "history_len": history_len,
        "counts": {name: len(part) for name, part in zip(names, parts, strict=True)}
        | ({"unused": codes.count(UNUSED)} if kind == "per-user-target" else {}),
        "label_rate": {
            name: (round(sum(r.label for r in part if r.label is not None)
                         / max(1, sum(r.label is not None for r in part)), 6)
                   if any(r.label is not None for r in part) else None)
            for name, part in zip(names, parts, strict=True)
        },
        "digests": {name: key_digest(part) for name, part in zip(names, parts, strict=True)},
    }  # fmt: skip
    return parts[0], parts[1], parts[2], train_index, info, unused
