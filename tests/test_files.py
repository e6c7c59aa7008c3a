from __future__ import annotations

import os
from pathlib import Path

import pytest

from briefing import files
from briefing.errors import RenderError


def test_atomic_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "b.md"
    target.write_text("old", encoding="utf-8")
    files.atomic_write(target, "new ünïcode\n")
    assert target.read_bytes() == "new ünïcode\n".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["b.md"]


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.html"
    target.write_text("old", encoding="utf-8")

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(RenderError, match=r"b\.html.*No space left"):
        files.atomic_write(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.html"]


def test_atomic_write_failure_while_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(RenderError, match="Input/output error"):
        files.atomic_write(tmp_path / "b.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_rejects_unencodable_text(tmp_path: Path) -> None:
    target = tmp_path / "b.md"
    with pytest.raises(RenderError, match=r"b\.md"):
        files.atomic_write(target, "lone surrogate \ud800")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="missing"):
        files.atomic_write(tmp_path / "missing" / "b.md", "x")
