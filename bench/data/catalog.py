"""Registers the built-in dataset specs (no heavy imports: stdlib + bench.data.spec only).

Each entry of `bench.api.registry.DATASETS` is a `DatasetSpec` object (not lazy: specs are
plain data). Loaders live in bench.data.loaders and are imported only by load_dataset.
"""

from __future__ import annotations

import difflib

from bench.api.errors import DataError
from bench.api.registry import DATASETS
from bench.data.spec import DatasetSpec, RawFile

SNAP_2014 = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles"
AMAZON_2014_PAGE = "https://jmcauley.ucsd.edu/data/amazon/links.html"

# sha256 of the 5-core review files (computed on the files as distributed by SNAP).
AMAZON_2014_SHA256 = {
    "Musical_Instruments": "03f9cc27ae13a454cb4ea6cb620fb10546cc1194ef921441d1c5f34addff2748",
}

# (name, category, used by, the papers' short name, split)
_AMAZON_2014: list[tuple[str, ...]] = [
    ("amazon-baby", "Baby", "Curr-RLCER", "baby"),
    ("amazon-sports", "Sports_and_Outdoors", "Curr-RLCER", "sports"),
    ("amazon-clothing", "Clothing_Shoes_and_Jewelry", "Curr-RLCER", "clothing"),
    ("amazon-instruments", "Musical_Instruments", "dev/CI", "instruments"),
    ("amazon-books", "Books", "ExpCTR", "books", "per-user-target-8:1:1"),
]


def _amazon_2014(
    name: str, category: str, used_by: str, alias: str, split: str = "random-3:1:1"
) -> DatasetSpec:
    reviews = f"reviews_{category}_5.json.gz"
    meta = f"meta_{category}.json.gz"
    return DatasetSpec(
        name=name,
        summary=f"Amazon 2014 5-core reviews, {category.replace('_', ' ')} ({used_by})",
        loader="amazon",
        subdir="amazon2014",
        files=(
            RawFile(
                reviews,
                "interactions",
                url=f"{SNAP_2014}/{reviews}",
                sha256=AMAZON_2014_SHA256.get(category),
                alternatives=(reviews[: -len(".gz")],),
            ),
            RawFile(
                meta,
                "meta",
                required=False,
                url=f"{SNAP_2014}/{meta}",
                alternatives=(meta[: -len(".gz")],),
            ),
        ),
        url=AMAZON_2014_PAGE,
        rating_scale=(1.0, 5.0),
        rating_threshold=4.0,
        split=split,
        options={"category": category},
        notes="meta_<Cat>.json.gz is optional (item titles); its lines are Python literals",
        aliases=(alias,),
    )


def _movielens_csv(name: str, used_by: str, split: str = "per-user-8:1:1") -> DatasetSpec:
    zip_name = f"{name}.zip"
    url = f"https://files.grouplens.org/datasets/movielens/{zip_name}"
    return DatasetSpec(
        name=name,
        summary=f"MovieLens {name[3:].upper()} ratings + titles/genres, GroupLens ({used_by})",
        loader="movielens-csv",
        subdir=name,
        files=(
            RawFile(
                "ratings.csv",
                "interactions",
                url=url,
                archives=(
                    (zip_name, f"{name}/ratings.csv"),
                    (f"../{zip_name}", f"{name}/ratings.csv"),
                ),
            ),
            RawFile(
                "movies.csv",
                "items",
                url=url,
                archives=(
                    (zip_name, f"{name}/movies.csv"),
                    (f"../{zip_name}", f"{name}/movies.csv"),
                ),
            ),
        ),
        url=url,
        rating_scale=(0.5, 5.0),
        rating_threshold=4.0,
        split=split,
        has_reviews=False,
        notes=f"unzip {zip_name} into the data dir (gives {name}/ratings.csv) or put the zip there",
    )


def _xrec(name: str, source: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        summary=f"XRec {source} split with LLM-written profiles and explanations (XRec)",
        loader="xrec",
        subdir=f"xrec/{source}",
        files=(
            RawFile("test.jsonl", "split:test", alternatives=("tst.jsonl",)),
            RawFile("train.jsonl", "split:train", required=False, alternatives=("trn.jsonl",)),
            RawFile("valid.jsonl", "split:valid", required=False, alternatives=("val.jsonl",)),
        ),
        url="https://github.com/HKUDS/XRec (folder data/" + source + ")",
        rating_scale=None,
        split="given",
        has_reviews=False,
        has_profiles=True,
        notes=(
            "XRec ships pandas pickles (trn/val/tst.pkl); erbench never unpickles downloaded "
            f"files on its own: `bench data prepare {name} --raw DIR --allow-pickle` converts "
            "them once to JSON lines with fields uid, iid, title, user_summary, item_summary, "
            "explanation (test.jsonl, optional train.jsonl / valid.jsonl)"
        ),
        manual=(
            f"XRec publishes this split as pandas pickles (data/{source}/trn.pkl, val.pkl, "
            "tst.pkl in https://github.com/HKUDS/XRec) and erbench never unpickles downloaded "
            f"files on its own: clone XRec, then `bench data prepare {name} --raw "
            f"XRec/data/{source} --allow-pickle` converts them once to JSON lines (unpickling "
            "executes code stored in the files: only for files you trust)"
        ),
    )


