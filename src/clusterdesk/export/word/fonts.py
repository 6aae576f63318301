"""The fonts of a document: body 仿宋_GB2312, title 方正小标宋简体, headings 黑体 / 楷体_GB2312, and the
substitutes Word and WPS try when one is not installed."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar



#: Substitutes tried in order by :meth:`DocFonts.resolve` and written to the
#: document's font table (``w:altName``, GB2312 charset) so Word/WPS pick a
#: Chinese face when the preferred one is not installed.
FONT_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "仿宋_GB2312": ("仿宋", "FangSong", "STFangsong", "华文仿宋", "宋体", "SimSun"),
    "仿宋": ("FangSong", "仿宋_GB2312", "STFangsong", "宋体", "SimSun"),
    "方正小标宋简体": ("方正小标宋_GBK", "华文中宋", "STZhongsong", "黑体", "SimHei", "宋体"),
    "方正小标宋_GBK": ("方正小标宋简体", "华文中宋", "STZhongsong", "黑体", "SimHei", "宋体"),
    "黑体": ("SimHei", "微软雅黑", "Microsoft YaHei", "STHeiti", "宋体"),
    "楷体_GB2312": ("楷体", "KaiTi", "STKaiti", "华文楷体", "宋体", "SimSun"),
    "楷体": ("KaiTi", "楷体_GB2312", "STKaiti", "华文楷体", "宋体", "SimSun"),
    "宋体": ("SimSun", "NSimSun", "新宋体", "STSong"),
}


@dataclass(frozen=True)
class DocFonts:
    """Font faces (Word font names) and sizes (points) of a document.

    Defaults follow GB/T 9704.  Sizes: 二号 22, 三号 16, 四号 14, 小四 12,
    五号 10.5.  ``latin`` is used for the ASCII/complex-script slots of every
    run (digits and Latin letters).

    Word stores a single face per run, so fallbacks are handled twice:
    :meth:`resolve` substitutes faces that are not installed (pass the
    family names available on the target machine, e.g. from
    ``QFontDatabase.families()``), and :func:`new_document` records
    :data:`FONT_FALLBACKS` in the font table for Word/WPS's own substitution.
    """

    body: str = "仿宋_GB2312"
    title: str = "方正小标宋简体"
    heading1: str = "黑体"
    heading2: str = "楷体_GB2312"
    table: str = "仿宋_GB2312"
    page_number: str = "宋体"
    latin: str = "Times New Roman"
    body_size: float = 16.0
    title_size: float = 22.0
    heading_size: float = 16.0
    table_size: float = 12.0
    small_size: float = 10.5
    page_number_size: float = 14.0

    _ROLES: ClassVar[tuple[str, ...]] = ("body", "title", "heading1", "heading2", "table", "page_number")

    def resolve(self, installed: Iterable[str],
                fallbacks: Mapping[str, Sequence[str]] = FONT_FALLBACKS) -> DocFonts:
        """Return a copy where every face not in *installed* is replaced by
        its first installed fallback (unchanged when none is installed, so
        the printing machine may still have it)."""
        have = {f.casefold() for f in installed}
        changes: dict[str, Any] = {}  # str faces, but replace() takes every field's type
        for role in self._ROLES:
            face = getattr(self, role)
            if face.casefold() in have:
                continue
            for alt in fallbacks.get(face, ()):
                if alt.casefold() in have:
                    changes[role] = alt
                    break
        return replace(self, **changes) if changes else self

    def east_asian_faces(self) -> list[str]:
        """Distinct East Asian faces used by this font set."""
        out: list[str] = []
        for role in self._ROLES:
            face = getattr(self, role)
            if face not in out:
                out.append(face)
        return out


# The fonts a document was created with, so helpers can default to them.
FONTS_BY_PART: "weakref.WeakKeyDictionary[Any, DocFonts]" = weakref.WeakKeyDictionary()


def document_fonts(obj: Any) -> DocFonts:
    """The :class:`DocFonts` used by :func:`new_document` for the document
    that *obj* (Document, cell, paragraph, header…) belongs to; the default
    ``DocFonts()`` for documents not made by :func:`new_document`."""
    part = getattr(obj, "part", None)
    if part is not None:
        try:
            return FONTS_BY_PART.get(part) or FONTS_BY_PART.get(part.package.main_document_part) \
                or DocFonts()
        except (AttributeError, TypeError):
            pass
    return DocFonts()
