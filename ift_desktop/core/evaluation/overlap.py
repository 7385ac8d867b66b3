"""Overlap alignment: which tokens ROUGE and BLEU matched, as character spans of the original text.

The metrics never see the text the user reads: ``rouge_score`` lowercases, keeps only runs of
``[a-z0-9]`` and (optionally) Porter-stems them; ``sacrebleu``'s 13a tokenizer strips the right end,
unescapes ``&amp;``-style entities, drops ``<skipped>``, joins ``-\\n`` and splits punctuation off.
This module re-runs those exact steps while keeping, for every token, the character span
``[start, end)`` of the *original* text it came from, and then marks the n-grams each metric counted:

* ``rouge1`` / ``rouge2``: for every n-gram, rouge_score counts ``min(count in prediction, count in
  reference)`` matches. We mark **the first k occurrences in text order on each side** (k = that
  clipped count), so the number of marked start positions on each side equals rouge_score's overlap.
* ``rougeL``: the token indices of the LCS that rouge_score itself reads out (its ``_lcs_table``, here
  filled by numpy in :func:`.lcs.lcs_table`, and the same back-tracking as its ``_backtrack_norec``;
  ties resolved the same way), on both sides.
* ``bleu1`` .. ``bleu4``: sacrebleu clips each prediction n-gram by the *largest* count of that n-gram
  in any one reference. We mark the first k occurrences in the prediction (k = the clipped count,
  so the prediction side sums to sacrebleu's matched n-gram count for that order) and, in the
  reference the overlap is drawn against, the first ``min(k, count in that reference)`` occurrences.

Tokenizers with spans implement rouge_score's ``Tokenizer`` interface (``tokenize(text)``) plus
``tokenize_with_spans(text) -> [(token, start, end), ...]``; :class:`UnicodeTokenizer` is the
Unicode-aware alternative for text that the default tokenizer erases (not comparable with published
ROUGE numbers).
"""

from __future__ import annotations

import collections
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from nltk.stem import porter
from rouge_score import tokenize as rouge_tokenize
from rouge_score import tokenizers as rouge_tokenizers
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from .lcs import lcs_table

Token = tuple[str, int, int]  # (token, start, end) with end exclusive, in characters of the original text

ROUGE_KINDS = ("rouge1", "rouge2", "rougeL")
BLEU_KINDS = ("bleu1", "bleu2", "bleu3", "bleu4")
OVERLAP_KINDS = ROUGE_KINDS + BLEU_KINDS
TOKENIZER_NAMES = ("default", "unicode")

_ASCII_WORD = re.compile(r"[a-z0-9]+")


_PORTER = porter.PorterStemmer()  # stateless per call, so one instance (and one cache) serves every thread


class CachedPorterStemmer:
    """nltk's Porter stemmer with a cache; the same stems rouge_score gets, computed once per word.

    The cache is shared by every instance: ``score`` makes new tokenizers on each call, and the
    Metric lab calls it on every pause in typing, mostly with words it has stemmed before.
    """

    stem = staticmethod(functools.lru_cache(maxsize=1 << 16)(_PORTER.stem))


def _lowered_with_owners(text: str) -> tuple[str, list[int]]:
    """``text`` lowercased character by character, with the original index of every output character.

    ``str.lower`` can lengthen a character (``'İ'`` becomes ``'i'`` plus a combining dot), so the
    lowered text is not index-aligned with the original; ``owners[k]`` is the original index of
    lowered character ``k``. (Python's only context-dependent lowering, the final sigma, never yields
    ``[a-z0-9]``, so per-character lowering finds the same ASCII words as ``text.lower()``.)
    """
    if text.isascii():
        return text.lower(), list(range(len(text)))
    chars: list[str] = []
    owners: list[int] = []
    for index, char in enumerate(text):
        lowered = char.lower()
        chars.append(lowered)
        owners.extend([index] * len(lowered))
    return "".join(chars), owners


class DefaultTokenizer(rouge_tokenizers.Tokenizer):
    """rouge_score's default tokenizer (identical tokens) that can also report character spans."""

    name = "default"
    comparable = True

    def __init__(self, use_stemmer: bool = True):
        self.use_stemmer = bool(use_stemmer)
        self._stemmer = CachedPorterStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        return rouge_tokenize.tokenize(text, self._stemmer)

    def tokenize_with_spans(self, text: str) -> list[Token]:
        lowered, owners = _lowered_with_owners(text)
        out: list[Token] = []
        for match in _ASCII_WORD.finditer(lowered):
            word = match.group()
            if self._stemmer is not None and len(word) > 3:
                word = self._stemmer.stem(word)
            if rouge_tokenize.VALID_TOKEN_RE.match(word):
                out.append((word, owners[match.start()], owners[match.end() - 1] + 1))
        return out


