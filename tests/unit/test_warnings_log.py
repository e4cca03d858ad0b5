"""route_third_party_warnings: library notices go to the run's log, erbench's reach stderr."""

from __future__ import annotations

import logging
import warnings

from bench.warnings_log import route_third_party_warnings


def _warn_from(module: str, message: str, category: type[Warning]) -> None:
    """warnings.warn called by code of `module` (with stacklevel=2, as libraries do)."""
    code = compile(
        f"import warnings\ndef notice():\n    warnings.warn({message!r}, {category.__name__}, stacklevel=2)\n",
        f"/site/{module.replace('.', '/')}.py",
        "exec",
    )
    namespace = {"__name__": module}
    exec(code, namespace)
    namespace["notice"]()


def test_third_party_warnings_go_to_the_log_and_own_ones_to_stderr(tmp_path, capsys):
    log = tmp_path / "run.log"
    with warnings.catch_warnings(), route_third_party_warnings(log):
        warnings.simplefilter("always")
        _warn_from("transformers.modeling_utils", "`torch_dtype` is deprecated", FutureWarning)
        _warn_from("bench.data", "checksum mismatch for reviews.json.gz", UserWarning)
    err = capsys.readouterr().err
    assert "deprecated" not in err
    assert "UserWarning: checksum mismatch for reviews.json.gz" in err
    text = log.read_text()
    assert "FutureWarning: `torch_dtype` is deprecated" in text and "checksum mismatch" in text


def test_library_log_records_go_to_the_log_and_transformers_is_restored(tmp_path, capsys):
    from transformers.utils import logging as hf_logging

    log = tmp_path / "run.log"
    propagate_before = logging.getLogger("transformers").propagate  # other tests may have changed it
    with route_third_party_warnings(log):
        logging.getLogger("sacrebleu").warning("That's 100 lines that end in a tokenized period")
        hf_logging.get_logger("transformers.generation").warning("generation flags are not valid")
        logging.getLogger("bench.data").warning("own notice")
        logging.getLogger("trl.trainer").error("a real error")
    err = capsys.readouterr().err
    assert "tokenized period" not in err and "generation flags" not in err
    assert "own notice" in err and "a real error" in err
    text = log.read_text()
    assert "tokenized period" in text and "generation flags" in text and "a real error" in text
    assert logging.getLogger("transformers").propagate is propagate_before  # its own setting back
