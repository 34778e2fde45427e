"""Logger: output formats, read-back, the human table, levels and configuration."""
import io
import json
import os
import tempfile

import numpy as np
import pytest

from stable_ppo2 import logger
from stable_ppo2.logger import (
    CSVOutputFormat,
    HumanOutputFormat,
    JSONOutputFormat,
    Logger,
    ScopedConfigure,
    _demo,
    make_output_format,
    read_csv,
    read_json,
    read_tb,
)

KEY_VALUES = {
    "test": 1,
    "b": -3.14,
    "8": 9.9,
    "l": [1, 2],
    "a": np.array([1, 2, 3]),
    "f": np.array(1),
    "g": np.array([[[1]]]),
}


@pytest.fixture(autouse=True)
def _restore_default_logger():
    """Tests and _demo() change the global logger; put the default one back, clean, at INFO."""
    yield
    logger.reset()
    Logger.DEFAULT.set_level(logger.INFO)
    Logger.DEFAULT.name2val.clear()
    Logger.DEFAULT.name2cnt.clear()


def test_demo_runs(monkeypatch, capsys):
    # The default logger holds the sys.stdout of import time; point it at a buffer to see what it prints.
    stream = io.StringIO()
    monkeypatch.setattr(Logger.DEFAULT.output_formats[0], "file", stream)
    _demo()
    out = stream.getvalue()
    assert "hi" in out and "should appear" in out and "shouldn't appear" not in out
    assert "| a | longasslongasslongas... |" in out
    with open(os.path.join(tempfile.gettempdir(), "testlogging", "progress.csv")) as file_handler:
        assert file_handler.read().splitlines() == ["a,b", "3,2.5", "5.5,-2.5", "5.5,-33.45"]


@pytest.mark.parametrize("_format", ["tensorboard", "stdout", "log", "json", "csv"])
def test_make_output_writes_and_reads_back(_format, tmp_path, capsys):
    log_dir = str(tmp_path)
    writer = make_output_format(_format, log_dir)
    writer.writekvs(dict(KEY_VALUES))
    writer.close()
    if _format == "tensorboard":
        frame = read_tb(os.path.join(log_dir, "tb"))
        # only float-convertible values: lists and multi-element arrays are skipped
        assert list(frame.columns) == ["8", "b", "f", "g", "test"]
        assert len(frame) == 1
        assert np.allclose(frame.iloc[0].to_numpy(), [9.9, -3.14, 1.0, 1.0, 1.0])
    elif _format == "csv":
        frame = read_csv(os.path.join(log_dir, "progress.csv"))
        assert {"test", "b", "8"} <= set(frame.columns)
    elif _format == "json":
        frame = read_json(os.path.join(log_dir, "progress.json"))
        row = frame.iloc[0]
        assert row["test"] == 1 and row["b"] == -3.14 and row["l"] == [1, 2] and row["a"] == [1, 2, 3]
        assert row["f"] == 1.0 and row["g"] == 1.0
    elif _format == "log":
        with open(os.path.join(log_dir, "log.txt")) as file_handler:
            assert "| test | 1" in file_handler.read()
    else:
        assert "| b    | -3.14" in capsys.readouterr().out


def test_make_output_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="dummy_format"):
        make_output_format("dummy_format", str(tmp_path))


def test_human_table_exact_text():
    stream = io.StringIO()
    HumanOutputFormat(stream).writekvs({
        "fps": 1234,
        "explained_variance": 0.123456,
        "policy_loss": np.float32(2.9210318e-05),
        "a_very_long_key_name_that_is_cut": "x" * 30,
    })
    dashes = "-" * (23 + 23 + 7)
    assert stream.getvalue() == (
        dashes + "\n"
        "| a_very_long_key_name... | xxxxxxxxxxxxxxxxxxxx... |\n"
        "| explained_variance      | 0.123                   |\n"
        "| fps                     | 1234                    |\n"
        "| policy_loss             | 2.9210318e-05           |\n"
        + dashes + "\n"
    )


def test_human_table_empty_dict_only_warns():
    stream = io.StringIO()
    with pytest.warns(UserWarning, match="empty key-value dict"):
        HumanOutputFormat(stream).writekvs({})
    assert stream.getvalue() == ""


