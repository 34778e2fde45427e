"""Key/value and text logger with SB2's API and output formats.

Usage: ``logkv(key, value)`` (or ``logkv_mean``) during an iteration, then ``dumpkvs()`` writes every value to all
configured outputs and clears them. ``log``/``info``/``warn``/... write text lines when the level allows.
Outputs: ``stdout`` and ``log`` (human-readable table), ``json``, ``csv``, ``tensorboard``.
TensorFlow and pandas are imported only by the tensorboard writer and the readers.
"""
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Union

import numpy as np

from stable_ppo2.common.misc_util import mpi_rank_or_zero

DEBUG = 10
INFO = 20
WARN = 30
ERROR = 40
DISABLED = 50


class KVWriter:
    """Writes a dict of key/values per dump."""

    def writekvs(self, kvs: Dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the output (no-op by default)."""


class SeqWriter:
    """Writes a sequence of strings as one text line."""

    def writeseq(self, seq: Sequence[str]) -> None:
        raise NotImplementedError


class HumanOutputFormat(KVWriter, SeqWriter):
    """Human-readable table of the key/values (to stdout or a text file), plus plain text lines."""

    def __init__(self, filename_or_file: Union[str, TextIO]) -> None:
        self.file: TextIO
        if isinstance(filename_or_file, str):
            self.file = open(filename_or_file, "wt")
            self.own_file = True
        else:
            assert hasattr(filename_or_file, "write"), "Expected file or str, got {}".format(filename_or_file)
            self.file = filename_or_file
            self.own_file = False

    def writekvs(self, kvs: Dict[str, Any]) -> None:
        key2str = {}
        for key, val in sorted(kvs.items()):
            # Only Python floats (and np.float64, a subclass) get the short format; np.float32 prints with str().
            valstr = "%-8.3g" % (val,) if isinstance(val, float) else str(val)
            key2str[self._truncate(key)] = self._truncate(valstr)

        if not key2str:
            warnings.warn("Tried to write empty key-value dict")
            return
        keywidth = max(map(len, key2str.keys()))
        valwidth = max(map(len, key2str.values()))

        dashes = "-" * (keywidth + valwidth + 7)
        lines = [dashes]
        for key, val in sorted(key2str.items()):
            lines.append("| {}{} | {}{} |".format(key, " " * (keywidth - len(key)), val, " " * (valwidth - len(val))))
        lines.append(dashes)
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()

    @staticmethod
    def _truncate(string: Any) -> str:
        string = str(string)
        return string[:20] + "..." if len(string) > 23 else string

    def writeseq(self, seq: Sequence[str]) -> None:
        self.file.write(" ".join(seq) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.own_file:
            self.file.close()


def _to_json_value(value: Any) -> Any:
    """numpy values become a float (scalar or length-1) or nested lists; anything else is kept."""
    if not hasattr(value, "dtype"):
        return value
    value = np.asarray(value)
    if value.shape == () or len(value) == 1:
        if value.size == 1:
            return float(value.reshape(()))
    return value.tolist()


class JSONOutputFormat(KVWriter):
    """One JSON object per dump, one per line (``progress.json``)."""

    def __init__(self, filename: str) -> None:
        self.file = open(filename, "wt")

    def writekvs(self, kvs: Dict[str, Any]) -> None:
        converted = {key: _to_json_value(value) for key, value in sorted(kvs.items())}
        self.file.write(json.dumps(converted) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class CSVOutputFormat(KVWriter):
    """CSV with a header of every key seen so far; new keys rewrite the file with a wider header."""

    def __init__(self, filename: str) -> None:
        self.file = open(filename, "w+t")
        self.keys: List[str] = []
        self.sep = ","

    def writekvs(self, kvs: Dict[str, Any]) -> None:
        extra_keys = [key for key in kvs if key not in self.keys]
        if extra_keys:
            self.keys.extend(extra_keys)
            self.file.seek(0)
            old_lines = self.file.readlines()
            self.file.seek(0)
            self.file.write(self.sep.join(str(key) for key in self.keys) + "\n")
            for line in old_lines[1:]:
                self.file.write(line[:-1] + self.sep * len(extra_keys) + "\n")
        values = (kvs.get(key) for key in self.keys)
        self.file.write(self.sep.join("" if value is None else str(value) for value in values) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def valid_float_value(value: Any) -> bool:
    """True if ``value`` converts to a float (numbers, numpy scalars and size-1 arrays)."""
    try:
        _as_float(value)
        return True
    except (TypeError, ValueError):
        return False


def _as_float(value: Any) -> float:
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError("only size-1 arrays convert to float")
        return float(value.reshape(()))
    return float(value)


class TensorBoardOutputFormat(KVWriter):
    """Scalar summaries (``simple_value``, as SB2 wrote them) in an ``events.*`` file under ``folder``.

    Every float-convertible value is written; the step starts at 1 and grows by 1 per dump.
    """

    def __init__(self, folder: str) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        self._tf = tf
        os.makedirs(folder, exist_ok=True)
        self.dir = folder
        self.step = 1
        self.writer = tf.summary.create_file_writer(os.path.abspath(folder))

    def writekvs(self, kvs: Dict[str, Any]) -> None:
        if self.writer is None:
            raise ValueError("Attempt to write after close().")
        tf = self._tf
        summary = tf.compat.v1.Summary(value=[
            tf.compat.v1.Summary.Value(tag=str(key), simple_value=_as_float(value))
            for key, value in kvs.items() if valid_float_value(value)
        ])
        with self.writer.as_default():
            tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=self.step)
        self.writer.flush()
        self.step += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def make_output_format(_format: str, ev_dir: str, log_suffix: str = "") -> KVWriter:
    """Build the writer for ``_format`` ('stdout', 'log', 'json', 'csv' or 'tensorboard') in ``ev_dir``."""
    os.makedirs(ev_dir, exist_ok=True)
    if _format == "stdout":
        return HumanOutputFormat(sys.stdout)
    if _format == "log":
        return HumanOutputFormat(os.path.join(ev_dir, "log%s.txt" % log_suffix))
    if _format == "json":
        return JSONOutputFormat(os.path.join(ev_dir, "progress%s.json" % log_suffix))
    if _format == "csv":
        return CSVOutputFormat(os.path.join(ev_dir, "progress%s.csv" % log_suffix))
    if _format == "tensorboard":
        return TensorBoardOutputFormat(os.path.join(ev_dir, "tb%s" % log_suffix))
    raise ValueError("Unknown format specified: %s" % (_format,))


# ================================================================
# API (acts on Logger.CURRENT)
# ================================================================

def logkv(key: str, val: Any) -> None:
    """Record ``val`` under ``key`` for this iteration; the last value logged wins."""
    Logger.CURRENT.logkv(key, val)


def logkv_mean(key: str, val: Optional[float]) -> None:
    """Like :func:`logkv`, but values logged several times in one iteration are averaged."""
    Logger.CURRENT.logkv_mean(key, val)


def logkvs(key_values: Dict[str, Any]) -> None:
    """:func:`logkv` for every item of a dict."""
    for key, value in key_values.items():
        logkv(key, value)


def dumpkvs() -> None:
    """Write this iteration's key/values to every output and clear them."""
    Logger.CURRENT.dumpkvs()


def getkvs() -> Dict[str, Any]:
    """The key/values recorded so far in this iteration."""
    return Logger.CURRENT.name2val


def log(*args: Any, level: int = INFO) -> None:
    """Write ``args`` (space separated) to the text outputs if the logger's level is <= ``level``."""
    Logger.CURRENT.log(*args, level=level)


def debug(*args: Any) -> None:
    """:func:`log` at DEBUG level."""
    log(*args, level=DEBUG)


def info(*args: Any) -> None:
    """:func:`log` at INFO level."""
    log(*args, level=INFO)


def warn(*args: Any) -> None:
    """:func:`log` at WARN level."""
    log(*args, level=WARN)


def error(*args: Any) -> None:
    """:func:`log` at ERROR level."""
    log(*args, level=ERROR)


def set_level(level: int) -> None:
    """Set the threshold of the current logger (DEBUG, INFO, WARN, ERROR or DISABLED)."""
    Logger.CURRENT.set_level(level)


def get_level() -> int:
    """Threshold of the current logger."""
    return Logger.CURRENT.level


def get_dir() -> Optional[str]:
    """Directory the current logger writes to, or None if it has none."""
    return Logger.CURRENT.get_dir()


record_tabular = logkv
dump_tabular = dumpkvs


class ProfileKV:
    """Context manager adding the elapsed seconds to the key ``wait_<name>``."""

    def __init__(self, name: str) -> None:
        self.name = "wait_" + name
        self.start_time = 0.0

    def __enter__(self) -> None:
        self.start_time = time.time()

    def __exit__(self, _type: Any, value: Any, traceback: Any) -> None:
        Logger.CURRENT.name2val[self.name] += time.time() - self.start_time


def profile(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator timing every call of a function under :class:`ProfileKV` ``name``."""
    def decorator_with_name(func: Callable[..., Any]) -> Callable[..., Any]:
        def func_wrapper(*args: Any, **kwargs: Any) -> Any:
            with ProfileKV(name):
                return func(*args, **kwargs)
        return func_wrapper
    return decorator_with_name


# ================================================================
# Backend
# ================================================================

class Logger:
    """Holds this iteration's key/values, a level and a list of output formats."""

    # The stdout-only logger used when nothing is configured, and the one the module functions use.
    DEFAULT: "Logger"
    CURRENT: "Logger"

    def __init__(self, folder: Optional[str], output_formats: List[KVWriter]) -> None:
        self.name2val: Dict[str, Any] = defaultdict(float)
        self.name2cnt: Dict[str, int] = defaultdict(int)
        self.level = INFO
        self.dir = folder
        self.output_formats = output_formats

    def logkv(self, key: str, val: Any) -> None:
        self.name2val[key] = val

    def logkv_mean(self, key: str, val: Optional[float]) -> None:
        if val is None:
            self.name2val[key] = None
            return
        oldval, cnt = self.name2val[key], self.name2cnt[key]
        self.name2val[key] = oldval * cnt / (cnt + 1) + val / (cnt + 1)
        self.name2cnt[key] = cnt + 1

    def dumpkvs(self) -> None:
        if self.level == DISABLED:
            return
        for fmt in self.output_formats:
            if isinstance(fmt, KVWriter):
                fmt.writekvs(self.name2val)
        self.name2val.clear()
        self.name2cnt.clear()

    def log(self, *args: Any, level: int = INFO) -> None:
        if self.level <= level:
            self._do_log(args)

    def set_level(self, level: int) -> None:
        self.level = level

    def get_dir(self) -> Optional[str]:
        return self.dir

    def close(self) -> None:
        for fmt in self.output_formats:
            fmt.close()

    def _do_log(self, args: Sequence[Any]) -> None:
        for fmt in self.output_formats:
            if isinstance(fmt, SeqWriter):
                fmt.writeseq([str(arg) for arg in args])


Logger.DEFAULT = Logger.CURRENT = Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)])


