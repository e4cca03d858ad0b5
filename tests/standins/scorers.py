"""Stand-ins for the scorer and encoder checkpoints the `paper` profiles name.

Each function returns a local folder laid out like the real checkpoint's folder on the hub,
with tiny random weights (hidden sizes of 16-32) and a small tokenizer built with the
`tokenizers` library:

    bert_base()        bert-base-uncased: BertModel, WordPiece, no sentence-transformers files
    bge_small()        BAAI/bge-small-en: BertModel + modules.json, CLS pooling, Normalize
    m3e_base()         moka-ai/m3e-base: BertModel + modules.json, mean pooling, no Normalize
    star_classifier()  nlptown/bert-base-multilingual-uncased-sentiment: 5 labels "1 star" ..
                       "5 stars" (id2label as the real config's)
    roberta_large()    roberta-large: 24 layers, byte-level BPE, and, as the real folder, no
                       tokenizer_config.json, so transformers 5 gives it no model_max_length
    bart_large_cnn()   facebook/bart-large-cnn: BartForConditionalGeneration, byte-level BPE,
                       no tokenizer_config.json either
    bleurt_base()      lucadiliello/bleurt-base-128 in bleurt-pytorch's layout: config.json
                       (model_type "bleurt"), weights of BleurtForSequenceClassification,
                       vocab.txt (BERT WordPiece), tokenizer_config.json

Scores from these are meaningless; the folders exercise the real code paths: loading,
tokenising, max lengths, label names, layer choices.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.standins import cached_folder

VERSION = "2"  # bump when any builder below changes what it writes

# the words the tokenizers know whole; anything else falls back to characters / bytes
WORDS = (
    "the a an and or but is are was were it this that these those i you he she we they my "
    "your its our their of to in on for with at by from as not no very so too really just "
    "good great bad poor love hate like best worst nice fine ok okay awful excellent perfect "
    "product item quality price value size fit color sound strings guitar book movie story "
    "baby sports shoes shirt dress toy works broke cheap expensive comfortable recommend "
    "would buy again return returned star stars one two three four five because user item "
    "explanation enjoy enjoyed enjoys plot characters ending wonderful terrible amazing "
    "durable light heavy easy hard use used using well made quickly arrived"
).split()
CORPUS = [
    "this product is great and the sound is wonderful",
    "the strings broke after one week, very poor quality",
    "i love this book, the story and the characters are amazing",
    "the shoes fit well and are comfortable, would buy again",
    "awful item, returned it because it was too cheap and broke",
    "the user would enjoy this movie because of its plot and ending",
    "excellent value for the price, easy to use and well made",
    "it arrived quickly; i really like the color and the size",
] * 4
WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # roberta's / BART's ids 0..4


def cached(name: str, version: str, build: Callable[[Path], None]) -> Path:
    """The stand-in folder named `name` (bert_score and the metric labels read a checkpoint's
    name off its folder), inside the cached folder keyed by name and version."""
    return cached_folder(name, version, lambda home: build(home / name)) / name


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# -- tokenizers -----------------------------------------------------------------------------------


def wordpiece_vocab() -> list[str]:
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    return [*WORDPIECE_SPECIALS, *chars, *(f"##{c}" for c in chars if c.isalnum()), *WORDS]


def write_wordpiece(folder: Path, *, lowercase: bool = True, max_length: int | None = 512) -> int:
    """vocab.txt + tokenizer.json (a BERT WordPiece tokenizer) + tokenizer_config.json."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = wordpiece_vocab()
    ids = {t: i for i, t in enumerate(vocab)}
    tok = Tokenizer(WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config: dict[str, Any] = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": lowercase,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]",
    }  # fmt: skip
    if max_length is not None:
        config["model_max_length"] = max_length
    _write_json(folder / "tokenizer_config.json", config)
    return len(vocab)


def write_byte_bpe(folder: Path) -> int:
    """vocab.json + merges.txt + tokenizer.json: a byte-level BPE like roberta's and BART's,
    trained here on CORPUS; no tokenizer_config.json (the real roberta-large and bart-large-cnn
    folders have none)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer

    tok = Tokenizer(BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=600,
        special_tokens=BPE_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS + [" ".join(WORDS)], trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    tok.model.save(str(folder))  # vocab.json, merges.txt
    return tok.get_vocab_size()


# -- encoders ---------------------------------------------------------------------------------------


def tiny_bert_sizes(vocab_size: int) -> dict[str, int]:
    """A BERT-shaped config's size keys, tiny: 2 layers of width 32, real position count."""
    return dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=64, max_position_embeddings=512)  # fmt: skip


