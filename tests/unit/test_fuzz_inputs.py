"""Fuzzed inputs (issue 25): every data loader, `bench score --pairs`, every YAML a user writes
and every HTTP reply the chat client can get. Each input is either accepted with exact counts
or refused with one BenchError naming the file — never another exception.

The default suite draws FEW examples per target (seconds in all); `-m slow` draws MANY.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.api.errors import BenchError, DataError
from bench.data.settings import DataConfig

FEW, MANY = 12, 400
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def few(test):  # noqa: ANN001, ANN201
    return settings(max_examples=FEW, **SETTINGS)(test)


def many(test):  # noqa: ANN001, ANN201
    return pytest.mark.slow(settings(max_examples=MANY, **SETTINGS)(test))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


@contextmanager
def folder():  # one per example: hypothesis reuses a test's fixtures across examples
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# -- JSON values and lines ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)

AMAZON_FIELDS = ("reviewerID", "asin", "overall", "reviewText", "summary", "unixReviewTime", "helpful")


def amazon_review(i: int) -> dict:
    return {"reviewerID": f"U{i % 5}", "asin": f"I{i % 3}", "overall": float(1 + i % 5),
            "reviewText": f"review {i} of a fine guitar string set", "summary": "fine",
            "unixReviewTime": 1400000000 + i, "helpful": [0, 0]}  # fmt: skip


@st.composite
def amazon_lines(draw) -> bytes:  # noqa: ANN001
    """Valid reviews, some with one field replaced by any JSON value (or dropped), some noise."""
    lines = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["valid", "field", "drop", "noise", "json"]))
        review = amazon_review(i)
        if kind == "field":
            review[draw(st.sampled_from(AMAZON_FIELDS))] = draw(json_values)
        elif kind == "drop":
            del review[draw(st.sampled_from(AMAZON_FIELDS))]
        if kind == "noise":
            lines.append(draw(st.binary(max_size=40)).replace(b"\n", b" "))
        elif kind == "json":
            lines.append(json.dumps(draw(json_values)).encode())
        else:
            lines.append(json.dumps(review).encode())
    return b"\n".join(lines) + b"\n"


def damaged(data: bytes, cut: int, flip: int) -> bytes:
    """`data` gzip-compressed, then cut short or with one byte flipped."""
    packed = gzip.compress(data)
    if cut:
        return packed[: cut % max(1, len(packed))]
    pos = flip % len(packed)
    return packed[:pos] + bytes([packed[pos] ^ 0x5A]) + packed[pos + 1 :]


# -- what every load must do ----------------------------------------------------------------


def check_load(dataset: str, data_dir: Path, interactions: str) -> None:
    """Loaded with exact counts under both bad-line policies, or one DataError naming the
    interactions file (or, for a missing companion file, the dataset)."""
    from bench.data.api import load_dataset

    for policy in ("skip", "error"):
        try:
            loaded = load_dataset(dataset, DataConfig(data_dir=str(data_dir), on_bad_line=policy), use_cache=False)
        except DataError as exc:
            assert Path(interactions).name in str(exc) or dataset in str(exc), str(exc)
            continue
        report = loaded.report
        assert all(f.reconciles() for f in report.files)
        kept = sum(f.kept for f in report.files if f.role == "interactions" or f.role.startswith("split:"))
        assert kept == len(loaded.records) == report.records_loaded
        if policy == "error":
            assert report.bad_lines == 0


AMAZON = "amazon2014/reviews_Musical_Instruments_5.json"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def amazon_case(raw: bytes, gz: bool) -> None:
    with folder() as d:
        name = AMAZON + (".gz" if gz else "")
        write(d / name, raw)
        check_load("amazon-instruments", d, name)


@few
@given(st.binary(max_size=300), st.booleans())
def test_amazon_any_bytes(raw, gz):
    amazon_case(raw, gz)


@few
@given(amazon_lines())
def test_amazon_any_json_in_any_field(lines):
    amazon_case(lines, False)
    amazon_case(gzip.compress(lines), True)


@few
@given(amazon_lines(), st.integers(0, 400), st.integers(0, 400))
def test_amazon_truncated_or_corrupted_gzip(lines, cut, flip):
    amazon_case(damaged(lines, cut, flip), True)


@st.composite
def csv_lines(draw, header: str, make_row) -> bytes:  # noqa: ANN001
    rows = [header]
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["valid", "field", "noise"]))
        fields = make_row(i)
        if kind == "field":
            k = draw(st.integers(0, len(fields) - 1))
            fields[k] = draw(st.text(max_size=12))
        rows.append(draw(st.text(max_size=30)).replace("\n", " ") if kind == "noise" else None)
        if rows[-1] is None:
            rows[-1] = ",".join(fields)
    if draw(st.booleans()):
        rows = rows[1:]  # no header
    return ("\n".join(rows) + "\n").encode("utf-8", "surrogatepass")


def movielens_case(ratings: bytes, zipped: bool) -> None:
    import zipfile

    movies = b'movieId,title,genres\n1,Heat (1995),Action\n2,"Up, Up (2009)",Animation|Kids\n'
    with folder() as d:
        if zipped:
            target = d / "ml-20m" / "ml-20m.zip"
            target.parent.mkdir(parents=True)
            with zipfile.ZipFile(target, "w") as zf:
                zf.writestr("ml-20m/ratings.csv", ratings)
                zf.writestr("ml-20m/movies.csv", movies)
        else:
            write(d / "ml-20m/ratings.csv", ratings)
            write(d / "ml-20m/movies.csv", movies)
        check_load("ml-20m", d, "ratings.csv")


ML_ROWS = csv_lines("userId,movieId,rating,timestamp", lambda i: [str(i % 4), str(1 + i % 2), "4.0", str(1000 + i)])


@few
@given(st.binary(max_size=300) | ML_ROWS, st.booleans())
def test_movielens_any_bytes_or_fields(ratings, zipped):
    movielens_case(ratings, zipped)


BX_RATINGS = '"User-ID";"ISBN";"Book-Rating"'
BX_BOOKS = ('"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";'
            '"Image-URL-S";"Image-URL-M";"Image-URL-L"\n"0001";"A Title";"An Author";"1999";"P";"s";"m";"l"\n')  # fmt: skip


@st.composite
def bx_lines(draw) -> bytes:  # noqa: ANN001
    rows = [BX_RATINGS]
    for i in range(draw(st.integers(0, 6))):
        fields = [f'"{i % 3}"', '"0001"', f'"{i % 11}"']
        if draw(st.booleans()):
            fields[draw(st.integers(0, 2))] = draw(st.text(max_size=10)).replace("\n", " ")
        rows.append(";".join(fields))
    return ("\n".join(rows) + "\n").encode("latin-1", "replace")


@few
@given(st.binary(max_size=300) | bx_lines())
@example(b'User-ID;ISBN;Book-Rating\n\x9d')  # undefined in the cp1252 fallback: a traceback before
def test_bookcrossing_any_bytes_or_fields(ratings):
    with folder() as d:
        write(d / "bookcrossing/BX-Book-Ratings.csv", ratings)
        write(d / "bookcrossing/BX-Books.csv", BX_BOOKS.encode("latin-1"))
        check_load("bookcrossing", d, "BX-Book-Ratings.csv")


XREC_FIELDS = ("uid", "iid", "title", "user_summary", "item_summary", "explanation")


@st.composite
def xrec_lines(draw) -> bytes:  # noqa: ANN001
    lines = []
    for i in range(draw(st.integers(0, 5))):
        row = {"uid": i % 3, "iid": i % 2, "title": "t", "user_summary": "u", "item_summary": "s",
               "explanation": f"because {i}"}  # fmt: skip
        if draw(st.booleans()):
            row[draw(st.sampled_from(XREC_FIELDS))] = draw(json_values)
        lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


@few
@given(st.binary(max_size=300) | xrec_lines())
def test_xrec_any_bytes_or_fields(test_split):
    with folder() as d:
        write(d / "xrec/amazon/test.jsonl", test_split)
        check_load("xrec-amazon", d, "test.jsonl")


# -- bench score --pairs --------------------------------------------------------------------


@st.composite
def pairs_lines(draw) -> bytes:  # noqa: ANN001
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        row = {"prediction": "good strings", "reference": "fine strings", "rating": 4, "predicted_rating": 3.5}
        if draw(st.booleans()):
            row[draw(st.sampled_from([*row, "label", "ctr_score", "uid", "iid", "features"]))] = draw(json_values)
        lines.append(json.dumps(row).encode() if draw(st.booleans()) else draw(st.binary(max_size=30)))
    return b"\n".join(lines)


def pairs_case(raw: bytes) -> None:
    from metrics.pairs import pairs_to_rows

    with folder() as d:
        path = write(d / "pairs.jsonl", raw)
        try:
            rows = pairs_to_rows(path)
        except DataError as exc:
            assert str(path) in str(exc)
            return
        blank = sum(1 for line in raw.split(b"\n") if not line.strip())
        assert len(rows) == len(raw.split(b"\n")) - blank


@few
@given(st.binary(max_size=300) | pairs_lines())
@example(b"\x80")  # not UTF-8: a traceback before
def test_pairs_any_bytes_or_fields(raw):
    pairs_case(raw)


# -- YAML a user writes -----------------------------------------------------------------------

yaml_text = st.text(max_size=120) | st.builds(
    lambda k, v: f"{k}:\n  {v}\n", st.sampled_from(["model", "data", "eval", "seed", "columns", "rows", "profiles"]),
    st.text(max_size=40),
)


@st.composite
def config_docs(draw) -> str:  # noqa: ANN001
    """A YAML mapping over real keys with any JSON value (JSON is YAML)."""
    keys = ["model.max_epochs", "model.lr", "model.factors", "data.max_records", "data.split",
            "eval.metrics", "eval.mask_ratio", "seed", "device", "threads", "model.unknown"]  # fmt: skip
    doc: dict = {}
    for key in draw(st.lists(st.sampled_from(keys), max_size=4)):
        section, _, name = key.rpartition(".")
        (doc.setdefault(section, {}) if section else doc)[name] = draw(json_values)
    return json.dumps(doc)


def config_case(text: str) -> None:
    from bench.checks.ranges import check_ranges
    from bench.config import resolve
    from bench.identity import effective_config

    with folder() as d:
        path = d / "config.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            cfg = resolve("mf-bias", "amazon-instruments", config_file=str(path))
            _, params = effective_config(cfg)
            check_ranges(params, "model")
        except BenchError:
            return


def spec_case(text: str) -> None:
    from leaderboards.spec import load_spec_file

    with folder() as d:
        path = d / "spec.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            load_spec_file(path)
        except BenchError:
            return


@few
@given(yaml_text | config_docs())
def test_any_config_file(text):
    config_case(text)


def plugin_yaml_case(text: str) -> None:
    """A plugin method's shipped yaml (Method.config_file), read as the method layer."""
    from bench.api.registry import METHODS
    from bench.config import resolve
    from bench.identity import effective_config
    from tests.staged_toy import StagedToy

    with folder() as d:
        path = d / "plugin.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")

        class Plugin(StagedToy):
            @classmethod
            def shipped_config(cls) -> Path:
                return path

        METHODS.register("fuzz-plugin", Plugin, origin="fuzz")
        try:
            effective_config(resolve("fuzz-plugin", "amazon-instruments"))
        except BenchError:
            pass
        finally:
            METHODS.unregister("fuzz-plugin")


