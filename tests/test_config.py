"""Settings: precedence of flags, environment, config file and defaults; file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefing.config import EMBEDDED_SENTENCES, Config, Price, load_config, read_config_file
from briefing.errors import ConfigError


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


FILE = 'model = "file-model"\nbase_url = "http://file.example/v1"\n'
ENV = {"BRIEF_MODEL": "env-model", "OPENAI_BASE_URL": "http://env.example/v1"}
FLAGS = {"model": "flag-model", "base_url": "http://flag.example/v1"}


# --- precedence -----------------------------------------------------------------------------


def test_defaults_without_any_source() -> None:
    config = load_config()
    assert config == Config()
    assert (config.model, config.base_url, config.api_key) == (None, None, None)
    assert config.formats == ("md", "html", "json")


def test_file_beats_defaults(tmp_path: Path) -> None:
    config = load_config(path=toml(tmp_path, FILE))
    assert (config.model, config.base_url) == ("file-model", "http://file.example/v1")


def test_env_beats_file(tmp_path: Path) -> None:
    config = load_config(env=ENV, path=toml(tmp_path, FILE))
    assert (config.model, config.base_url) == ("env-model", "http://env.example/v1")


def test_flags_beat_env_and_file(tmp_path: Path) -> None:
    config = load_config(flags=FLAGS, env=ENV, path=toml(tmp_path, FILE))
    assert (config.model, config.base_url) == ("flag-model", "http://flag.example/v1")


def test_each_setting_comes_from_its_highest_source(tmp_path: Path) -> None:
    config = load_config(
        flags={"model": "flag-model", "base_url": None},
        env={"OPENAI_BASE_URL": "http://env.example/v1"},
        path=toml(tmp_path, FILE + "context_window = 32000\n"),
    )
    assert config.model == "flag-model"
    assert config.base_url == "http://env.example/v1"  # a None flag is "not given"
    assert config.context_window == 32000
    assert config.chunk_tokens == Config().chunk_tokens


def test_empty_environment_variable_is_not_set(tmp_path: Path) -> None:
    config = load_config(env={"BRIEF_MODEL": ""}, path=toml(tmp_path, FILE))
    assert config.model == "file-model"


def test_api_key_and_paths_from_environment() -> None:
    env = {
        "OPENAI_API_KEY": "sk-test-123",
        "BRIEF_PROMPTS": "/srv/prompts",
        "BRIEF_CACHE_DIR": "/srv/cache",
        "UNRELATED": "x",
    }
    config = load_config(env=env)
    assert config.api_key == "sk-test-123"
    assert config.prompts_dir == Path("/srv/prompts")
    assert config.cache_dir == Path("/srv/cache")


def test_api_key_flag_beats_environment() -> None:
    config = load_config(flags={"api_key": "sk-flag"}, env={"OPENAI_API_KEY": "sk-env"})
    assert config.api_key == "sk-flag"


# --- the config file --------------------------------------------------------------------------


def test_api_key_in_file_is_rejected(tmp_path: Path) -> None:
    path = toml(tmp_path, FILE + 'api_key = "sk-leaked"\n')
    with pytest.raises(ConfigError) as err:
        load_config(env={"OPENAI_API_KEY": "sk-env"}, path=path)
    message = str(err.value)
    assert str(path) in message
    assert "api_key" in message
    assert "OPENAI_API_KEY" in message
    assert "sk-leaked" not in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, 'model = "unterminated\n')
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_config(path=path)
    assert str(path) in str(err.value)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot read") as err:
        read_config_file(folder)
    assert str(folder) in str(err.value)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert read_config_file(tmp_path / "absent.toml") == {}
    assert load_config(path=tmp_path / "absent.toml") == Config()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('chunk_tokens = "big"\n', "chunk_tokens"),
        ("chunk_tokens = 200\nchunk_overlap = 200\n", "chunk_overlap"),
        ("chunk_overlap = 2000\n", "chunk_overlap"),  # default chunk_tokens is 1200
        ("context_window = 100\n", "context_window"),
        ("temperature = 5\n", "temperature"),
        ('keep_unverified = "maybe"\n', "keep_unverified"),
    ],
)
def test_wrong_value_names_field_and_file(tmp_path: Path, text: str, field: str) -> None:
    path = toml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path=path)
    assert f"'{field}'" in str(err.value)
    assert str(path) in str(err.value)


def test_wrong_flag_value_does_not_blame_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, FILE)
    with pytest.raises(ConfigError, match="'chunk_tokens'") as err:
        load_config(flags={"chunk_tokens": 10}, path=path)
    assert str(path) not in str(err.value)


def test_wrong_flag_overriding_the_file_does_not_blame_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, "chunk_tokens = 800\n")
    with pytest.raises(ConfigError, match="'chunk_tokens'") as err:
        load_config(flags={"chunk_tokens": 10}, path=path)
    assert str(path) not in str(err.value)


def test_overlap_must_stay_below_chunk_tokens_from_flags() -> None:
    with pytest.raises(ConfigError, match=r"chunk_overlap.*smaller than chunk_tokens"):
        load_config(flags={"chunk_tokens": 300, "chunk_overlap": 300})
    assert load_config(flags={"chunk_tokens": 300, "chunk_overlap": 299}).chunk_overlap == 299


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    path = toml(tmp_path, FILE + "chunk_size = 800\n")
    with pytest.raises(ConfigError, match="'chunk_size'") as err:
        load_config(path=path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("formats", ["md,html", " md , html ,", ["md", "html"]])
def test_formats_from_text_or_list(tmp_path: Path, formats: str | list[str]) -> None:
    assert load_config(flags={"formats": formats}).formats == ("md", "html")


def test_formats_from_file(tmp_path: Path) -> None:
    assert load_config(path=toml(tmp_path, 'formats = "json"\n')).formats == ("json",)


def test_prices_table(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        FILE + '[prices."gpt-4o-mini"]\nprompt = 0.15\ncompletion = 0.60\n'
        '[prices."qwen2.5:7b"]\nprompt = 0\ncompletion = 0\n',
    )
    config = load_config(path=path)
    assert config.prices == {
        "gpt-4o-mini": Price(prompt=0.15, completion=0.60),
        "qwen2.5:7b": Price(prompt=0, completion=0),
    }


def test_negative_price_is_rejected(tmp_path: Path) -> None:
    path = toml(tmp_path, '[prices."m"]\nprompt = -1\ncompletion = 0\n')
    with pytest.raises(ConfigError, match=r"prices\.m\.prompt"):
        load_config(path=path)


def test_wrong_price_names_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, '[prices."m"]\nprompt = "cheap"\ncompletion = 0\n')
    with pytest.raises(ConfigError) as err:
        load_config(path=path)
    assert str(path) in str(err.value)


def test_other_sections_are_ignored(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        FILE + '[jobs.morning]\nfolder = "~/inbox"\nat = "06:00"\n'
        '[smtp]\nhost = "mail.example"\nport = 587\n',
    )
    config = load_config(path=path)
    assert config.model == "file-model"
    assert "jobs" not in config.model_dump() and "smtp" not in config.model_dump()
    # ... but they are still in the file for the parts of brief that use them.
    assert read_config_file(path)["smtp"] == {"host": "mail.example", "port": 587}


# --- derived ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "env", "embedded"),
    [
        ({}, {}, True),
        ({"base_url": "http://localhost:11434/v1"}, {}, False),
        ({}, {"OPENAI_API_KEY": "sk-test"}, False),
        ({}, {"BRIEF_MODEL": "gpt-4o-mini"}, True),
    ],
)
def test_uses_embedded_model(flags: dict[str, str], env: dict[str, str], embedded: bool) -> None:
    assert load_config(flags=flags, env=env).uses_embedded_model is embedded


def test_config_rejects_unknown_fields_directly() -> None:
    with pytest.raises(ValueError, match="extra"):
        Config.model_validate({"jobs": {}})


def test_one_call_stories_by_default_and_an_excerpt_on_the_embedded_model() -> None:
    assert Config(base_url="http://127.0.0.1:9/v1").writes_directly
    assert Config(api_key="sk-x").writes_directly
    assert Config().writes_directly
    assert Config().sentences_shown == EMBEDDED_SENTENCES  # the small model reads less
    assert Config(api_key="sk-x").sentences_shown is None  # all of them
    assert Config(api_key="sk-x", story_sentences=30).sentences_shown == 30
    assert Config(direct=True).writes_directly
    assert not Config(base_url="http://127.0.0.1:9/v1", direct=False).writes_directly
    flags = load_config({"direct": False}, {"OPENAI_API_KEY": "sk-x"})
    assert not flags.writes_directly