def configure(folder: Optional[str] = None, format_strs: Optional[Sequence[str]] = None) -> None:
    """Make a new current logger writing to ``folder`` in ``format_strs``.

    ``folder`` defaults to ``$OPENAI_LOGDIR``, else ``<tempdir>/openai-<date-time>``; ``format_strs`` to
    ``$OPENAI_LOG_FORMAT`` (default ``stdout,log,csv``), or ``$OPENAI_LOG_FORMAT_MPI`` (default ``log``) with a
    ``-rankNNN`` suffix on MPI ranks other than 0.
    """
    if folder is None:
        folder = os.getenv("OPENAI_LOGDIR")
    if folder is None:
        folder = os.path.join(tempfile.gettempdir(),
                              datetime.datetime.now().strftime("openai-%Y-%m-%d-%H-%M-%S-%f"))
    assert isinstance(folder, str), "the log folder must be a str, got {!r}".format(folder)
    os.makedirs(folder, exist_ok=True)
    rank = mpi_rank_or_zero()

    log_suffix = ""
    if format_strs is None:
        if rank == 0:
            format_strs = os.getenv("OPENAI_LOG_FORMAT", "stdout,log,csv").split(",")
        else:
            log_suffix = "-rank%03i" % rank
            format_strs = os.getenv("OPENAI_LOG_FORMAT_MPI", "log").split(",")
    output_formats = [make_output_format(fmt, folder, log_suffix) for fmt in format_strs if fmt]

    Logger.CURRENT = Logger(folder=folder, output_formats=output_formats)
    log("Logging to %s" % folder)


