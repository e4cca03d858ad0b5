"""bench site build: the data the static site is made of (bench.site), checked without a
browser: the leaderboards are bench tables' own cells, run pages, record chunks, comparisons,
escaping, and the CLI's one-line errors. The pages themselves: tests/integration/test_site_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.api.errors import BenchError
from bench.cli import main
from bench.compare import compare_runs
from bench.site import records
from bench.site.build import build_site
from bench.site.chunks import chunk_text
from leaderboards.build import build_table
from leaderboards.commands import get_spec
from leaderboards.render import _marks
from leaderboards.table import cell_text
from tests.fixtures.annotate.runs import MARKUP
from tests.fixtures.site.store import BERT, add_scores, explorer_store, spec_file


def read_chunk(path: Path) -> tuple[str, object]:
    """(key, data) of a data file: `erbench.put("key",{...});` parsed as a JSON array."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("erbench.put(") and text.endswith(");\n")
    key, data = json.loads("[" + text[len("erbench.put(") : -3] + "]")
    return key, data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    store, runs = explorer_store(root / "runs")
    spec = spec_file(root)
    report = build_site(root / "runs", root / "site", specs=[str(spec)])
    _, index = read_chunk(root / "site" / "data" / "index.js")
    return root, store, runs, spec, report, index


def test_chunk_text_cannot_end_its_script_and_round_trips():
    data = {"explanation": MARKUP + " </script><!-- & \u2028 \u2029", "nan": float("nan")}
    text = chunk_text("records/x/0", data)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    key, back = json.loads("[" + text[len("erbench.put(") : -3] + "]")
    assert key == "records/x/0" and back == {"explanation": data["explanation"], "nan": None}


def test_leaderboard_cells_are_bench_tables_cells(built):
    root, store, runs, spec, _report, index = built
    (table_data,) = index["tables"]
    table = build_table(get_spec(str(spec)), store)  # what `bench tables` renders
    for block, page_block in zip(table.blocks, table_data["blocks"], strict=True):
        for row, page_row in zip(block.rows, page_block["rows"], strict=True):
            assert page_row["label"] == row.label and page_row["published"] == row.published
            for cell, col, page_cell in zip(row.cells, table.columns, page_row["cells"], strict=True):
                assert page_cell["text"] == cell_text(cell, col)
                assert (page_cell["mark"], page_cell["unranked"]) == (cell.mark, cell.unranked)
                assert "".join(m["mark"] for m in page_cell["marks"]) == _marks(cell)  # as printed
    assert table_data["footnotes"] == table.footnotes() and table_data["unranked"] == table.unranked
    cells = {r["id"]: r["cells"] for r in table_data["blocks"][0]["rows"]}
    # MF-bias's RMSE: the mean of its two seeds' runs. Curr-RLCER's seed-0 run is the later
    # demo run (6 records, no roberta-large BERTScore): its BERTScore cell is seed 1's run
    # alone, its MiniLM column (a non-official checkpoint of the family) the demo run; there
    # PETER's two seeds (6 and 20 records) are on other records than the reference row (‡)
    assert [r.split("__")[2] for r in cells["mf-bias"][0]["runs"]] == ["s0", "s1"]
    assert [r.split("__")[2] for r in cells["currrl"][1]["runs"]] == ["s1"]
    assert cells["currrl"][2]["runs"] == [runs["currrl"].name] and cells["currrl"][2]["n"] == "6"
    assert cells["peter"][2]["unranked"].startswith("mean over 2 seeds where the compared rows have 1 seed")
    assert cells["peter"][1]["mark"] and not any(c["runs"] for c in cells["peter@paper"])


def test_run_page_lists_changed_settings_first_and_metric_versions(built):
    root, _store, runs, _spec, _report, index = built
    by_id = {r["id"]: r for r in index["runs"]}
    ablation = next(r for r in index["runs"] if r["method"] == "currrl" and r["records"] == 20
                    and read_chunk(root / "site" / "data" / "runs" / f"{r['file']}.js")[1]["config"]["changed"])  # fmt: skip
    _, page = read_chunk(root / "site" / "data" / "runs" / f"{ablation['file']}.js")
    changed = {c["key"]: (c["value"], c["default"]) for c in page["config"]["changed"]}
    assert changed in ({"model.use_dpo": (False, True)}, {"eval.mask_ratio": (0.1, 0.0)})
    assert not {c["key"] for c in page["config"]["rest"]} & set(changed)
    _, demo = read_chunk(root / "site" / "data" / "runs" / f"{by_id[runs['currrl'].name]['file']}.js")
    bert = next(m for m in demo["metrics"] if m["metric"] == BERT)
    assert bert["value"] == pytest.approx(0.6083, abs=1e-4) and bert["version"] == {"checkpoint": "all-MiniLM-L6-v2"}
    assert demo["unavailable"] == {"bleurt": "no BLEURT checkpoint (BLEURT-20 not in the cache)"}
    loss = next(c for c in demo["curves"] if c["stage"] == "3b_explain" and c["key"] == "loss")
    assert loss["points"][:2] == [[0, 1.0], [1, pytest.approx(0.6667)]]