SPECS: tuple[DatasetSpec, ...] = (
    *(_amazon_2014(*entry) for entry in _AMAZON_2014),
    DatasetSpec(
        name="ml-100k",
        summary="MovieLens 100K (the copy inside the RecBole wheel): ratings, titles, genres",
        loader="movielens-atomic",
        subdir="ml-100k",
        files=(
            RawFile("ml-100k.inter", "interactions"),
            RawFile("ml-100k.item", "items"),
            RawFile("ml-100k.user", "users", required=False),
        ),
        url="pip install recbole==1.2.1 (ships recbole/dataset_example/ml-100k); "
        "original: https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        rating_scale=(1.0, 5.0),
        rating_threshold=4.0,
        split="per-user-8:1:1",
        has_reviews=False,
        options={"prefix": "ml-100k", "packaged": True},
        notes="found in the installed RecBole package; no data dir needed",
        manual="install RecBole (pip install recbole==1.2.1), whose wheel ships ml-100k",
    ),
    _movielens_csv("ml-20m", "TALLRec/ExpCTR", split="per-user-target-8:1:1"),  # ExpCTR §5.1.1
    _movielens_csv("ml-32m", "recent LLM-rec work"),
    DatasetSpec(
        name="bookcrossing",
        summary="Book-Crossing explicit 1-10 ratings + book titles (TALLRec)",
        loader="bookcrossing",
        subdir="bookcrossing",
        files=(
            RawFile("BX-Book-Ratings.csv", "interactions"),
            RawFile("BX-Books.csv", "items"),
            RawFile("BX-Users.csv", "users", required=False),
        ),
        url="http://www2.informatik.uni-freiburg.de/~cziegler/BX/BX-CSV-Dump.zip "
        "(mirrors: Kaggle 'book-crossing-dataset')",
        rating_scale=(1.0, 10.0),
        rating_threshold=5.0,  # ExpCTR §5.1.1; label = rating >= threshold, as every dataset
        split="per-user-target-8:1:1",  # ExpCTR §5.1.1
        has_reviews=False,
        notes="';'-separated, quoted, latin-1; rating 0 = implicit (see data.implicit_ratings)",
        manual="there is no stable public URL (the original BX-CSV-Dump.zip at "
        "http://www2.informatik.uni-freiburg.de/~cziegler/BX/ is often offline): download "
        "BX-CSV-Dump.zip from a mirror such as Kaggle 'book-crossing-dataset' (sign-in needed) "
        "and unzip it",
    ),
    _xrec("xrec-amazon", "amazon"),
    _xrec("xrec-yelp", "yelp"),
    _xrec("xrec-google", "google"),
)


def register_all() -> None:
    for spec in SPECS:
        if spec.name not in DATASETS._entries:  # idempotent on re-import
            DATASETS.register(spec.name, spec, summary=spec.summary)


def aliases() -> dict[str, str]:
    """{alias: registered name} over the registered specs (plugins may declare aliases too)."""
    return {
        alias: entry.name
        for entry in DATASETS.entries()
        for alias in DATASETS.declared(entry.name).get("aliases", ())
        if alias not in DATASETS  # a registered name always wins over an alias
    }


def canonical_dataset(name: str) -> str:
    """The registered name of a dataset given by name or alias ("sports" -> "amazon-sports").

    Call it before anything keys on the name (config yaml, run folder, results, tables), so
    all of them use the canonical one. An unknown name raises DataError with close matches.
    """
    if name in DATASETS:
        return name
    short = aliases()
    if name in short:
        return short[name]
    known = {**{n: n for n in DATASETS.names()}, **short}
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    if close:
        hints = ", ".join(repr(c) if known[c] == c else f"{c!r} ({known[c]})" for c in close)
        raise DataError(f"unknown dataset {name!r}; did you mean {hints}?")
    raise DataError(f"unknown dataset {name!r}. Known: {', '.join(sorted(known))}.")


register_all()