def reset() -> None:
    """Close the current logger and go back to the default stdout logger."""
    if Logger.CURRENT is not Logger.DEFAULT:
        Logger.CURRENT.close()
        Logger.CURRENT = Logger.DEFAULT
        log("Reset logger")


class ScopedConfigure:
    """``with ScopedConfigure(folder, format_strs):`` configures a logger for the block.

    The previous logger is restored when the block ends.
    """

    def __init__(self, folder: Optional[str] = None, format_strs: Optional[Sequence[str]] = None) -> None:
        self.dir = folder
        self.format_strs = format_strs
        self.prevlogger: Optional[Logger] = None

    def __enter__(self) -> None:
        self.prevlogger = Logger.CURRENT
        configure(folder=self.dir, format_strs=self.format_strs)

    def __exit__(self, *args: Any) -> None:
        Logger.CURRENT.close()
        assert self.prevlogger is not None  # __enter__ saved it
        Logger.CURRENT = self.prevlogger


def _demo() -> None:
    """Exercise the module end to end (``python -m stable_ppo2.logger``)."""
    info("hi")
    debug("shouldn't appear")
    set_level(DEBUG)
    debug("should appear")
    folder = os.path.join(tempfile.gettempdir(), "testlogging")
    if os.path.exists(folder):
        shutil.rmtree(folder)
    configure(folder=folder)
    logkv("a", 3)
    logkv("b", 2.5)
    dumpkvs()
    logkv("b", -2.5)
    logkv("a", 5.5)
    dumpkvs()
    info("^^^ should see a = 5.5")
    logkv_mean("b", -22.5)
    logkv_mean("b", -44.4)
    logkv("a", 5.5)
    dumpkvs()
    with ScopedConfigure(None, None):
        info("^^^ should see b = -33.5")

    with ScopedConfigure(os.path.join(tempfile.gettempdir(), "test-logger"), ["json"]):
        logkv("b", -2.5)
        dumpkvs()

    reset()
    logkv("a", "longasslongasslongasslongasslongasslongassvalue")
    dumpkvs()
    warn("hey")
    error("oh")
    logkvs({"test": 1})


