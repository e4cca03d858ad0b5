"""ExpCTR (Yu, Zhang & Chen, WSDM 2025): methods.expctr.method:ExpCTR (registered lazily in
methods/__init__.py). Submodules: prompts (§4.1, §4.2.2), rewards (eq. 8-13), deepfm (eq. 12),
encoder (eq. 11), scoring (first-token Yes/No), sweep.yaml (Fig. 4 grid)."""


def sweep_cells(grid: str | None = None) -> list[dict[str, object]]:
    """The Fig. 4 cells of sweep.yaml as {"dataset", "profile", "sets": [...]} dicts."""
    from itertools import product
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).parent / "sweep.yaml").read_text(encoding="utf-8"))
    grid = grid or spec["grid"]
    axes: dict[str, list] = spec["axes"]
    defaults: dict[str, object] = spec["defaults"]
    combos: list[dict[str, object]] = []
    if grid == "full":
        keys = list(axes)
        combos = [dict(zip(keys, values, strict=False)) for values in product(*axes.values())]
    else:
        for key, values in axes.items():
            for v in values:
                combo = dict(defaults)
                combo[key] = v
                if combo not in combos:
                    combos.append(combo)
    cells = []
    for dataset in spec["datasets"]:
        for combo in combos:
            cells.append(
                {
                    "dataset": dataset,
                    "profile": spec["profiles"][dataset],
                    "sets": [f"{k}={v}" for k, v in combo.items()],
                }
            )
    return cells
