"""Builders of dialogkit's sample data sets (used by ``datasets/make_samples.py``)."""

from samples_lib.cards import CARDS

__all__ = ["CARDS"]
