"""`bench data download` against a local HTTP server (Range support, checksum, dropped link)."""

from __future__ import annotations

import hashlib
import io
import random
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.api.errors import DataError
from bench.api.registry import DATASETS
from bench.cli import main
from bench.data import data_file_digests
from bench.data.settings import DataConfig
from bench.data.spec import DatasetSpec, RawFile

NAME = "reviews_Test_5.json.gz"
BODY = random.Random(0).randbytes(200_000)  # several download chunks
DIGEST = hashlib.sha256(BODY).hexdigest()


class Server(BaseHTTPRequestHandler):
    """Serves `files`; honours `Range: bytes=N-` unless told not to; can drop one response."""

    files: dict[str, bytes] = {}
    ranges: list[str | None] = []  # the Range header of each request
    honour_range = True
    drop_after: int | None = None  # send this many bytes of the next response, then hang up

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.files.get(self.path.rsplit("/", 1)[-1])
        asked = self.headers.get("Range")
        type(self).ranges.append(asked)
        if body is None:
            self.send_error(404)
            return
        start = int(asked[len("bytes="):].split("-")[0]) if asked and self.honour_range else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.drop_after is not None:
            cut, type(self).drop_after = self.drop_after, None
            self.wfile.write(body[start:cut])
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))
    Server.files, Server.ranges, Server.honour_range, Server.drop_after = {NAME: BODY}, [], True, None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("ERBENCH_DOWNLOAD_BASE_URL", f"http://127.0.0.1:{httpd.server_port}/m")
    yield Server
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def spec():
    """A one-file dataset whose spec records the digest of BODY."""
    the_spec = DatasetSpec(
        name="download-test", summary="test", loader="amazon", subdir="dl",
        files=(RawFile(NAME, "interactions", url=f"http://nowhere.invalid/x/{NAME}", sha256=DIGEST),),
        url="http://nowhere.invalid/x",
    )  # fmt: skip
    DATASETS.register(the_spec.name, the_spec, summary="test")
    yield the_spec
    DATASETS.unregister(the_spec.name)


def download(data: Path, name: str = "download-test") -> int:
    return main(["data", "download", name, "--data-dir", str(data), "--quiet"])


def test_a_good_download_is_checked_and_placed_where_loads_look(tmp_path, server, spec, capsys):
    data = tmp_path / "data"
    assert download(data) == 0
    root, found = spec.locate(data)
    assert found[NAME].path == root / NAME and (root / NAME).read_bytes() == BODY
    assert not (root / f"{NAME}.part").exists()
    assert f"downloaded: {root / NAME} (sha256 {DIGEST}, matches the spec)" in capsys.readouterr().out
    assert download(data) == 0  # a second call finds it there
    assert "already there" in capsys.readouterr().out and server.ranges == [None]


def test_a_real_spec_with_an_alias_downloads_to_the_run_path(tmp_path, server):
    server.files = {"reviews_Sports_and_Outdoors_5.json.gz": BODY}
    assert download(tmp_path, "sports") == 0  # the spec records no digest for it
    cfg = DataConfig(data_dir=str(tmp_path))
    assert data_file_digests("amazon-sports", cfg) == {"reviews_Sports_and_Outdoors_5.json.gz": DIGEST}


def test_a_grouplens_zip_is_placed_as_the_zip_loads_read(tmp_path, server):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ml-20m/ratings.csv", "userId,movieId,rating,timestamp\n1,2,4.0,5\n")
        zf.writestr("ml-20m/movies.csv", "movieId,title,genres\n2,Heat (1995),Action\n")
    server.files = {"ml-20m.zip": buffer.getvalue()}
    assert download(tmp_path, "ml-20m") == 0
    digests = data_file_digests("ml-20m", DataConfig(data_dir=str(tmp_path)))
    zipped = hashlib.sha256(buffer.getvalue()).hexdigest()
    assert digests == {"movies.csv": zipped, "ratings.csv": zipped}
    assert server.ranges == [None]  # one zip, fetched once for both files


def test_a_wrong_checksum_is_one_line_and_leaves_nothing_where_runs_look(
    tmp_path, server, spec, capsys
):
    server.files = {NAME: BODY[:-1] + b"!"}
    data = tmp_path / "data"
    assert download(data) == 2
    err = capsys.readouterr().err.strip().splitlines()
    actual = hashlib.sha256(BODY[:-1] + b"!").hexdigest()
    assert len(err) == 1 and f"sha256 {actual} differs from {DIGEST}" in err[0]
    root = data / "dl"
    aside = root / f"{NAME}.sha256-mismatch"
    assert f"kept aside as {aside}" in err[0] and aside.is_file()
    assert sorted(p.name for p in root.iterdir()) == [aside.name]
    with pytest.raises(DataError, match="raw file\\(s\\) not found"):
        spec.locate(data)


def test_a_dropped_connection_resumes_from_the_part_file(tmp_path, server, spec, capsys):
    server.drop_after = 150_000
    data = tmp_path / "data"
    assert download(data) == 2
    err = capsys.readouterr().err
    part = data / "dl" / f"{NAME}.part"
    assert "run the same command again to continue" in err and str(part) in err
    kept = part.stat().st_size
    assert 0 < kept < len(BODY) and part.read_bytes() == BODY[:kept]
    assert download(data) == 0
    assert server.ranges == [None, f"bytes={kept}-"]
    assert (data / "dl" / NAME).read_bytes() == BODY and not part.exists()
    assert "resumed:" in capsys.readouterr().out


def test_a_server_that_ignores_range_restarts_cleanly(tmp_path, server, spec):
    server.honour_range = False
    part = tmp_path / "dl" / f"{NAME}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from another attempt")
    assert download(tmp_path) == 0
    assert server.ranges == [f"bytes={len(b'stale bytes from another attempt')}-"]
    assert (tmp_path / "dl" / NAME).read_bytes() == BODY


def test_sources_without_a_public_url_say_what_to_do(tmp_path, capsys):
    assert download(tmp_path, "bookcrossing") == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "no stable public URL" in line
    assert "`bench data prepare bookcrossing --raw DIR`" in line
    assert download(tmp_path, "xrec-amazon") == 2
    line = capsys.readouterr().err.strip()
    assert "github.com/HKUDS/XRec" in line and "never unpickles" in line


class Slow(Server):
    """Serves BODY in chunks, holding each first request until a second one arrives (or a
    short wait passes), so two downloads of one file overlap if nothing keeps them apart."""

    arrived = threading.Barrier(2)

    def do_GET(self) -> None:  # noqa: N802
        try:
            type(self).arrived.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass  # alone: the other download waited for this one
        super().do_GET()


def test_two_downloads_of_one_file_wait_for_each_other(tmp_path, server, spec, monkeypatch):
    # issue 25.1: both wrote <target>.part; one died with FileNotFoundError, the other placed a
    # corrupt file and printed a digest that was not the placed file's
    from bench.data.download import fetch

    Slow.arrived = threading.Barrier(2)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}/m/{NAME}"
    target = tmp_path / "dl" / NAME
    results, errors = [], []

    def one() -> None:
        try:
            results.append(fetch(url, target, None, quiet=True))
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    httpd.shutdown()
    httpd.server_close()
    assert errors == []
    assert target.read_bytes() == BODY
    assert sorted(r.state for r in results) == ["already there", "downloaded"]
    assert {r.sha256 for r in results} == {DIGEST}
    assert not target.with_name(NAME + ".part").exists()


def test_an_empty_reply_places_nothing(tmp_path, server, spec, capsys):
    server.files = {NAME: b""}
    assert download(tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "empty file (0 bytes)" in err
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == []
