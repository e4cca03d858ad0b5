"""XRec's LightGCN early stopping on Recall@K over fewer than K items: one clear config error
before any training (RecBole's full-sort topk died with "selected index k out of range" after
the first epoch, e.g. the xrec paper profile's K = 20 on a 10-item dataset)."""

from __future__ import annotations

import pytest

from bench.api.errors import ConfigError
from tests.unit.currrl_fixtures import synthetic_splits


def test_recall_at_k_over_fewer_items_is_a_config_error(tmp_path):
    from methods.xrec.collaborative import LightGCNSettings, train_lightgcn

    splits = synthetic_splits(24)
    items = len({r.item_id for r in splits.train} | {r.item_id for r in splits.valid})
    with pytest.raises(ConfigError, match=rf"lightgcn_valid_topk={items}: .* the train and valid splits have {items}$"):
        train_lightgcn(splits, LightGCNSettings(dim=8, layers=1, epochs=1, valid_topk=items), tmp_path)