def _bert_encoder(folder: Path) -> None:
    from transformers import BertConfig, BertModel

    _seed()
    BertModel(BertConfig(**tiny_bert_sizes(write_wordpiece(folder)))).save_pretrained(folder)


def _sentence_transformers_files(folder: Path, *, pooling: str, normalize: bool) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append(
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"}
        )  # fmt: skip
    _write_json(folder / "modules.json", modules)
    dim = json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})


def bert_base() -> Path:
    return cached("bert-base-uncased", VERSION, _bert_encoder)


def bge_small() -> Path:
    def build(folder: Path) -> None:
        _bert_encoder(folder)
        _sentence_transformers_files(folder, pooling="cls", normalize=True)

    return cached("bge-small-en", VERSION, build)


def m3e_base() -> Path:
    def build(folder: Path) -> None:
        _bert_encoder(folder)
        _sentence_transformers_files(folder, pooling="mean", normalize=False)

    return cached("m3e-base", VERSION, build)


# -- the nlptown star classifier ----------------------------------------------------------------

STAR_LABELS = {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}


def star_classifier() -> Path:
    def build(folder: Path) -> None:
        from transformers import BertConfig, BertForSequenceClassification

        _seed()
        config = BertConfig(
            **tiny_bert_sizes(write_wordpiece(folder)), num_labels=5,
            id2label=dict(STAR_LABELS), label2id={v: k for k, v in STAR_LABELS.items()},
            finetuning_task="sentiment-analysis", architectures=["BertForSequenceClassification"],
        )  # fmt: skip
        BertForSequenceClassification(config).save_pretrained(folder)

    return cached("bert-base-multilingual-uncased-sentiment", VERSION, build)


# -- roberta-large (BERTScore) ------------------------------------------------------------------


def roberta_large(name: str = "roberta-large") -> Path:
    """24 layers like roberta-large (bert_score's default layer for it is 17); `name` is the
    folder's name (bert_score knows a model by it)."""

    def build(folder: Path) -> None:
        from transformers import RobertaConfig, RobertaModel

        _seed()
        vocab_size = write_byte_bpe(folder)
        config = RobertaConfig(
            vocab_size=vocab_size, hidden_size=16, num_hidden_layers=24, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=514, type_vocab_size=1,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, architectures=["RobertaForMaskedLM"],
        )  # fmt: skip
        RobertaModel(config).save_pretrained(folder)

    return cached(name, VERSION, build)


# -- bart-large-cnn (BARTScore) -------------------------------------------------------------------


def bart_large_cnn() -> Path:
    def build(folder: Path) -> None:
        from transformers import BartConfig, BartForConditionalGeneration

        _seed()
        vocab_size = write_byte_bpe(folder)
        config = BartConfig(
            vocab_size=vocab_size, d_model=16, encoder_layers=2, decoder_layers=2,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
            decoder_ffn_dim=32, max_position_embeddings=1024, pad_token_id=1, bos_token_id=0,
            eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=0,
            forced_eos_token_id=2, architectures=["BartForConditionalGeneration"],
        )  # fmt: skip
        BartForConditionalGeneration(config).save_pretrained(folder)

    return cached("bart-large-cnn", VERSION, build)


# -- BLEURT (bleurt-pytorch) ------------------------------------------------------------------


def bleurt_base() -> Path:
    """bleurt-pytorch's layout of lucadiliello/bleurt-base-128: BERT WordPiece vocab.txt and a
    BleurtForSequenceClassification (one regression output)."""

    def build(folder: Path) -> None:
        from metrics.bleurt import bleurt_classes

        config_cls, model_cls, _, _ = bleurt_classes()
        _seed()
        config = config_cls(
            **tiny_bert_sizes(write_wordpiece(folder, max_length=128)), num_labels=1,
            architectures=["BleurtForSequenceClassification"],
        )  # fmt: skip
        model_cls(config).save_pretrained(folder)

    return cached("bleurt-base-128", VERSION, build)


# -- a paper profile's scorers, pointed at the stand-ins ------------------------------------------


def scorer_sets(judge_url: str | None = None) -> list[str]:
    """`--set` overrides pointing every scorer checkpoint a `paper` profile names at its stand-in
    (and the GPTScore / coherence judge at `judge_url`, a loopback OpenAI-compatible endpoint),
    for `resolve(..., sets=...)` or `bench run --set`. The stand-ins' folder names are the real
    models', so the metrics report under the papers' column names."""
    sets = [
        f"eval.bertscore_model={roberta_large()}", f"eval.bartscore_checkpoint={bart_large_cnn()}",
        f"eval.bleurt_checkpoint={bleurt_base()}", f"eval.sentiment_classifier={star_classifier()}",
    ]  # fmt: skip
    return sets + ([f"eval.judge_base_url={judge_url}"] if judge_url else [])