def test_json_one_object_per_dump_and_numpy_conversion(tmp_path):
    path = str(tmp_path / "progress.json")
    writer = JSONOutputFormat(path)
    kvs = {"x": np.float32(0.5), "arr": np.array([[1, 2]]), "vec": np.array([1.0, 2.0])}
    writer.writekvs(kvs)
    writer.writekvs({"x": 2})
    writer.close()
    with open(path) as file_handler:
        lines = [json.loads(line) for line in file_handler]
    assert lines == [{"arr": [[1, 2]], "vec": [1.0, 2.0], "x": 0.5}, {"x": 2}]
    assert isinstance(kvs["x"], np.float32)  # the caller's dict is left alone


def test_csv_header_grows_with_new_keys(tmp_path):
    path = str(tmp_path / "progress.csv")
    writer = CSVOutputFormat(path)
    writer.writekvs({"a": 1, "b": 2.5})
    writer.writekvs({"a": 3, "c": "z"})
    writer.writekvs({"b": 4})
    writer.close()
    with open(path) as file_handler:
        assert file_handler.read() == "a,b,c\n1,2.5,\n3,,z\n,4,\n"
    frame = read_csv(path)
    assert list(frame.columns) == ["a", "b", "c"] and len(frame) == 3


def test_tensorboard_steps_count_dumps(tmp_path):
    writer = make_output_format("tensorboard", str(tmp_path), log_suffix="-x")
    writer.writekvs({"loss": 1.0})
    writer.writekvs({"loss": 0.5, "name": "not a number"})
    writer.close()
    frame = read_tb(str(tmp_path / "tb-x"))
    assert list(frame.columns) == ["loss"]
    assert frame["loss"].tolist() == [1.0, 0.5]
    with pytest.raises(ValueError):
        writer.writekvs({"loss": 0.1})


def test_logkv_mean_levels_and_disabled(capsys):
    stream = io.StringIO()
    log = Logger(folder=None, output_formats=[HumanOutputFormat(stream)])
    log.logkv_mean("b", -22.5)
    log.logkv_mean("b", -44.4)
    assert np.isclose(log.name2val["b"], -33.45)
    log.dumpkvs()
    assert "| b | -33.5    |" in stream.getvalue()
    assert dict(log.name2val) == {}

    log.log("hidden", level=logger.DEBUG)
    log.log("shown", 3, level=logger.WARN)
    assert stream.getvalue().endswith("shown 3\n") and "hidden" not in stream.getvalue()

    log.set_level(logger.DISABLED)
    log.logkv("a", 1)
    before = stream.getvalue()
    log.dumpkvs()
    assert stream.getvalue() == before and log.name2val["a"] == 1  # nothing written, nothing cleared


def test_configure_scoped_and_reset(tmp_path, capsys):
    folder = str(tmp_path / "run")
    logger.configure(folder=folder, format_strs=["csv", "log"])
    assert logger.get_dir() == folder
    logger.record_tabular("a", 1)
    logger.logkvs({"b": 2})
    assert dict(logger.getkvs()) == {"a": 1, "b": 2}
    logger.dump_tabular()
    with ScopedConfigure(str(tmp_path / "inner"), ["json"]):
        assert logger.get_dir() == str(tmp_path / "inner")
        logger.logkv("c", 3)
        logger.dumpkvs()
    assert logger.get_dir() == folder
    logger.reset()
    assert Logger.CURRENT is Logger.DEFAULT and logger.get_dir() is None
    assert read_csv(os.path.join(folder, "progress.csv"))["a"].tolist() == [1]
    assert read_json(str(tmp_path / "inner" / "progress.json"))["c"].tolist() == [3]
    with open(os.path.join(folder, "log.txt")) as file_handler:
        assert file_handler.readline() == "Logging to %s\n" % folder


def test_configure_defaults_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_LOGDIR", str(tmp_path / "env_dir"))
    monkeypatch.setenv("OPENAI_LOG_FORMAT", "json,csv")
    logger.configure()
    assert logger.get_dir() == str(tmp_path / "env_dir")
    assert sorted(os.listdir(str(tmp_path / "env_dir"))) == ["progress.csv", "progress.json"]
    assert logger.get_level() == logger.INFO


def test_profile_kv():
    @logger.profile("work")
    def work():
        return 7

    assert work() == 7
    assert logger.getkvs()["wait_work"] >= 0.0