@few
@given(yaml_text | config_docs())
def test_any_plugin_yaml(text):
    plugin_yaml_case(text)


@few
@given(yaml_text | config_docs())
def test_any_table_spec(text):
    spec_case(text)


@few
@given(st.text(max_size=40))
def test_any_set_expression(expr):
    from bench.api.config_keys import parse_set

    try:
        parse_set(expr)
    except BenchError:
        pass


# -- HTTP replies -----------------------------------------------------------------------------


@st.composite
def replies(draw) -> tuple[int, dict, bytes]:  # noqa: ANN001
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 404, 408, 429, 500, 502, 503]))
    headers = {}
    if draw(st.booleans()):
        headers["Retry-After"] = draw(st.sampled_from(["0", "-1", "nan", "inf", "1e9", "soon", ""]))
    if draw(st.booleans()):
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/html", "x/y"]))
    shape = draw(st.sampled_from(["completion", "json", "bytes"]))
    if shape == "completion":
        body = {"model": draw(json_values), "choices": [{"message": {"content": draw(json_values)}}]}
        if draw(st.booleans()):
            body["choices"] = draw(json_values)
        data = json.dumps(body).encode()
    elif shape == "json":
        data = json.dumps(draw(json_values)).encode()
    else:
        data = draw(st.binary(max_size=60))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # cut (Content-Length stays honest)
    if draw(st.integers(0, 4)) == 0:
        headers["X-Short-By"] = str(draw(st.integers(1, 50)))  # Content-Length promises more
    return status, headers, data


