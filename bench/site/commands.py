"""`bench site build | serve`: what each subcommand does and prints."""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.api.errors import BenchError

HOST = "127.0.0.1"  # loopback only: a quick look, not a web server (publish the folder instead)
DEFAULT_PORT = 8000


def build_command(runs_dir: Path, out: str, specs: list[str], campaigns: list[str], max_compare_pairs: int) -> int:
    from bench.site.build import build_site

    if max_compare_pairs < 0:
        raise BenchError("--max-compare-pairs must be 0 or more")
    report = build_site(runs_dir, out, specs=specs or None, campaigns=campaigns, max_compare_pairs=max_compare_pairs)
    size, largest = report.largest
    print(
        f"wrote {report.out}/index.html: {report.tables} table(s), {report.runs} run(s), "
        f"{report.records:,} records, {report.comparisons} comparison(s) in {report.files} data files "
        f"(largest {largest}, {size / 1e6:.2f} MB) in {report.seconds:.1f} s"
    )
    if report.comparisons_skipped:
        print(f"{report.comparisons_skipped} run pair(s) not compared (--max-compare-pairs {max_compare_pairs})", file=sys.stderr)
    print(f"open {Path(report.out).resolve() / 'index.html'} or: bench site serve --dir {report.out}")
    return 0


def make_server(folder: str | Path, port: int) -> ThreadingHTTPServer:
    """A threading HTTP server of the built site on 127.0.0.1:port (0: any free port)."""

    root = Path(folder)
    if not (root / "index.html").exists():
        raise BenchError(f"{root} has no index.html; build it first: bench site build --out {root}")
    if not 0 <= port < 65536:
        raise BenchError(f"--port must be between 1 and 65535, got {port}")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise BenchError(f"cannot listen on {HOST}:{port} ({exc.strerror}); pick another --port") from None


def serve_command(folder: str, port: int) -> int:
    server = make_server(folder, port)
    print(f"serving {folder} on http://{HOST}:{server.server_address[1]}/ ; Ctrl+C stops")
    with server:
        server.serve_forever()
    return 0