def _is_unsegmented_script(char: str) -> bool:
    """Han, kana and other scripts written without spaces: each character is its own token."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3134F  # CJK extensions B-G
    )


class UnicodeTokenizer(rouge_tokenizers.Tokenizer):
    """A Unicode-aware tokenizer for rouge_score: words of any script, lowercased.

    A token is a run of letters/digits (``str.isalnum``) with the combining marks that follow them
    (so Devanagari vowel signs and decomposed accents stay inside the word); Han and kana characters
    are one token each. ASCII words longer than three characters are Porter-stemmed when stemming is
    on, exactly as the default tokenizer does, so on plain ASCII text both tokenizers agree.
    Scores computed with it are **not comparable with published ROUGE** numbers.
    """

    name = "unicode"
    comparable = False

    def __init__(self, use_stemmer: bool = True):
        self.use_stemmer = bool(use_stemmer)
        self._stemmer = CachedPorterStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        return [token for token, _, _ in self.tokenize_with_spans(text)]

    def tokenize_with_spans(self, text: str) -> list[Token]:
        lowered, owners = _lowered_with_owners(text)
        out: list[Token] = []
        start = None

        def close(end: int) -> None:
            word = lowered[start:end]
            if self._stemmer is not None and len(word) > 3 and _ASCII_WORD.fullmatch(word):
                word = self._stemmer.stem(word)
            out.append((word, owners[start], owners[end - 1] + 1))

        for k, char in enumerate(lowered):
            if _is_unsegmented_script(char):
                if start is not None:
                    close(k)
                start = k
                close(k + 1)
                start = None
            elif char.isalnum() or (start is not None and unicodedata.category(char).startswith("M")):
                if start is None:
                    start = k
            elif start is not None:
                close(k)
                start = None
        if start is not None:
            close(len(lowered))
        return out


def make_tokenizer(name: str = "default", use_stemmer: bool = True):
    """The ROUGE tokenizer called ``name`` ("default" = rouge_score's own, "unicode")."""
    if name == "default":
        return DefaultTokenizer(use_stemmer)
    if name == "unicode":
        return UnicodeTokenizer(use_stemmer)
    raise ValueError(f"unknown ROUGE tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}")


# ------------------------------------------------------------------------------------------------
# sacrebleu 13a with spans

_BLEU_13A = Tokenizer13a()
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))
_Char = tuple[str, int, int]  # one normalised character and the original span it stands for


def _replace(chars: list[_Char], old: str, new: str) -> list[_Char]:
    """``str.replace(old, new)`` on a list of characters that remember their original spans."""
    text = "".join(c for c, _, _ in chars)
    out: list[_Char] = []
    pos = 0
    while True:
        hit = text.find(old, pos)
        if hit < 0:
            break
        out.extend(chars[pos:hit])
        start, end = chars[hit][1], chars[hit + len(old) - 1][2]
        out.extend((c, start, end) for c in new)
        pos = hit + len(old)
    out.extend(chars[pos:])
    return out


def bleu_tokens(text: str) -> list[str]:
    """sacrebleu's own BLEU tokens of ``text`` (``BLEU._preprocess_segment``: rstrip, then 13a)."""
    return _BLEU_13A(text.rstrip()).split()


def bleu_tokens_with_spans(text: str) -> list[Token]:
    """sacrebleu's 13a tokens of ``text`` with their spans in ``text``.

    The 13a steps that change characters (rstrip, ``<skipped>``, ``-\\n``, ``\\n``, the four
    entities) are replayed on characters that carry their original spans; its regular expressions
    only insert spaces, so each token is then a contiguous run of the normalised characters.
    """
    stripped = text.rstrip()
    chars: list[_Char] = [(c, i, i + 1) for i, c in enumerate(stripped)]
    normalised = stripped  # the text of ``chars``, kept alongside so unneeded replacements cost nothing
    for old, new in (("<skipped>", ""), ("-\n", ""), ("\n", " "), *_ENTITIES):
        if old in normalised:
            chars = _replace(chars, old, new)
            normalised = normalised.replace(old, new)
    out: list[Token] = []
    pos = 0
    for token in bleu_tokens(text):
        while pos < len(normalised) and normalised[pos].isspace():
            pos += 1
        if normalised[pos : pos + len(token)] != token:  # pragma: no cover - would mean sacrebleu changed
            raise RuntimeError(f"cannot align BLEU token {token!r} in {text!r}")
        out.append((token, chars[pos][1], chars[pos + len(token) - 1][2]))
        pos += len(token)
    return out


# ------------------------------------------------------------------------------------------------
# matches