class _Reply:
    status, headers, data = 200, {}, b""


@pytest.fixture(scope="module")
def reply_server():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(_Reply.status)
            for k, v in _Reply.headers.items():
                self.send_header(k, v)
            short = int(_Reply.headers.get("X-Short-By", 0))
            self.send_header("Content-Length", str(len(_Reply.data) + short))
            self.close_connection = bool(short)
            self.end_headers()
            if _Reply.status not in (204, 304):
                self.wfile.write(_Reply.data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def reply_case(url: str, reply: tuple[int, dict, bytes]) -> None:
    from bench.backbones.chat_client import JudgeClient, JudgeError, JudgeSettings
    from bench.backbones.chat_prompt import PromptTemplate

    _Reply.status, _Reply.headers, _Reply.data = reply
    settings = JudgeSettings(base_url=url, model="fuzz", api_key_env="ERBENCH_FUZZ_KEY",
                             timeout_s=2.0, max_retries=1, cache_path="")  # fmt: skip
    client = JudgeClient(settings, sleep=lambda s: None)
    try:
        out = client.complete(PromptTemplate("fuzz", "s", "{x}"), [{"x": "a"}])
    except JudgeError as exc:
        assert "\n" not in str(exc) and "sk-fuzz-canary" not in str(exc)
        return
    assert len(out) == 1 and (out[0] is None or isinstance(out[0], str))


@few
@given(replies())
@example((200, {}, b'{"choices": [{"message": {"content": []}}]}'))  # a list: redaction broke
@example((200, {"X-Short-By": "1"}, b'{"choices": [{"message": {"content": "1"}}]}'))  # IncompleteRead
def test_any_http_reply(reply_server, monkeypatch, reply):
    os.environ["ERBENCH_FUZZ_KEY"] = "sk-fuzz-canary"
    reply_case(reply_server, reply)


# -- the slow variants --------------------------------------------------------------------------


@many
@given(st.binary(max_size=2000) | amazon_lines(), st.booleans(), st.integers(0, 3000), st.integers(0, 3000))
def test_amazon_many(raw, gz, cut, flip):
    amazon_case(damaged(raw, cut, flip) if gz else raw, gz)


@many
@given(st.binary(max_size=1000) | ML_ROWS, st.booleans())
def test_movielens_many(ratings, zipped):
    movielens_case(ratings, zipped)


@many
@given(st.binary(max_size=1000) | pairs_lines())
def test_pairs_many(raw):
    pairs_case(raw)


@many
@given(yaml_text | config_docs())
def test_yaml_many(text):
    config_case(text)
    spec_case(text)
    plugin_yaml_case(text)


@many
@given(replies())
def test_http_many(reply_server, reply):
    os.environ["ERBENCH_FUZZ_KEY"] = "sk-fuzz-canary"
    reply_case(reply_server, reply)
