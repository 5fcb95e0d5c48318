"""MultiWOZ 2.2 import: the SGD-like ``dialogues_NNN.json``, ``schema.json``, ``dialog_acts.json``.

The official layout is ``MultiWOZ_2.2/{train,dev,test}/dialogues_NNN.json`` with
``schema.json`` and ``dialog_acts.json`` one folder up; both are found there (or given with
``--schema`` / ``--dialog-acts``). Every turn lists a frame per service, so frames with an
empty state are left out of the dialog state; acts come from ``dialog_acts.json`` when it is
present (MultiWOZ 2.2 leaves the frames' ``actions`` empty). Ids are mwzeval's: ``pmul4398``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.formats import WriteReport
from dialogkit.formats._common import read_json_file
from dialogkit.formats._schema_guided import dialogue_files, file_label, find_beside, split_of
from dialogkit.formats._sg_dialogue import Source, read_dialogues
from dialogkit.formats.sgd import SchemaCache
from dialogkit.io import Raw
from dialogkit.schema import Dialog


class MultiWOZConverter:
    name = "multiwoz"
    description = "MultiWOZ 2.2 (dialogues_*.json + schema.json [+ dialog_acts.json]), import only"
    can_read = True
    can_write = False
    read_options = frozenset({"schema", "dialog_acts"})
    write_options: frozenset[str] = frozenset()

    def read(self, path: Path, schema: Path | None = None, dialog_acts: Path | None = None,
             **options: Any) -> Iterator[Raw]:
        files = dialogue_files(Path(path))
        schemas = SchemaCache(schema)
        acts_cache: dict[Path, Any] = {}

        def acts_for(file: Path) -> dict[str, Any] | None:
            found = find_beside(file, "dialog_acts.json", dialog_acts)
            if found is None:
                return None
            if found not in acts_cache:
                data = read_json_file(found)
                if not isinstance(data, dict):
                    raise InputError(f"{found}: not a MultiWOZ dialog_acts.json (an object keyed by dialogue id)")
                acts_cache[found] = data
            return acts_cache[found]

        def source(file: Path) -> Source:
            return Source("multiwoz", schemas.for_file(file), split_of(file), file_label(file),
                          drop_empty_frames=True, dialog_acts=acts_for(file), version="2.2")

        return read_dialogues(files, source)

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport:
        raise NotImplementedError("multiwoz is import-only")


CONVERTER = MultiWOZConverter()
