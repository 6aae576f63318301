"""Text hygiene shared by input handling, the store and every exporter (the base layer).

Word (.docx) and Excel (.xlsx) files are XML, and XML 1.0 forbids most C0
control characters, the non-characters U+FFFE/U+FFFF and unpaired UTF-16
surrogates.  python-docx raises "All strings must be XML compatible" and
openpyxl raises ``IllegalCharacterError`` when it meets one of them.  Text
pasted from Word frequently carries U+000B (vertical tab, Word's manual line
break), so that one is turned into a newline rather than dropped.

Call :func:`clean_text` when text enters the application (form input, Excel
import) *and* again just before export; it is idempotent and cheap for text
that is already clean.

Text from other PCs may also carry C1 controls (U+0080–U+009F) and the
Unicode bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE shows
``佐证\u202efdp.exe`` as "佐证exe.pdf").  No form answer needs them, so
:func:`clean_text` drops them too; :func:`has_controls` and
:func:`strip_controls` are for names (file names, titles, folder names and
whatever is printed to a terminal).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["clean_text", "clean_value", "display_width", "char_width", "has_controls", "strip_controls",
           "CONTROLS"]

#: Bidirectional formatting characters: ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: What must never appear in a name shown to a user or used as a path: C0, DEL, C1, the bidi
#: controls, and the line / paragraph separators.
CONTROLS = f"\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}\u2028\u2029"
_CONTROLS_RE = re.compile(f"[{CONTROLS}]")

# Characters removed outright.  \t (09), \n (0A) and \r (0D) are legal XML;
# \r is normalised separately, \x0b becomes a newline.
_ILLEGAL_RE = re.compile(f"[\x00-\x08\x0c\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}\ufffe\uffff\ud800-\udfff]")
# Quick test: does the string need any work at all?
_NEEDS_WORK_RE = re.compile(f"[\x00-\x08\x0b\x0c\r\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}\ufffe\uffff\ud800-\udfff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _repair_surrogate_pairs(s: str) -> str:
    """Join surrogate *pairs* that arrived as two code points (e.g. from a
    UTF-16 source decoded with ``surrogatepass``) into the real character and
    drop the unpaired ones."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def clean_text(s: str | None) -> str:
    """Return *s* with everything that cannot be stored in XML removed.

    * ``None`` becomes ``""``.
    * ``\\r\\n`` and lone ``\\r`` become ``\\n``.
    * ``\\x0b`` (Word's manual line break when pasted) becomes ``\\n``.
    * ``\\x00``–``\\x08``, ``\\x0c``, ``\\x0e``–``\\x1f``, DEL and C1
      (U+007F–U+009F), the bidi controls, U+FFFE, U+FFFF and unpaired
      surrogates are removed; a surrogate pair spelled as two code
      points is joined into the proper character.
    * Tabs and newlines are kept; nothing else is altered (no trimming, no
      Unicode normalisation), so clean text round-trips unchanged.
    """
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    if not _NEEDS_WORK_RE.search(s):
        return s
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "\x0b" in s:
        s = s.replace("\x0b", "\n")
    if _SURROGATE_RE.search(s):
        s = _repair_surrogate_pairs(s)
    return _ILLEGAL_RE.sub("", s)


def has_controls(s: str) -> bool:
    """Whether a name carries a control character (C0, DEL, C1, bidi, line separators)."""
    return bool(_CONTROLS_RE.search(s))


def strip_controls(s: str, replacement: str = "") -> str:
    """A name with every control character (see :data:`CONTROLS`) replaced."""
    return _CONTROLS_RE.sub(replacement, s)


def clean_value(value: Any) -> Any:
    """:func:`clean_text` for strings; any other value is returned unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    return value


def char_width(ch: str) -> int:
    """Display width of one character: 2 for East Asian wide/full-width
    characters (汉字, full-width punctuation), 0 for combining marks, else 1."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class _ExtraWidth(dict):
    """char -> its width minus 1, computed once per character (a 10,000-row list asks often)."""

    def __missing__(self, ch: str) -> int:
        extra = self[ch] = char_width(ch) - 1
        return extra


_EXTRA_WIDTH = _ExtraWidth()


def display_width(s: str) -> int:
    """Width of the longest line of *s* in "Latin character cells"; East Asian
    wide characters count as 2 (used for Excel column widths)."""
    if not s:
        return 0
    best = 0
    for line in s.split("\n"):
        if line.isascii():
            w = len(line)
        else:
            w = len(line) + sum(map(_EXTRA_WIDTH.__getitem__, line))
        if w > best:
            best = w
    return best
