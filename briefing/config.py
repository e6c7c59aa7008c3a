"""Settings: flags, then environment, then the config file, then defaults.

Nothing here reads the environment or the disk by itself: the caller passes the
flags, the environment mapping and the config file path, so every source can be
tested and the precedence is one function (:func:`load_config`).

The config file is TOML (``brief config path`` shows where it is)::

    model = "gpt-4o-mini"
    base_url = "https://api.openai.com/v1"
    context_window = 128000

    [prices."gpt-4o-mini"]      # USD per million tokens, for --dry-run estimates
    prompt = 0.15
    completion = 0.60

The API key is read from flags or the environment only, never from the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from briefing.errors import ConfigError

# Environment variables brief reads, and the setting each one feeds.
ENV_VARS: dict[str, str] = {
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "BRIEF_MODEL": "model",
    "BRIEF_PROMPTS": "prompts_dir",
    "BRIEF_CACHE_DIR": "cache_dir",
}

# Tables of the config file that belong to other parts of brief (scheduled jobs, email).
# Sentences a story call shows the embedded model (Config.story_sentences): about 1,600
# tokens of news prose, a tenth of its window.
EMBEDDED_SENTENCES = 48
OTHER_SECTIONS = frozenset({"jobs", "smtp"})

# Settings that must not come from a file that may be shared or committed.
_SECRET = {"api_key"}


class Price(BaseModel):
    prompt: float = Field(ge=0, description="USD per million prompt tokens.")
    completion: float = Field(ge=0, description="USD per million completion tokens.")


class Config(BaseModel):
    """Everything a run needs to know, already resolved."""

    model_config = {"extra": "forbid"}

    api_key: str | None = None
    base_url: str | None = None
    model: str | None = None
    prompts_dir: Path | None = None
    cache_dir: Path | None = None
    model_path: Path | None = Field(default=None, description="GGUF for the embedded engine.")
    out_dir: Path = Path("briefings")
    formats: tuple[str, ...] = ("md", "html", "json")
    encoding: str = "cl100k_base"
    context_window: int = Field(default=16384, ge=1024)
    chunk_tokens: int = Field(default=1200, ge=64)
    chunk_overlap: int = Field(default=60, ge=0)
    # A story of four outlets needs ~2,000 tokens at the schema's bounds.
    max_output_tokens: int = Field(default=2048, ge=64)
    # True (None: the default): a story whose articles fit the context window is
    # written from them in one call; False: notes on each chunk first (map), then the
    # story from the notes (docs/PERFORMANCE.md, docs/QUALITY.md).
    direct: bool | None = None
    # Sentences of a story its one call shows: each article's lead, then those most of
    # its outlets say (briefing/salience.py). None: all of them on a remote server,
    # EMBEDDED_SENTENCES on the embedded 1.5B model, which reads a long prompt slowly
    # and loosely.
    story_sentences: int | None = Field(default=None, ge=8)
    # The embedded model's server proposes tokens it finds in the prompt (n-gram
    # speculative decoding, briefing/engine.py); measured in docs/QUALITY.md.
    speculative: bool = False
    temperature: float = Field(default=0.0, ge=0, le=2)
    timeout: float = Field(default=300.0, gt=0)
    concurrency: int | None = Field(default=None, ge=1)
    # Prompt + completion tokens the whole run may spend (briefing/budget.py); None: no limit.
    max_tokens: int | None = Field(default=None, ge=1)
    # The briefing's language (BCP 47: en, ar, zh-Hant): the HTML page's lang and
    # direction. None: the articles' own (briefing/ingest.py, language_of).
    language: str | None = None
    keep_unverified: bool = False
    prices: dict[str, Price] = Field(default_factory=dict)

    @field_validator("formats", mode="before")
    @classmethod
    def _split_formats(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_chunk(cls, value: int, info: Any) -> int:
        chunk = info.data.get("chunk_tokens")
        if chunk is not None and value >= chunk:
            raise ValueError(f"must be smaller than chunk_tokens ({chunk})")
        return value

    @property
    def writes_directly(self) -> bool:
        """Whether a story that fits one call is written from its articles (``direct``)."""
        return self.direct if self.direct is not None else True

    @property
    def sentences_shown(self) -> int | None:
        """Most sentences a story's one call shows (``story_sentences``); None: all."""
        if self.story_sentences is not None:
            return self.story_sentences
        return EMBEDDED_SENTENCES if self.uses_embedded_model else None

    @property
    def uses_embedded_model(self) -> bool:
        """No endpoint configured: brief starts its own local model server."""
        return self.base_url is None and self.api_key is None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML config file; a missing file is an empty config."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}). Fix the file or move it away.") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror}).") from err
    for key in _SECRET & data.keys():
        raise ConfigError(
            f"{path}: '{key}' must not be stored in the config file. "
            "Remove it and set OPENAI_API_KEY in the environment instead."
        )
    return data


def load_config(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Config:
    """Resolve the settings: flags win over the environment, which wins over the file.

    ``flags`` holds only the options the user gave (``None`` values are ignored).
    """
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}  # where each value came from, for error messages
    file_data = read_config_file(path) if path is not None else {}
    for key, value in file_data.items():
        if key not in OTHER_SECTIONS:
            merged[key], origin[key] = value, f"config file {path}"
    for var, key in ENV_VARS.items():
        value = (env or {}).get(var)
        if value:
            merged[key], origin[key] = value, f"environment variable {var}"
    for key, value in (flags or {}).items():
        if value is not None:
            merged[key], origin[key] = value, "--" + key.replace("_", "-")
    try:
        return Config.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "config"
        source = origin.get(str(first["loc"][0])) if first["loc"] else None
        where = f" (from {source})" if source else ""
        raise ConfigError(f"setting '{field}'{where}: {first['msg']}.") from err
