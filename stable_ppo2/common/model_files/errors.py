"""The errors and warnings of reading and writing model files: one hierarchy under
:class:`ModelFileError`.

::

    RuntimeError
    └── ModelFileError            the file, or one entry of it, cannot be read
        ├── UnsafeFileError       safe loading refused it (a name outside the allow-list, or code)
        ├── UnsupportedFormatError  a newer major model-file format than this version reads
        └── ModelDataError        (also a ValueError) it reads, but cannot make the model
    UserWarning
    ├── FallbackWarning           an entry could not be rebuilt and was replaced by a fallback
    └── IgnoredEntryWarning       the file's ``data`` holds entries the model does not know
"""
from __future__ import annotations


class ModelFileError(RuntimeError):
    """A model or statistics file (or one entry of it) could not be read or deserialised."""


class UnsafeFileError(ModelFileError):
    """A file asks for a function or class outside the allow-list, or carries code (refused)."""


class UnsupportedFormatError(ModelFileError):
    """The file declares a model-file format (major version) newer than this stable_ppo2 reads."""


class ModelDataError(ModelFileError, ValueError):
    """The file reads, but what it holds cannot make the model: parameters whose names or shapes
    differ from the model's, ``data`` entries that name methods, hyperparameters or spaces of the
    wrong type or out of range, sizes that could not be allocated."""


class FallbackWarning(UserWarning):
    """An entry of a model file could not be rebuilt and was replaced by a fallback value."""


class IgnoredEntryWarning(UserWarning):
    """The ``data`` of a model file holds entries the model does not know; they were ignored."""


TRUST_HINT = ("If you trust this file, load it with trust_file=True (this runs code carried by "
              "the file)")
