"""Test doubles: a fake OpenAI-compatible server with scripted roles and fault injection."""

from .openai_server import FakeOpenAI, Faults

__all__ = ["FakeOpenAI", "Faults"]
