"""One type parses and formats `base[checkpoint,variant]` for the suite, tables and trackers."""

from __future__ import annotations

import pytest

from bench.api.metric_name import MetricName, metric_name
from bench.trackers import tracker_key
from metrics.base import MetricValue, std_values
from metrics.suite import select_metrics


@pytest.mark.parametrize(
    ("name", "base", "tag", "parts"),
    [
        ("rmse", "rmse", None, ()),
        ("bertscore_f1[roberta-large]", "bertscore_f1", "roberta-large", ("roberta-large",)),
        ("bertscore_f1_std[all-MiniLM-L6-v2,bf16]", "bertscore_f1_std", "all-MiniLM-L6-v2,bf16",
         ("all-MiniLM-L6-v2", "bf16")),
        ("odd[name]tail", "odd[name]tail", None, ()),  # not of the form: all base
    ],
)  # fmt: skip
def test_parse_and_format_round_trip(name, base, tag, parts):
    parsed = MetricName.parse(name)
    assert (parsed.base, parsed.tag, parsed.parts) == (base, tag, parts)
    assert str(parsed) == name


def test_std_names_and_their_mean():
    name = MetricName.parse("bertscore_f1[roberta-large]")
    assert str(name.std()) == "bertscore_f1_std[roberta-large]"
    assert name.std().is_std and name.std().of_mean() == name
    assert metric_name("rmse", None) == "rmse" and metric_name("bleurt", "") == "bleurt"


def test_every_consumer_reads_the_same_parts():
    value = MetricValue("echo[ck,bf16]", 1.0, 2, True, {}, [0.0, 2.0])
    assert [v.name for v in std_values([value])] == ["echo_std[ck,bf16]"]
    assert tracker_key("bertscore_f1_std[all-MiniLM-L6-v2,bf16]") == "bertscore_f1_std/all-MiniLM-L6-v2/bf16"
    assert select_metrics(["bertscore_f1_std[roberta-large]"]) == {"bertscore": {"bertscore_f1"}}
