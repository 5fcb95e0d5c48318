"""Text overlap (BLEU, chrF, ROUGE-L) and repetition of the model's replies.

BLEU and chrF are sacrebleu's corpus metrics (defaults: BLEU with exp smoothing, chrF2), kept
as per-turn sufficient statistics so they can be recomputed on any subset. The BLEU tokenizer
is chosen per dialog with ``tokenize: auto``: ``zh`` when the dialog's language is Chinese (or
its reference text contains CJK), else ``13a``. ROUGE-L is the LCS F-measure per turn over
lowercased words, CJK characters counting as words. Only reference turns with text are scored.
"""

from __future__ import annotations

import re
from functools import lru_cache

from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, aligned_turns, mean_stat

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.U)


def tokens(text: str) -> list[str]:
    """Lowercased words; each CJK character is one token."""
    return _TOKEN.findall(text.lower())


def is_chinese(dialog: Dialog, sample: str) -> bool:
    lang = (dialog.metadata.language or "").lower()
    return lang.startswith("zh") or (not lang and bool(_CJK.search(sample)))


def lcs_length(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(hyp: str, ref: str) -> float:
    h, r = tokens(hyp), tokens(ref)
    if not h or not r:
        return float(h == r)
    lcs = lcs_length(h, r)
    if not lcs:
        return 0.0
    p, rec = lcs / len(h), lcs / len(r)
    return 2 * p * rec / (p + rec)


@lru_cache(maxsize=8)
def _bleu(tokenize: str):
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=tokenize)


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


class TextOptions(ScorerOptions):
    tokenize: str = "auto"


class TextScorer(BaseScorer):
    name = "text"
    version = "1"
    higher_is_better = True
    Options = TextOptions
    metrics = (
        MetricSpec("bleu", "bleu", True, "sacrebleu corpus BLEU / 100"),
        MetricSpec("chrf", "chrf", True, "sacrebleu corpus chrF2 / 100"),
        MetricSpec("rouge_l", "ratio", True, "ROUGE-L F-measure, mean over turns"),
    )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        turns = [(k, rm, pm) for k, _, rm, _, pm in aligned_turns(pred, ref) if rm.content.strip()]
        if not turns:
            return []
        tok = self.options.tokenize
        if tok == "auto":
            tok = "zh" if is_chinese(ref, " ".join(rm.content for _, rm, _ in turns)) else "13a"
        bleu, chrf = _bleu(tok), _chrf()
        items = []
        for k, rm, pm in turns:
            hyp = pm.content.strip() if pm is not None else ""
            refs = [[rm.content.strip()]]
            stats = {
                "bleu": [float(x) for x in bleu._extract_corpus_statistics([hyp], refs)[0]],
                "chrf": [float(x) for x in chrf._extract_corpus_statistics([hyp], refs)[0]],
                "rouge_l": mean_stat(rouge_l(hyp, rm.content)),
            }
            items.append(Item(ref.id, k, stats))
        return items


def ngrams(toks: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


class RepetitionOptions(ScorerOptions):
    n: int = 3


class RepetitionScorer(BaseScorer):
    """Diversity and repetition of the model's own text (no reference needed)."""

    name = "repetition"
    version = "1"
    higher_is_better = True
    Options = RepetitionOptions
    metrics = (
        MetricSpec(
            "distinct_1",
            "ratio",
            True,
            "distinct unigrams / unigrams over a dialog's replies, mean over dialogs",
        ),
        MetricSpec(
            "distinct_2",
            "ratio",
            True,
            "distinct bigrams / bigrams over a dialog's replies, mean over dialogs",
        ),
        MetricSpec(
            "repeated_ngram_rate", "ratio", False, "n-grams repeated within a reply / n-grams (n = option n)"
        ),
        MetricSpec(
            "repeated_turn_rate", "ratio", False, "replies identical to an earlier reply of the same dialog"
        ),
    )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        replies = [
            pm.content for _, _, _, _, pm in aligned_turns(pred, ref) if pm is not None and pm.content.strip()
        ]
        if not replies:
            return []
        items = []
        all_toks = [tokens(r) for r in replies]
        flat = [t for ts in all_toks for t in ts]
        stats: dict[str, list[float]] = {}
        for n, key in ((1, "distinct_1"), (2, "distinct_2")):
            grams = ngrams(flat, n)
            if grams:
                stats[key] = mean_stat(len(set(grams)) / len(grams))
        seen, repeats = set(), 0
        for r in replies:
            norm = " ".join(tokens(r))
            repeats += norm in seen
            seen.add(norm)
        stats["repeated_turn_rate"] = [repeats, len(replies)]
        rep = [0, 0]
        for ts in all_toks:
            grams = ngrams(ts, self.options.n)
            rep[0] += len(grams) - len(set(grams))
            rep[1] += len(grams)
        if rep[1]:
            stats["repeated_ngram_rate"] = rep
        items.append(Item(ref.id, None, stats))
        return items