def test_records_are_chunked_with_their_scores(built, tmp_path, monkeypatch):
    root, _store, runs, spec, report, index = built
    assert report.largest[0] < 2_000_000
    monkeypatch.setattr(records, "CHUNK", 4)
    report = build_site(root / "runs", tmp_path / "site", specs=[str(spec)], max_compare_pairs=0)
    _, index = read_chunk(tmp_path / "site" / "data" / "index.js")
    meta = next(r for r in index["runs"] if r["id"] == runs["peter"].name)
    assert (meta["records"], meta["chunks"]) == (6, 2) and meta["per_example_metrics"] == [BERT, "coh_accuracy"]
    parts = [read_chunk(tmp_path / "site" / "data" / "records" / meta["file"] / f"{k}.js") for k in range(2)]
    assert [k for k, _ in parts] == [f"records/{meta['id']}/0", f"records/{meta['id']}/1"]
    rows = parts[0][1] + parts[1][1]
    assert [r["idx"] for r in rows] == list(range(6))
    assert rows[5]["explanation"].endswith(MARKUP) and rows[5]["scores"] == {BERT: 0.1, "coh_accuracy": 1.0}
    assert rows[0]["extras"]["history_liked"] == ["Fender Picks", "Snark Tuner"]
    assert index["compare"] == {} and report.comparisons_skipped > 0


def test_comparison_is_bench_compare_plus_the_records_that_changed_most(built):
    root, _store, runs, _spec, _report, index = built
    a, b = runs["currrl"].name, runs["peter"].name
    _, data = read_chunk(root / "site" / index["compare"][f"{a}|{b}"])
    expected = compare_runs(runs["currrl"], runs["peter"])
    got = {m["metric"]: m for m in data["metrics"]}
    for m in expected.metrics:
        assert (got[m.metric]["diff"], got[m.metric]["p_ttest"], got[m.metric]["ci_low"]) == pytest.approx(
            (m.diff, m.p_ttest, m.ci_low), nan_ok=True
        )
    assert data["run_a"] == a and "/" not in data["run_a"]
    assert [r["idx"] for r in data["changed_most"][BERT]][:3] == [5, 0, 4]  # |0.95-0.1|, |0.2-0.9|, |0.8-0.3|


