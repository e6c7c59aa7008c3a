from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from briefing import files, render
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


# --- a briefing's files switch as one set (issue 21) ----------------------------------------

OLD = {"md": "old markdown", "html": "<p>old page</p>", "json": '{"old": true}'}


def _old_set(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for ext, text in OLD.items():
        (out / f"2026-11-22.{ext}").write_text(text, encoding="utf-8")


def _full_disk_on(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """The disk fills up while the ``nth`` file (1-based) is flushed: ENOSPC."""
    real = os.fsync
    flushed = 0

    def fsync(fd: int) -> None:
        nonlocal flushed
        if stat.S_ISREG(os.fstat(fd).st_mode):
            flushed += 1
            if flushed == nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def _as_before(out: Path) -> None:
    """The old set, whole, and nothing else: no new file, no temporary."""
    assert sorted(p.name for p in out.iterdir()) == sorted(f"2026-11-22.{e}" for e in OLD)
    for ext, text in OLD.items():
        assert (out / f"2026-11-22.{ext}").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("nth", [2, 3])
def test_a_full_disk_mid_set_leaves_the_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    """The disk fills up on the second or third file of a briefing: before, the new
    .md stood beside the old .html and .json; now the old set is whole."""
    from test_render import make_briefing

    out = tmp_path / "out"
    _old_set(out)
    _full_disk_on(monkeypatch, nth)
    with pytest.raises(RenderError, match=r"2026-11-22\.(html|json).*No space left"):
        render.write_briefing(make_briefing(), out, "2026-11-22", render.FORMATS)
    _as_before(out)


@pytest.mark.parametrize("failing", [2, 3])
def test_a_rename_failing_midway_puts_the_old_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    from test_render import make_briefing

    out = tmp_path / "out"
    _old_set(out)
    real = os.replace
    renamed = 0

    def replace(src: Any, dst: Any) -> None:
        nonlocal renamed
        if Path(src).name.endswith(".tmp") and not Path(dst).name.endswith(".tmp"):
            renamed += 1
            if renamed == failing:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(RenderError, match="Input/output error"):
        render.write_briefing(make_briefing(), out, "2026-11-22", render.FORMATS)
    _as_before(out)


def test_a_failed_set_removes_the_files_that_were_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No old set: a failure on the last file leaves no file of the new one."""
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("c.txt"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(RenderError, match=r"c\.txt"):
        files.write_set({tmp_path / n: n for n in ("a.txt", "b.txt", "c.txt")})
    assert list(tmp_path.iterdir()) == []


def test_a_set_is_written_whole(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    files.write_set({tmp_path / "a.txt": "new a", tmp_path / "b.txt": "new b"})
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert written == {"a.txt": "new a", "b.txt": "new b"}