def _positions(tokens: list[str], n: int) -> dict[tuple[str, ...], list[int]]:
    """Every n-gram of ``tokens`` with its start positions, in order."""
    found: dict[tuple[str, ...], list[int]] = collections.defaultdict(list)
    for i, gram in enumerate(zip(*(tokens[k:] for k in range(n)))):
        found[gram].append(i)
    return found


def ngram_matches(prediction: list[str], reference: list[str], n: int) -> tuple[list[int], list[int]]:
    """Start indices of the clipped n-gram matches (rouge_score's count): first k occurrences per side."""
    pred_at, ref_at = _positions(prediction, n), _positions(reference, n)
    pred_marks: list[int] = []
    ref_marks: list[int] = []
    for gram, where in pred_at.items():
        k = min(len(where), len(ref_at.get(gram, ())))
        pred_marks.extend(where[:k])
        ref_marks.extend(ref_at.get(gram, [])[:k])
    return sorted(pred_marks), sorted(ref_marks)


def bleu_matches(prediction: list[str], references: list[list[str]], shown: int, n: int) -> tuple[list[int], list[int]]:
    """Start indices of sacrebleu's clipped n-gram matches; the reference side is ``references[shown]``."""
    pred_at = _positions(prediction, n)
    refs_at = [_positions(ref, n) for ref in references]
    max_ref: collections.Counter = collections.Counter()
    for ref_at in refs_at:
        for gram, where in ref_at.items():
            max_ref[gram] = max(max_ref[gram], len(where))
    shown_at = refs_at[shown] if references else {}
    pred_marks: list[int] = []
    ref_marks: list[int] = []
    for gram, where in pred_at.items():
        k = min(len(where), max_ref.get(gram, 0))
        pred_marks.extend(where[:k])
        ref_marks.extend(shown_at.get(gram, [])[:k])
    return sorted(pred_marks), sorted(ref_marks)


def lcs_matches(prediction: list[str], reference: list[str]) -> tuple[list[int], list[int]]:
    """Token indices of the LCS rouge_score picks: its table, its back-tracking, both sides' indices."""
    if not prediction or not reference:
        return [], []
    table = lcs_table(reference, prediction)  # = rouge_scorer._lcs_table, filled by numpy
    i, j = len(reference), len(prediction)
    ref_idx: list[int] = []
    pred_idx: list[int] = []
    while i > 0 and j > 0:  # the loop of rouge_scorer._backtrack_norec, recording j as well
        if reference[i - 1] == prediction[j - 1]:
            ref_idx.append(i - 1)
            pred_idx.append(j - 1)
            i -= 1
            j -= 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return pred_idx[::-1], ref_idx[::-1]


# ------------------------------------------------------------------------------------------------
# the alignment of one example


@dataclass
class OverlapAlignment:
    """Tokens with spans and matched positions of one prediction against one shown reference."""

    rouge_prediction: list[Token]
    rouge_reference: list[Token]
    bleu_prediction: list[Token]
    bleu_reference: list[Token]
    matches: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    reference_index: int = 0

    @classmethod
    def build(cls, prediction: str, references: list[str], *, reference_index: int = 0, tokenizer=None):
        """Align ``prediction`` with ``references[reference_index]`` (BLEU clips over all references)."""
        tokenizer = tokenizer or DefaultTokenizer(True)
        rouge_pred = tokenizer.tokenize_with_spans(prediction)
        rouge_ref = tokenizer.tokenize_with_spans(references[reference_index])
        bleu_pred = bleu_tokens_with_spans(prediction)
        bleu_refs = [bleu_tokens_with_spans(ref) for ref in references]
        rp, rr = [t for t, _, _ in rouge_pred], [t for t, _, _ in rouge_ref]
        bp, brs = [t for t, _, _ in bleu_pred], [[t for t, _, _ in ref] for ref in bleu_refs]
        matches = {
            "rouge1": ngram_matches(rp, rr, 1),
            "rouge2": ngram_matches(rp, rr, 2),
            "rougeL": lcs_matches(rp, rr),
        }
        for n in range(1, 5):
            matches[f"bleu{n}"] = bleu_matches(bp, brs, reference_index, n)
        return cls(rouge_pred, rouge_ref, bleu_pred, bleu_refs[reference_index], matches, reference_index)

    def to_json(self) -> dict:
        """The contract's ``overlap`` object (plus ``reference_index``)."""

        def listed(tokens: list[Token]) -> list[list]:
            return [[t, s, e] for t, s, e in tokens]

        return {
            "tokens": {
                "rouge": {"prediction": listed(self.rouge_prediction), "reference": listed(self.rouge_reference)},
                "bleu": {"prediction": listed(self.bleu_prediction), "reference": listed(self.bleu_reference)},
            },
            "matches": {
                kind: {"prediction": list(pred), "reference": list(ref)} for kind, (pred, ref) in self.matches.items()
            },
            "reference_index": self.reference_index,
        }
