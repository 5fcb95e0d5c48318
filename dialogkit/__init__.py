"""dialogkit: one conversation schema and one CLI for the multi-turn fine-tuning loop."""

__version__ = "0.1.0"

from dialogkit.errors import DialogkitError, InputError, Issue, RecordError, UsageError  # noqa: E402
from dialogkit.schema import (  # noqa: E402
    AssistantMessage,
    Dialog,
    DialogState,
    Goal,
    PreferencePair,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
)

__all__ = [
    "AssistantMessage",
    "Dialog",
    "DialogState",
    "DialogkitError",
    "Goal",
    "InputError",
    "Issue",
    "PreferencePair",
    "RecordError",
    "SystemMessage",
    "ToolCall",
    "ToolMessage",
    "ToolSpec",
    "UsageError",
    "UserMessage",
    "__version__",
]
