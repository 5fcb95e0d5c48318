"""Exact assistant-only loss masks for any chat template: ``dialogkit prepare`` as a library.

>>> rows = prepare_dialogs(dialogs, tokenizer, PrepareConfig(max_length=4096))  # doctest: +SKIP

Import cost is small: transformers/tokenizers load only when a tokenizer is used.
"""

from dialogkit.prepare.config import PrepareConfig, PrepareReport
from dialogkit.prepare.continuation import Continuation, ContinuationEncoder, encode_continuation
from dialogkit.prepare.pack import PackedRow, pack_rows
from dialogkit.prepare.pipeline import FileResult, load_tokenizer, prepare_dialogs, prepare_file
from dialogkit.prepare.rows import IGNORE, Row

__all__ = [
    "IGNORE",
    "Continuation",
    "ContinuationEncoder",
    "FileResult",
    "PackedRow",
    "PrepareConfig",
    "PrepareReport",
    "Row",
    "encode_continuation",
    "load_tokenizer",
    "pack_rows",
    "prepare_dialogs",
    "prepare_file",
]
