"""The scorer stand-ins look like the real checkpoints' folders where the code paths care."""

from __future__ import annotations

import json

from tests.standins import scorers


def test_roberta_large_standin_has_24_layers_and_no_model_max_length():
    from transformers import AutoConfig, AutoTokenizer

    folder = scorers.roberta_large()
    assert folder.name == "roberta-large"
    assert not (folder / "tokenizer_config.json").exists()
    assert AutoConfig.from_pretrained(folder).num_hidden_layers == 24
    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.model_max_length > 10**20  # transformers' "no limit", as for the real folder
    ids = tok("the sound is great").input_ids
    assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>


def test_star_classifier_standin_labels_as_nlptown():
    config = json.loads((scorers.star_classifier() / "config.json").read_text())
    assert config["id2label"] == {"0": "1 star", "1": "2 stars", "2": "3 stars", "3": "4 stars",
                                  "4": "5 stars"}


def test_bleurt_standin_scores_a_pair():
    from metrics.bleurt import load_bleurt

    scores = load_bleurt(str(scorers.bleurt_base())).score(["the sound is great"], ["great sound"])
    assert len(scores) == 1 and isinstance(scores[0], float)


def test_sentence_encoder_standins_carry_their_pooling():
    from bench.encoders import SentenceEncoder

    assert SentenceEncoder(str(scorers.bge_small())).recipe.pooling == "cls"
    assert SentenceEncoder(str(scorers.m3e_base())).recipe.pooling == "mean"
