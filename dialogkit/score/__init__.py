"""Scorers: turn/dialog metrics, reference-exact MultiWOZ (mwzeval) and SGD evaluators, BFCL."""
