"""Evidence file names that every file system takes."""

from __future__ import annotations

import re
from collections.abc import Iterator


# --------------------------------------------------------------------------- file names


_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}


def base_name(filename: str) -> str:
    return re.split(r"[\\/]", filename)[-1].strip()


def safe_filename(filename: str) -> str:
    name = _BAD_NAME_CHARS.sub("_", base_name(filename)).rstrip(" .")
    if not name:
        name = "证明材料"
    if name.split(".")[0].upper() in _RESERVED_NAMES:
        name = "_" + name
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        if dot and len(suffix) <= 20:
            name = stem[: 200 - len(suffix) - 1] + "." + suffix
        else:
            name = name[:200]
    return name


def candidate_names(name: str) -> Iterator[str]:
    yield name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    for i in range(2, 10000):
        yield f"{stem} ({i}).{suffix}" if suffix else f"{stem} ({i})"
