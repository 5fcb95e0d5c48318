"""``dialogkit schema``: print (or write) the JSON Schemas generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dialogkit.schema import json_schemas


@click.command()
@click.argument("name", required=False, type=click.Choice(["dialog", "preference"]))
@click.option("--write", "write_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write every schema file into this folder instead of printing.")
def schema(name: str | None, write_dir: Path | None) -> None:
    """Print the JSON Schema of dialogs and preference pairs.

    \b
    Examples:
      dialogkit schema dialog > dialog.schema.json
      dialogkit schema --write schemas/
    """
    schemas = json_schemas()
    if write_dir is not None:
        from dialogkit.io import AtomicWriter

        for fname, s in schemas.items():
            with AtomicWriter(write_dir / fname) as fh:
                fh.write((json.dumps(s, indent=2, ensure_ascii=False) + "\n").encode())
            click.echo(f"wrote {write_dir / fname}")
        return
    selected = {k: v for k, v in schemas.items() if name is None or k.startswith(name + ".")}
    out = next(iter(selected.values())) if len(selected) == 1 else selected
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))
