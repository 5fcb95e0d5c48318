"""Schema-Guided Dialogue (SGD, DSTC8) import: ``dialogues_NNN.json`` + ``schema.json``.

``IN`` is a dialogues file (its ``schema.json`` beside it), a split folder (``train/``), or the
data set root holding split folders; each split uses its own schema, so services never seen
in training (dev/test) become tools exactly like seen ones. See ``docs/formats.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.formats import WriteReport
from dialogkit.formats._schema_guided import dialogue_files, file_label, find_beside, load_schema, split_of
from dialogkit.formats._sg_dialogue import Source, read_dialogues
from dialogkit.io import Raw
from dialogkit.schema import Dialog


class SchemaCache:
    """Each schema.json loaded once, whichever file or option names it."""

    def __init__(self, given: Path | None):
        self.given = given
        self._loaded: dict[Path, dict[str, dict[str, Any]]] = {}

    def for_file(self, file: Path) -> dict[str, dict[str, Any]]:
        path = find_beside(file, "schema.json", self.given)
        if path is None:
            raise InputError(f"{file}: no schema.json beside it or in its parent folder; pass --schema FILE")
        key = path.resolve()
        if key not in self._loaded:
            self._loaded[key] = load_schema(path)
        return self._loaded[key]


class SGDConverter:
    name = "sgd"
    description = "Schema-Guided Dialogue (dialogues_*.json + schema.json), import only"
    can_read = True
    can_write = False
    read_options = frozenset({"schema"})
    write_options: frozenset[str] = frozenset()

    def read(self, path: Path, schema: Path | None = None, **options: Any) -> Iterator[Raw]:
        files = dialogue_files(Path(path))
        schemas = SchemaCache(schema)

        def source(file: Path) -> Source:
            return Source("sgd", schemas.for_file(file), split_of(file), file_label(file))

        return read_dialogues(files, source)

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport:
        raise NotImplementedError("sgd is import-only")


CONVERTER = SGDConverter()
