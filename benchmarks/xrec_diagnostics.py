"""Does XRec's collaborative signal reach the LM, and does it differ between users? (issue #29)

    python benchmarks/xrec_diagnostics.py RUN_DIR [--n 16] [--users 2000] [--json FILE]

RUN_DIR is an xrec run folder whose lightgcn and adapter stages are finished (the run folder
is only read: the stages are reloaded into a scratch folder). Reports, as markdown:

1. the LightGCN encoder's full-sort Recall@10/20 on the valid split (train items excluded)
   against ranking every item by its train popularity;
2. how much the trained adapters' outputs vary between users and between items
   (methods.xrec.diagnostics.variation: mean pairwise cosine, the share of energy off the
   mean vector; 0 = a constant, i.e. a soft prompt), with the LM's token-embedding norm;
3. per decoder layer, the LM's own hidden-state norm at the placeholder positions and at the
   other prompt tokens against the injected vectors' norm (no injection hooks during this
   pass: the vectors only at the input, so these are the states an injection meets);
4. the validation loss (the run's own valid sample) with the trained vectors, with the
   vectors shuffled across records (user/item rows permuted), with every record given the
   mean vector or a zero vector, and with the same trained vectors under the other injection modes
   (not what they were trained for: a read of how much each layer's injection carries).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pairs(records, tables) -> list[tuple[int, int]]:
    """(user row, item row) of the records whose user and item both have a table row."""
    out = []
    for record in records:
        user, item = tables.rows(record)
        if user < len(tables.user_ids) and item < len(tables.item_ids):
            out.append((user, item))
    return out


def encoder_quality(tables, splits) -> dict:
    import torch

    from methods.xrec.diagnostics import popularity_scores, recall_at_k

    train, valid = _pairs(splits.train, tables), _pairs(splits.valid, tables)
    users, items = tables.users[:-1], tables.items[:-1]
    scores = users @ items.T
    popular = popularity_scores(train, len(users), len(items))
    out = {"valid_pairs_known": len(valid), "valid_records": len(splits.valid)}
    for k in (10, 20):
        out[f"lightgcn_recall@{k}"] = recall_at_k(scores, train, valid, k)["recall"]
        out[f"popularity_recall@{k}"] = recall_at_k(popular, train, valid, k)["recall"]
    with torch.no_grad():
        out["lightgcn_user_norm_mean"] = float(users.norm(dim=1).mean())
        out["lightgcn_item_norm_mean"] = float(items.norm(dim=1).mean())
    return out


def adapter_variation(method, n: int) -> dict:
    import torch

    from methods.xrec.diagnostics import variation

    tables, adapters = method.tables, method.adapters
    generator = torch.Generator().manual_seed(0)
    out = {}
    with torch.no_grad():
        for side, table, adapter in (("user", tables.users[:-1], adapters.user), ("item", tables.items[:-1], adapters.item)):
            rows = torch.randperm(len(table), generator=generator)[:n]
            out[side] = variation(adapter(table[rows]).float())
            out[f"{side}_input"] = variation(table[rows])  # the LightGCN rows themselves
        embedding = method.explainer.model.get_input_embeddings().weight.float()
        out["token_embedding_norm_median"] = float(embedding.norm(dim=1).median())
    return out


def weights_moved(method) -> dict:
    """||trained - initial|| / ||initial|| per kind of adapter weight (the initial adapters
    rebuilt from the run seed as methods.xrec.method.XRec._build does)."""
    import torch

    from methods.xrec.adapter import CollaborativeAdapters

    trained = method.adapters
    p = method.params
    with torch.random.fork_rng():
        torch.manual_seed(method.run.seed)
        initial = CollaborativeAdapters(method.tables.dim, method.explainer.hidden_size, p.experts, p.adapter_dropout, p.noisy_gating)
    start = {n: w.detach() for n, w in initial.named_parameters()}
    out: dict[str, float] = {}
    for kind in ("linear.weight", "bias", "gate", "noise"):
        names = [n for n in start if n.endswith(kind)]
        delta = sum(float((dict(trained.named_parameters())[n].detach().cpu() - start[n]).pow(2).sum()) for n in names)
        base = sum(float(start[n].pow(2).sum()) for n in names)
        out[kind] = {"change_norm": delta**0.5, "initial_norm": base**0.5}
    return out


def layer_norms(method, records) -> list[dict]:
    import torch

    from methods.xrec.diagnostics import slot_norms
    from methods.xrec.examples import trim
    from methods.xrec.explainer import position_ids
    from methods.xrec.injection import decoder_layers, place

    explainer, adapters = method.explainer, method.adapters
    batch = trim(method._examples(records, with_target=False).tensors)
    model = explainer.model
    with torch.no_grad():
        vectors = explainer.slot_vectors(adapters, batch)
        embeds = place(model.get_input_embeddings()(batch["input_ids"]), batch["slots"], vectors)
    mask = batch["attention_mask"]

    def run():
        model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids(mask), use_cache=False)

    return slot_norms(decoder_layers(model), run, mask, batch["slots"], vectors)


class _Fixed:
    """Adapters stand-in that gives every record the same (user, item) vector pair."""

    def __init__(self, pair):
        self.pair = pair

    def __call__(self, users, items):
        return self.pair.expand(users.shape[0], -1, -1)

    def eval(self):
        return self


def losses(method, valid, batch_size: int, modes: bool = True) -> dict:
    import torch

    from bench.adapters.torch_loop import TensorBatches, evaluate
    from methods.xrec.injection import Injector

    explainer, adapters = method.explainer, method.adapters
    device = explainer.device
    trained_mode = explainer.injector.mode
    out = {"trained": evaluate(adapters, valid, explainer.loss, batch_size, device)["loss"]}
    generator = torch.Generator().manual_seed(0)
    shuffled = dict(valid.tensors)
    order = torch.randperm(len(valid), generator=generator)
    shuffled["user"], shuffled["item"] = valid.tensors["user"][order], valid.tensors["item"][order]
    out["shuffled_rows"] = evaluate(adapters, TensorBatches(shuffled), explainer.loss, batch_size, device)["loss"]
    with torch.no_grad():
        users = explainer.users[valid.tensors["user"]].to(device)
        items = explainer.items[valid.tensors["item"]].to(device)
        pair = adapters(users, items).mean(dim=0, keepdim=True)
    for name, vector in (("mean_vector", pair), ("zero_vector", torch.zeros_like(pair))):
        fixed = _Fixed(vector)  # zero: what use_embeddings=false starts from (W_k (0 - b_k), b_k = 0)
        out[name] = evaluate(torch.nn.Identity(), valid, lambda _m, b, f=fixed: explainer.loss(f, b), batch_size, device)["loss"]
    for mode in ("input", "hidden", "hidden_add", "qkv_grouped") if modes else ():
        if mode == trained_mode:
            continue
        explainer.injector = Injector(explainer.model, mode)
        out[f"mode={mode}"] = evaluate(adapters, valid, explainer.loss, batch_size, device)["loss"]
    explainer.injector = Injector(explainer.model, trained_mode)
    out["trained_mode"] = trained_mode
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path, help="an xrec run folder with finished lightgcn and adapter stages")
    ap.add_argument("--n", type=int, default=16, help="valid records for the per-layer norms")
    ap.add_argument("--users", type=int, default=2000, help="users (items) sampled for the variation")
    ap.add_argument("--no-loss", action="store_true", help="skip the validation losses (the slow part)")
    ap.add_argument("--loss-n", type=int, help="the first N of the run's valid sample for the losses (default: all)")
    ap.add_argument("--no-modes", action="store_true", help="losses with the trained mode only")
    ap.add_argument("--untrained", action="store_true", help="the adapters as initialised (seeded as the run's), not the adapter stage's")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from bench import data as data_layer
    from bench.api.run_folder import RunContext, RunFolder
    from bench.config import build_dataclass
    from bench.rescore import run_config
    from methods.xrec.method import XRec, _sample

    run_dir = args.run_dir
    for stage in ("lightgcn",) if args.untrained else ("lightgcn", "adapter"):
        if not RunFolder(run_dir).stage_done(stage):
            sys.exit(f"{run_dir}: stage {stage} is not finished")
    cfg = run_config(run_dir)
    params = build_dataclass(XRec.Params, cfg.model, "model")
    splits = data_layer.make_splits(data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    with tempfile.TemporaryDirectory() as scratch:
        method = XRec(params, RunContext(Path(scratch), cfg, quiet=True, finished_stages_in=run_dir))
        if args.untrained:  # backbone, LightGCN tables (reloaded) and freshly seeded adapters
            method._load_backbone()
            method._lightgcn(splits)
            method._build()
            method.adapters.eval()
        else:
            method.fit(splits)  # both stages reload from run_dir
        result = {"run": run_dir.name, "injection": params.injection, "use_embeddings": params.use_embeddings,
                  "adapters": "untrained" if args.untrained else "trained"}  # fmt: skip
        result["encoder"] = encoder_quality(method.tables, splits) if params.use_embeddings else None
        result["variation"] = adapter_variation(method, args.users) if params.use_embeddings else None
        result["weights_moved"] = None if args.untrained else weights_moved(method)
        held_out = [r for r in splits.valid if r.reference_explanation.strip()]
        sample = _sample(held_out, params.valid_records, cfg.seed)
        result["layers"] = layer_norms(method, sample[: args.n])
        if not args.no_loss:
            valid = method._examples(sample[: args.loss_n], with_target=True)
            result["valid_loss"] = losses(method, valid, params.batch_size, modes=not args.no_modes)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


def report(r: dict) -> str:
    lines = [f"# {r['run']} ({r['adapters']} adapters, injection={r['injection']}, use_embeddings={r['use_embeddings']})", ""]
    if r["encoder"]:
        e = r["encoder"]
        lines += [f"encoder, valid split ({e['valid_pairs_known']} of {e['valid_records']} records with known ids):", "",
                  "| ranking | Recall@10 | Recall@20 |", "|:--|--:|--:|",
                  f"| LightGCN | {e['lightgcn_recall@10']:.4f} | {e['lightgcn_recall@20']:.4f} |",
                  f"| popularity | {e['popularity_recall@10']:.4f} | {e['popularity_recall@20']:.4f} |", ""]  # fmt: skip
    if r["variation"]:
        v = r["variation"]
        lines += [f"token embedding norm (median): {v['token_embedding_norm_median']:.3f}", "",
                  "| vectors | n | mean pairwise cos | energy off the mean | mean norm | min | max |",
                  "|:--|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
        for side in ("user_input", "user", "item_input", "item"):
            s = v[side]
            name = {"user_input": "LightGCN users", "user": "adapted users", "item_input": "LightGCN items", "item": "adapted items"}[side]
            lines.append(f"| {name} | {s['n']} | {s['mean_pairwise_cosine']:.4f} | {s['variance_share']:.4f} | "
                         f"{s['mean_norm']:.4f} | {s['min_norm']:.4f} | {s['max_norm']:.4f} |")  # fmt: skip
        lines.append("")
    if r.get("weights_moved"):
        lines += ["| adapter weights | norm at init | norm of the training's change |", "|:--|--:|--:|"]
        lines += [f"| {k} | {v['initial_norm']:.4f} | {v['change_norm']:.4f} |" for k, v in r["weights_moved"].items()]
        lines.append("")
    lines += ["| layer | hidden norm at slots | hidden norm elsewhere (median) | injected vector norm | vector / elsewhere |",
              "|--:|--:|--:|--:|--:|"]  # fmt: skip
    for row in r["layers"]:
        lines.append(f"| {row['layer']} | {row['hidden_norm_at_slots']:.3f} | {row['hidden_norm_other_median']:.3f} | "
                     f"{row['vector_norm']:.4f} | {row['vector_over_other']:.5f} |")  # fmt: skip
    if "valid_loss" in r:
        lines += ["", "| valid loss | value |", "|:--|--:|"]
        lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in r["valid_loss"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
