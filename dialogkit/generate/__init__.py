"""Generation backends behind one interface: a local transformers model (a path or a training run,
adapter or merged) or any OpenAI-compatible endpoint. Used by score, synth, mine, serve and demo.
"""

from dialogkit.generate.base import Backend, ChatRequest, GenerationConfig, load_backend
from dialogkit.generate.parse import parse_completion

__all__ = ["Backend", "ChatRequest", "GenerationConfig", "load_backend", "parse_completion"]
