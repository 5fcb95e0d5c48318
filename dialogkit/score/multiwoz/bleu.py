"""mwzeval's BLEU: ``sacrebleu.corpus_bleu(hyps, [refs]).score`` with sacrebleu's defaults.

sacrebleu's own tokeniser (13a) and final formula (``BLEU.compute_bleu``: exp smoothing, brevity
penalty) are used unchanged, so the score is sacrebleu's to the last bit; only the sufficient
statistics (n-gram matches per order, lengths) are counted here, with ``zip``-built n-grams and
each distinct reference counted once, which is several times faster than sacrebleu's per-segment
loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

MAX_ORDER = 4


def _ngrams(tokens: list[str]) -> list[Counter]:
    return [Counter(tokens)] + [Counter(zip(*(tokens[i:] for i in range(n)))) for n in range(2, MAX_ORDER + 1)]


def corpus_bleu(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU of ``hyps`` against one reference each (13a tokens, case-sensitive, exp smoothing)."""
    from sacrebleu.metrics import BLEU
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    tokenize = Tokenizer13a()
    correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
    sys_len = ref_len = 0
    ref_stats: dict[str, tuple[list[Counter], int]] = {}
    for hyp, ref in zip(hyps, refs):
        stats = ref_stats.get(ref)
        if stats is None:
            tokens = tokenize(ref.rstrip()).split()
            stats = ref_stats[ref] = (_ngrams(tokens), len(tokens))
        ref_grams, length = stats
        tokens = tokenize(hyp.rstrip()).split()
        sys_len += len(tokens)
        ref_len += length
        for n, grams in enumerate(_ngrams(tokens)):
            total[n] += max(len(tokens) - n, 0)
            target = ref_grams[n]
            correct[n] += sum(min(c, target[g]) for g, c in grams.items() if g in target)
    return BLEU.compute_bleu(correct, total, sys_len, ref_len, smooth_method="exp", smooth_value=None,
                             effective_order=False, max_ngram_order=MAX_ORDER).score