def test_build_refuses_a_folder_with_other_files_and_rebuilds_its_own(built, tmp_path, capsys):
    root, *_ = built
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BenchError, match="holds other files"):
        build_site(root / "runs", tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    code = main(["site", "build", "--runs-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: no runs folder")
    code = main(["site", "serve", "--dir", str(tmp_path / "mine")])
    assert code == 2 and "has no index.html" in capsys.readouterr().err


def test_cli_build_writes_the_page_and_says_where(built, tmp_path, capsys):
    root, _store, _runs, spec, *_ = built
    out = tmp_path / "site"
    code = main(["site", "build", "--runs-dir", str(root / "runs"), "--out", str(out), "--spec", str(spec),
                 "--max-compare-pairs", "1"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0 and re.search(r"1 table\(s\), 11 run\(s\), 178 records, 1 comparison", printed.out)
    assert "run pair(s) not compared" in printed.err
    assert sorted(p.name for p in out.iterdir()) == ["app.js", "data", "index.html", "style.css"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from the network
    assert "script-src 'self'" in page  # and the browser refuses inline or remote scripts
    assert "innerHTML" not in (out / "app.js").read_text(encoding="utf-8")


def test_add_scores_fixture_means(tmp_path):
    """The fixture's metric rows are the means of its per-example values (the tables read them)."""
    from tests.fixtures.annotate.runs import write_explaining_run

    run = write_explaining_run(tmp_path, "peter", lambda i: f"e{i}", n=2)
    add_scores(run, {BERT: [0.2, 0.4]})
    rows = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["rows"]
    assert next(r for r in rows if r["metric"] == BERT)["value"] == pytest.approx(0.3)


def test_a_campaign_analysis_is_shown_and_a_missing_export_is_one_line(built, tmp_path):
    from bench.annotate.campaign import create_campaign
    from bench.annotate.export import export_campaign

    root, _store, runs, spec, *_ = built
    campaign = create_campaign("coherence", [str(runs["cer"]), str(runs["currrl"])], 4, seed=0,
                               out=tmp_path / "coherence-demo")  # fmt: skip
    with pytest.raises(BenchError, match="no export/summary.json; run `bench annotate export"):
        build_site(root / "runs", tmp_path / "site", specs=[str(spec)], campaigns=[str(campaign.path)])
    assert not (tmp_path / "site").exists()  # checked before anything is written
    export_campaign(campaign)
    build_site(root / "runs", tmp_path / "site", specs=[str(spec)], campaigns=[str(campaign.path)],
               max_compare_pairs=0)  # fmt: skip
    _, index = read_chunk(tmp_path / "site" / "data" / "index.js")
    (shown,) = index["campaigns"]
    summary = json.loads((campaign.path / "export" / "summary.json").read_text(encoding="utf-8"))
    assert (shown["name"], shown["task"], shown["summary"]) == ("coherence-demo", "coherence", summary)


def test_a_cell_on_modified_data_carries_its_mark_and_reason(tmp_path):
    from tests.fixtures.leaderboards.synthetic import write_run

    write_run(tmp_path / "runs", "peter", "amazon-instruments", 0, {"rmse": 0.8085},
              data_report={"bad_lines": 3, "sha256_mismatches": []})  # fmt: skip
    build_site(tmp_path / "runs", tmp_path / "site", specs=[str(spec_file(tmp_path))])
    _, index = read_chunk(tmp_path / "site" / "data" / "index.js")
    peter = next(r for r in index["tables"][0]["blocks"][0]["rows"] if r["id"] == "peter")
    (mark,) = peter["cells"][0]["marks"]
    assert mark["mark"] == "§" and "3 bad or duplicate line(s) skipped" in mark["why"]
    assert any("3 bad or duplicate line(s) skipped" in n for n in index["tables"][0]["notes"])


def test_serve_answers_on_loopback_only(built):
    import threading
    import urllib.request

    from bench.site.commands import make_server

    root, *_ = built
    server = make_server(root / "site", 0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/index.js", timeout=10) as reply:
            assert reply.read() == (root / "site" / "data" / "index.js").read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def test_a_copied_runs_folder_builds_from_its_own_run_folders(built, tmp_path):
    import shutil

    root, _store, runs, spec, *_ = built
    shutil.copytree(root / "runs", tmp_path / "copy")
    gone = [runs["peter"], runs["cer"]]  # the folders the copied store names
    for run in gone:
        run.rename(tmp_path / run.name)
    try:
        build_site(tmp_path / "copy", tmp_path / "site", specs=[str(spec)], max_compare_pairs=0)
        _, index = read_chunk(tmp_path / "site" / "data" / "index.js")
        assert next(r for r in index["runs"] if r["id"] == runs["peter"].name)["records"] == 6
        shutil.rmtree(tmp_path / "copy" / runs["cer"].name)
        with pytest.raises(BenchError, match=f"run {runs['cer'].name}: no folder at .* bench results rebuild"):
            build_site(tmp_path / "copy", tmp_path / "site", specs=[str(spec)])
    finally:
        for run in gone:
            (tmp_path / run.name).rename(run)


def test_a_curves_spec_shows_its_summary_with_each_row_linked_to_its_runs(built, tmp_path):
    root, _store, runs, *_ = built
    spec = tmp_path / "demo-curves.yaml"
    spec.write_text(
        "name: demo-curves\ntitle: Demo curves\nkind: curves\ndatasets: [amazon-instruments]\n"
        "rows:\n  - {id: currrl, method: currrl, label: Curr-RLCER}\n"
        "curves:\n  - {label: explain loss, keys: [loss], stage: 3b_explain}\n",
        encoding="utf-8",
    )
    build_site(root / "runs", tmp_path / "site", specs=[str(spec)], max_compare_pairs=0)
    _, index = read_chunk(tmp_path / "site" / "data" / "index.js")
    (row,) = index["tables"][0]["blocks"][0]["rows"]
    # the demo currrl run (the seed-0 run of the row) logs 12 steps of 3b_explain, loss 1.0 -> 2/13
    assert [c["text"] for c in row["cells"]] == ["12", "1.0000", "0.1538", "1.0000"]
    # linked to the row's runs in seed order: the demo run (seed 0) and seed 1's (no train log)
    seeds = [[r.split("__")[2] for r in c["runs"]] for c in row["cells"]]
    assert seeds == [["s0", "s1"]] * 4 and row["cells"][0]["runs"][0] == runs["currrl"].name
