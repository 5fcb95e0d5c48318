"""Training on TRL: ``train sft|dpo|simpo|orpo`` and ``model init-tiny``.

Modules, in data-flow order: ``config`` (one pydantic TrainConfig, YAML + ``--set``), ``model``
(load, dtype, LoRA/QLoRA/DoRA), ``data`` (dialogs -> prepare rows, pairs -> scored turns),
``args`` (the TRL config object), ``sft`` / ``preference`` (the trainers), ``callbacks``
(``metrics.jsonl``), ``run`` / ``runner`` (run folder, resume, final save), ``tiny``.
Nothing heavy is imported here: torch/transformers/TRL load inside the functions that need them.
"""