# ================================================================
# Readers (need pandas)
# ================================================================

def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("reading logs needs pandas: pip install pandas") from exc
    return pandas


def read_json(fname: str) -> Any:
    """Load a ``progress.json`` file into a pandas DataFrame."""
    pandas = _import_pandas()
    with open(fname, "rt") as file_handler:
        data = [json.loads(line) for line in file_handler]
    return pandas.DataFrame(data)


def read_csv(fname: str) -> Any:
    """Load a ``progress.csv`` file into a pandas DataFrame."""
    pandas = _import_pandas()
    return pandas.read_csv(fname, index_col=None, comment="#")


def read_tb(path: str) -> Any:
    """Load scalars from a tensorboard events file, or from all ``events.*`` files of a directory.

    Returns a DataFrame with one column per tag (sorted) and one row per step (step 1 is row 0); missing values NaN.
    """
    from glob import glob

    pandas = _import_pandas()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if os.path.isdir(path):
        fnames = glob(os.path.join(path, "events.*"))
    elif os.path.basename(path).startswith("events."):
        fnames = [path]
    else:
        raise NotImplementedError("Expected tensorboard file or directory containing them. Got %s" % path)
    tag2pairs: Dict[str, List[Any]] = defaultdict(list)
    maxstep = 0
    for fname in fnames:
        for event in tf.compat.v1.train.summary_iterator(fname):
            if event.step > 0:
                for value in event.summary.value:
                    if value.WhichOneof("value") == "tensor":  # written by tf.summary.scalar
                        scalar = float(tf.make_ndarray(value.tensor))
                    else:
                        scalar = value.simple_value
                    tag2pairs[value.tag].append((event.step, scalar))
                maxstep = max(event.step, maxstep)
    data = np.full((maxstep, len(tag2pairs)), np.nan)
    tags = sorted(tag2pairs.keys())
    for colidx, tag in enumerate(tags):
        for step, value in tag2pairs[tag]:
            data[step - 1, colidx] = value
    return pandas.DataFrame(data, columns=tags)


if __name__ == "__main__":
    _demo()
