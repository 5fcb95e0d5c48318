"""Test doubles: a fake OpenAI-compatible server with scripted roles and fault injection, and
a server with the test's own canned replies."""

from .canned import CannedOpenAI
from .openai_server import FakeOpenAI, Faults

__all__ = ["CannedOpenAI", "FakeOpenAI", "Faults"]
