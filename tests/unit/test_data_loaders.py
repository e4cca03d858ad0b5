"""Strict loaders on small files written to tmp_path: good layouts and deliberately broken ones."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from bench.api.errors import DataError
from bench.data import load_dataset, make_splits, prepare_dataset
from bench.data.settings import DataConfig
from tests.helpers import load_error

pytestmark = pytest.mark.filterwarnings("ignore::bench.api.errors.DataWarning")  # tiny files are not the spec release


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


def review(
    user="U1", item="I1", rating=5.0, text="The strings sound bright and stay in tune.", **extra
):
    obj = {"reviewerID": user, "asin": item, "reviewerName": "n", "helpful": [0, 0],
           "reviewText": text, "overall": rating, "summary": "fine", "unixReviewTime": 1400000000,
           "reviewTime": "05 13, 2014"}  # fmt: skip
    obj.update(extra)
    return json.dumps(obj)


def write_gz(path: Path, lines: list[bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        for line in lines:
            handle.write((line.encode() if isinstance(line, str) else line) + b"\n")
    return path


REVIEWS = "amazon2014/reviews_Musical_Instruments_5.json.gz"
META = "amazon2014/meta_Musical_Instruments.json.gz"


def broken_amazon(root: Path) -> Path:
    lines = [
        review("U1", "I1"),
        '{"reviewerID": "U2", "asin": "I1", "overall": 4.0,',  # 2 broken JSON
        json.dumps(
            {"reviewerID": "U3", "reviewText": "x", "overall": 3.0, "unixReviewTime": 1}
        ),  # 3 no asin
        review("U4", "I2", rating=7),  # 4 rating out of range
        review("U5", "I2", text="", summary=""),  # 5 empty text
        b'{"reviewerID": "U6", "asin": "I3", "reviewText": "caf\xe9", "overall": 5.0}',  # 6 bad utf-8
        review("U7", "I3", rating=3.0),
        "",  # blank line: not a record
    ]
    return write_gz(root / REVIEWS, lines)


def test_broken_amazon_lines_are_listed_with_file_line_and_field(tmp_path):
    path = broken_amazon(tmp_path)
    message = load_error("amazon-instruments", tmp_path)
    assert "5 bad line(s)" in message
    assert f"{path}:2: json: not valid JSON" in message
    assert f"{path}:3: asin: missing" in message
    assert f"{path}:4: overall: rating 7 outside 1..5" in message
    assert f"{path}:5: reviewText: empty review text and summary" in message
    assert f"{path}:6: encoding: not valid UTF-8" in message
    assert "on_bad_line=skip" in message


def test_max_bad_lines_caps_the_listing_but_not_the_count(tmp_path):
    broken_amazon(tmp_path)
    with pytest.raises(DataError) as err:
        load_dataset("amazon-instruments", DataConfig(data_dir=str(tmp_path), max_bad_lines=2))
    message = str(err.value)
    assert "5 bad line(s)" in message and "... and 3 more" in message
    assert message.count(".json.gz:") == 2


def test_skip_keeps_good_lines_and_counts_the_rest(tmp_path):
    broken_amazon(tmp_path)
    loaded = load_dataset(
        "amazon-instruments", DataConfig(data_dir=str(tmp_path), on_bad_line="skip")
    )
    assert [(r.user_id, r.item_id, r.rating) for r in loaded.records] == [
        ("U1", "I1", 5.0),
        ("U7", "I3", 3.0),
    ]
    report = loaded.report.to_dict()
    assert report["lines_read"] == 7 and report["records_kept"] == 2 and report["bad_lines"] == 5
    assert report["lines_read"] == report["records_kept"] + report["bad_lines"]
    assert report["files"][0]["blank_lines"] == 1
    assert report["reconciles"] is True
    assert len(report["problems"]) == 5
    assert report["problems"][0].endswith(
        ".json.gz:2: json: not valid JSON (Expecting property name enclosed in double quotes at column 51)"
    )
    assert report["files"][0]["sha256_ok"] is False  # not the published file
    assert loaded.records[0].source == "reviews_Musical_Instruments_5.json.gz:1"


def test_review_with_empty_text_but_a_summary_is_kept(tmp_path):
    write_gz(tmp_path / REVIEWS, [review("U1", "I1", text=""), review("U2", "I1")])
    loaded = load_dataset("amazon-instruments", DataConfig(data_dir=str(tmp_path)))
    assert (
        len(loaded.records) == 2
        and loaded.records[0].review == ""
        and loaded.records[0].summary == "fine"
    )


def test_meta_python_literals_give_titles_and_code_is_never_run(tmp_path):
    write_gz(tmp_path / REVIEWS, [review("U1", "I1"), review("U2", "I2"), review("U3", "I1")])
    marker = tmp_path / "pwned"
    write_gz(tmp_path / META, [
        "{'asin': 'I1', 'title': 'Elixir Strings &amp; Co', 'categories': [['Musical Instruments', 'Strings']]}",
        f"__import__('os').system('touch {marker}')",
        '{"asin": "I2", "title": "Snark Tuner", "category": ["Tuners"]}',  # 2018-style JSON meta
        "{'asin': 'I9', 'title': 'Never reviewed'}",
    ])  # fmt: skip
    with pytest.raises(DataError) as err:
        load_dataset("amazon-instruments", DataConfig(data_dir=str(tmp_path)))
    assert f"{tmp_path / META}:2: line: not a JSON object or Python literal (ValueError" in str(
        err.value
    )
    assert not marker.exists()

    loaded = load_dataset(
        "amazon-instruments", DataConfig(data_dir=str(tmp_path), on_bad_line="skip")
    )
    assert not marker.exists()
    assert [r.title for r in loaded.records] == [
        "Elixir Strings & Co",
        "Snark Tuner",
        "Elixir Strings & Co",
    ]
    assert loaded.items["I1"]["categories"] == ["Musical Instruments", "Strings"]
    meta = loaded.report.to_dict()["files"][1]
    assert (meta["lines_read"], meta["kept"], meta["bad"], meta["filtered"]) == (
        4,
        2,
        1,
        {"item without reviews": 1},
    )
    splits = make_splits(loaded, DataConfig(split="random-1:0:0"), seed=0)
    item1 = [r for r in splits.train if r.item_id == "I1"][0]
    assert item1.item_profile.startswith(
        "Title: Elixir Strings & Co. Categories: Musical Instruments, Strings."
    )


def test_amazon_2018_fields_are_parsed_and_checked(tmp_path):
    good = review("U1", "I1", vote="1,234", style={"Size:": " Large", "Color:": " Red"},
                  image=["http://x/1.jpg"], verified=True)  # fmt: skip
    bad_vote = review("U2", "I1", vote="many")
    bad_style = review("U3", "I1", style="Large")
    no_text = json.dumps(
        {
            "reviewerID": "U4",
            "asin": "I1",
            "overall": 4.0,
            "summary": "ok",
            "unixReviewTime": 1500000000,
        }
    )  # 2018: reviewText may be absent
    write_gz(tmp_path / REVIEWS, [good, bad_vote, bad_style, no_text])
    loaded = load_dataset(
        "amazon-instruments", DataConfig(data_dir=str(tmp_path), on_bad_line="skip")
    )
    assert loaded.records[0].extras == {"helpful": [0, 0], "vote": 1234, "style": {"Size": "Large", "Color": "Red"},
                                        "n_images": 1, "verified": True}  # fmt: skip
    assert loaded.records[1].user_id == "U4" and loaded.records[1].review == ""
    problems = loaded.report.problems
    assert problems[0].endswith(":2: vote: not an integer: 'many'")
    assert problems[1].endswith(":3: style: expected an object, got str")


# -- MovieLens ---------------------------------------------------------------------------------

RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,2.5,964982224\n2,3,0.5,964982931\n"
MOVIES = ('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n'
          '3,"American President, The (1995)",Comedy|Drama|Romance\n')  # fmt: skip


def test_ml20m_from_the_extracted_folder(tmp_path):
    folder = tmp_path / "ml-20m"
    folder.mkdir()
    (folder / "ratings.csv").write_text(RATINGS)
    (folder / "movies.csv").write_text(MOVIES)
    loaded = load_dataset("ml-20m", DataConfig(data_dir=str(tmp_path)))
    assert [(r.user_id, r.item_id, r.rating, r.timestamp) for r in loaded.records][:2] == [
        ("1", "1", 4.0, 964982703), ("1", "3", 4.5, 964981247)]  # fmt: skip
    assert loaded.records[1].title == "American President, The (1995)"
    assert loaded.items["1"]["genres"] == ["Adventure", "Animation", "Children"]
    assert loaded.report.lines_read == 4 and loaded.report.records_kept == 4


def test_ml32m_from_the_grouplens_zip_and_bad_lines(tmp_path):
    bad = RATINGS + "3,1,5.5,964982931\n3,1,4.0\n3,x1,4.0,notatime\n"
    with zipfile.ZipFile(tmp_path / "ml-32m.zip", "w") as zf:
        zf.writestr("ml-32m/ratings.csv", bad)
        zf.writestr("ml-32m/movies.csv", MOVIES)
        zf.writestr("ml-32m/README.txt", "readme")
    message = load_error("ml-32m", tmp_path)
    where = f"{tmp_path / 'ml-32m.zip'}!ml-32m/ratings.csv"
    assert f"{where}:6: rating: rating 5.5 outside 0.5..5" in message
    assert f"{where}:7: line: expected 4 comma-separated fields, got 3" in message
    assert f"{where}:8: timestamp: not an integer: 'notatime'" in message
    loaded = load_dataset("ml-32m", DataConfig(data_dir=str(tmp_path), on_bad_line="skip"))
    assert (
        len(loaded.records) == 4 and loaded.report.bad_lines == 3 and loaded.report.lines_read == 7
    )


def test_missing_movielens_names_both_layouts(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("ml-20m", DataConfig(data_dir=str(tmp_path)))
    assert str(tmp_path / "ml-20m" / "ratings.csv") in str(err.value)
    assert "https://files.grouplens.org/datasets/movielens/ml-20m.zip" in str(err.value)


# -- Book-Crossing ---------------------------------------------------------------------------

BX_RATINGS = (
    '"User-ID";"ISBN";"Book-Rating"\n"276725";"034545104X";"0"\n"276726";"0155061224";"5"\n'
    '"276727";"0446520802";"0"\n"276729";"052165615X";"3"\n"276729";"0521795028";"6"\n'
)
BX_BOOKS = (
    '"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";"Image-URL-S";"Image-URL-M";"Image-URL-L"\n'
    '"0155061224";"Rites of Passage";"Judith Rae";"2001";"Heinle";"s";"m";"l"\n'
    '"052165615X";"Help!: Level 1";"Philip Prowse";"1999";"Cambridge University Press";"s";"m";"l"\n'
    '"0521795028";"The Amsterdam Connection \\"Level 4\\"";"Sue Leather";"2001";"CUP";"s";"m";"l"\n'
    '"0789466953";"DK Readers: Creating the X-Men (Level 4: Proficient Readers)\\";"James Buckley";"2000";"DK";"s";"m";"l"\n'
)
BX_USERS = '"User-ID";"Location";"Age"\n"276726";"m\xfcnchen, bayern, germany";NULL\n"276729";"rijeka, n/a, croatia";"16"\n'


def write_bx(root: Path, ratings: str = BX_RATINGS) -> Path:
    folder = root / "bookcrossing"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BX-Book-Ratings.csv").write_bytes(ratings.encode("latin-1"))
    (folder / "BX-Books.csv").write_bytes(BX_BOOKS.encode("latin-1"))
    (folder / "BX-Users.csv").write_bytes(BX_USERS.encode("latin-1"))
    return folder


def test_bookcrossing_official_layout(tmp_path):
    write_bx(tmp_path)
    loaded = load_dataset("bookcrossing", DataConfig(data_dir=str(tmp_path)))
    assert [(r.user_id, r.item_id, r.rating) for r in loaded.records] == [
        ("276726", "0155061224", 5.0), ("276729", "052165615X", 3.0), ("276729", "0521795028", 6.0)]  # fmt: skip
    assert [r.title for r in loaded.records][2] == 'The Amsterdam Connection "Level 4"'
    assert loaded.users["276726"] == {"location": "m\xfcnchen, bayern, germany", "age": None}
    assert loaded.users["276729"]["age"] == 16
    report = loaded.report.to_dict()
    assert report["lines_read"] == 5 and report["records_kept"] == 3
    assert report["filtered"] == {"implicit rating 0": 2}
    books = report["files"][1]
    assert (books["lines_read"], books["kept"], books["filtered"]) == (
        4,
        3,
        {"book without ratings": 1},
    )

    kept = load_dataset("bookcrossing", DataConfig(data_dir=str(tmp_path), implicit_ratings="keep"))
    implicit = [r for r in kept.records if r.rating is None]
    assert len(implicit) == 2 and all(r.extras == {"implicit": True} for r in implicit)
    splits = make_splits(loaded, DataConfig(split="per-user-8:1:1", rating_threshold=6.0), seed=0)
    labels = {(r.user_id, r.item_id): r.label for r in splits.train + splits.valid + splits.test}
    assert labels == {
        ("276726", "0155061224"): 0,
        ("276729", "052165615X"): 0,
        ("276729", "0521795028"): 1,
    }


def test_bookcrossing_bad_lines(tmp_path):
    ratings = BX_RATINGS + '"276730";"0440234743";"11"\n"276731";"";"7"\n"276732";"0440234743"\n'
    folder = write_bx(tmp_path, ratings)
    message = load_error("bookcrossing", tmp_path)
    path = folder / "BX-Book-Ratings.csv"
    assert f"{path}:7: Book-Rating: rating 11 outside 0 (implicit) or 1..10" in message
    assert f"{path}:8: ISBN: empty" in message
    assert f"{path}:9: line: expected 3 ';'-separated fields, got 2" in message


# -- XRec ----------------------------------------------------------------------------------------


def xrec_row(uid=1, iid=2, **over):
    row = {"uid": uid, "iid": iid, "title": "Drums of Autumn", "user_summary": "likes sagas",
           "item_summary": "historical romance", "explanation": "The user would enjoy the saga."}  # fmt: skip
    row.update(over)
    return json.dumps(row)


def test_xrec_given_split_and_bad_lines(tmp_path):
    folder = tmp_path / "xrec" / "yelp"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("\n".join([
        xrec_row(1, 2), xrec_row(3, 4, explanation="  "), xrec_row(5, 6, title=None),
        json.dumps({"uid": 7, "iid": 8}), "[1, 2]", xrec_row(9, 10),
    ]) + "\n")  # fmt: skip
    (folder / "trn.jsonl").write_text(xrec_row(1, 4) + "\n" + xrec_row(3, 2) + "\n")
    message = load_error("xrec-yelp", tmp_path)
    test = folder / "test.jsonl"
    assert f"{test}:2: explanation: empty" in message
    assert f"{test}:3: title: expected a string, got NoneType" in message
    assert f"{test}:4: title: missing" in message
    assert f"{test}:5: json: expected an object, got list" in message

    cfg = DataConfig(
        data_dir=str(tmp_path), on_bad_line="skip", split="given", profile_source="given"
    )
    loaded = load_dataset("xrec-yelp", cfg)
    splits = make_splits(loaded, cfg, seed=0)
    assert [(r.user_id, r.item_id) for r in splits.train] == [("1", "4"), ("3", "2")]
    assert [(r.user_id, r.item_id) for r in splits.test] == [("1", "2"), ("9", "10")]
    assert (
        splits.test[0].user_profile == "likes sagas"
        and splits.test[0].item_profile == "historical romance"
    )
    assert splits.test[0].reference_explanation == "The user would enjoy the saga."
    assert splits.test[0].rating is None and splits.test[0].label is None
    assert loaded.report.to_dict()["bad_lines"] == 4


def test_given_protocol_needs_a_dataset_with_splits(tmp_path):
    write_gz(tmp_path / REVIEWS, [review("U1", "I1")])
    loaded = load_dataset("amazon-instruments", DataConfig(data_dir=str(tmp_path)))
    with pytest.raises(DataError, match="needs records tagged with their split"):
        make_splits(loaded, DataConfig(split="given"), seed=0)


# -- prepare + cache ------------------------------------------------------------------------------


def test_prepare_places_files_and_writes_a_cache_that_load_uses(tmp_path, monkeypatch):
    raw = tmp_path / "downloads"
    write_gz(raw / "reviews_Musical_Instruments_5.json.gz",
             [review("U1", "I1"), review("U2", "I1", rating=2.0), "not json"])  # fmt: skip
    data = tmp_path / "data"
    with pytest.raises(DataError, match="1 bad line"):
        prepare_dataset("amazon-instruments", raw, DataConfig(data_dir=str(data)))
    assert not (data / "amazon2014").exists()  # nothing placed before validation passes

    cfg = DataConfig(data_dir=str(data), on_bad_line="skip")
    target = prepare_dataset("amazon-instruments", raw, cfg)
    assert target == data / "amazon2014"
    assert (target / "reviews_Musical_Instruments_5.json.gz").read_bytes() == (
        raw / "reviews_Musical_Instruments_5.json.gz").read_bytes()  # fmt: skip
    cached = list((tmp_path / "cache" / "prepared" / "amazon-instruments").glob("*/records.jsonl"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) == 2

    loaded = load_dataset("amazon-instruments", cfg)
    assert loaded.report.from_cache == str(cached[0].parent)
    assert [r.rating for r in loaded.records] == [5.0, 2.0] and loaded.report.bad_lines == 1
    with pytest.raises(DataError, match="1 bad line"):  # the error policy still applies
        load_dataset("amazon-instruments", DataConfig(data_dir=str(data)))

    # a second prepare of the same files is a no-op; a different file is never overwritten
    prepare_dataset("amazon-instruments", raw, cfg)
    (raw / "reviews_Musical_Instruments_5.json.gz").unlink()  # (placed as a hard link)
    write_gz(raw / "reviews_Musical_Instruments_5.json.gz", [review("U9", "I9")])
    with pytest.raises(DataError, match="exists and differs"):
        prepare_dataset("amazon-instruments", raw, cfg)


def test_dataset_info_reports_presence_digest_and_counts(tmp_path):
    from bench.data import dataset_info

    info = dataset_info("amazon-baby", DataConfig(data_dir=str(tmp_path)))
    assert info["ready"] is False and "reviews_Baby_5.json.gz" in info["missing"]
    write_gz(
        tmp_path / "amazon2014" / "reviews_Baby_5.json.gz",
        [review("U1", "I1"), review("U2", "I2", rating=3.0), "{"],
    )
    info = dataset_info("amazon-baby", DataConfig(data_dir=str(tmp_path)))
    assert info["ready"] is True
    assert info["files"][0]["present"] and len(info["files"][0]["sha256"]) == 64
    assert info["files"][0]["sha256_ok"] is None  # no published digest for Baby
    assert info["counts"] == {"records": 2, "users": 2, "items": 2, "ratings": {"3": 1, "5": 1},
                              "lines_read": 3, "bad_lines": 1, "duplicates": 0, "filtered": {}}  # fmt: skip


def test_max_records_is_a_seeded_subsample(tmp_path):
    write_gz(tmp_path / REVIEWS, [review(f"U{i}", f"I{i % 7}") for i in range(50)])
    cfg = DataConfig(data_dir=str(tmp_path), max_records=10)
    a = load_dataset("amazon-instruments", cfg, seed=1)
    b = load_dataset("amazon-instruments", cfg, seed=1)
    c = load_dataset("amazon-instruments", cfg, seed=2)
    ids = [r.user_id for r in a.records]
    assert len(ids) == 10 and ids == [r.user_id for r in b.records] != [
        r.user_id for r in c.records
    ]
    assert sorted(ids, key=lambda u: int(u[1:])) == ids  # load order kept
    assert a.report.to_dict()["subsample"] == {"max_records": 10, "seed": 1, "kept": 10}
    assert a.report.to_dict()["records_kept"] == 50


def test_tiny_fixture_data_dir_loads_and_splits():
    tiny = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "tiny"
    cfg = DataConfig(data_dir=str(tiny))
    loaded = load_dataset("amazon-baby", cfg)
    assert len(loaded.records) == 72 and loaded.report.bad_lines == 0
    assert len({r.user_id for r in loaded.records}) == 12
    assert loaded.records[0].title.startswith("Tiny Stroller ")
    splits = make_splits(loaded, cfg, seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (43, 14, 15)
    assert all(
        r.reference_explanation and r.item_profile.startswith("Title: Tiny Stroller")
        for r in splits.test
    )


def test_large_csv_max_records_samples_lines_while_checking_all(tmp_path):
    folder = tmp_path / "ml-20m"
    folder.mkdir()
    rows = "".join(
        f"{u},{m},{(u + m) % 10 / 2 + 0.5},{1000 + u * 10 + m}\n"
        for u in range(1, 21)
        for m in (1, 3)
    )
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + rows + "21,1,9.0,1\n")
    (folder / "movies.csv").write_text(MOVIES)
    cfg = DataConfig(data_dir=str(tmp_path), max_records=10, on_bad_line="skip")
    a = load_dataset("ml-20m", cfg, seed=3)
    b = load_dataset("ml-20m", cfg, seed=3)
    c = load_dataset("ml-20m", cfg, seed=4)
    assert (
        [r.source for r in a.records]
        == [r.source for r in b.records]
        != [r.source for r in c.records]
    )
    report = a.report.to_dict()
    assert report["lines_read"] == 41 and report["bad_lines"] == 1  # every line is still checked
    assert report["records_kept"] + report["bad_lines"] + sum(report["filtered"].values()) == 41
    assert report["subsample"]["by"] == "line" and report["records"] == len(a.records) <= 10
    assert len(a.records) >= 9  # the one bad line may fall inside the sample


def test_expctr_thresholds_are_read_one_way_equal_is_positive():
    # ExpCTR §5.1.1: threshold 4 for ML-20M / Amazon Books, 5 for BookCrossing; label = rating >=
    # threshold for all of them (BookCrossing alone used > 5 before)
    from bench.api.records import Record
    from bench.config import resolve
    from bench.data.splits import split_records

    thresholds = {d: resolve("expctr", d, profile=p).data.rating_threshold
                  for d, p in [("bookcrossing", "paper-32k"), ("ml-20m", "paper-16k"),
                               ("amazon-books", "paper-16k")]}  # fmt: skip
    assert thresholds == {"bookcrossing": 5.0, "ml-20m": 4.0, "amazon-books": 4.0}
    records = [Record(user_id=f"u{i}", item_id="i", rating=r) for i, r in enumerate([5.0, 4.9, 6.0] * 5)]
    train, valid, test, *_ = split_records(records, "random-3:1:1", 0, threshold=5.0, history_len=0)
    assert {(r.rating, r.label) for r in train + valid + test} == {(5.0, 1), (4.9, 0), (6.0, 1)}
