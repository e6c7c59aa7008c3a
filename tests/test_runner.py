"""`brief make` end to end on the embedded local model (marked `model`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import SEEDS

from briefing import ingest, runner, weights
from briefing.config import load_config
from briefing.console import cache_dir
from briefing.models import Briefing
from briefing.sourcetext import normalise

pytestmark = pytest.mark.model

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> runner.Result:
    out = tmp_path_factory.mktemp("briefings")
    config = load_config({"out_dir": out}, env={}, path=None)
    where = cache_dir(config)
    model = weights.default_model_path(where)
    if not weights.engine_available() or not model.is_file():
        pytest.skip(
            "the embedded model is not installed: run ./setup.sh "
            "(or pip install -e '.[local]' && brief model install)"
        )
    return runner.make(SEEDS, config, now=NOW, cache_dir=where, use_cache=False)


def test_seeds_briefing_names_actors_risks_and_cites_both(seeds_run: runner.Result) -> None:
    assert sorted(p.suffix for p in seeds_run.files) == [".html", ".json", ".md"]
    briefing = Briefing.model_validate_json(
        next(p for p in seeds_run.files if p.suffix == ".json").read_text()
    )
    assert briefing.problems == []
    assert len(briefing.stories) == 1, [s.headline for s in briefing.stories]
    story = briefing.stories[0]
    assert story.sources == [1, 2]
    names = " | ".join(actor.name for actor in story.actors)
    assert "Stoltenberg" in names and "Putin" in names, names
    assert "Biden" in names or "Medvedev" in names, names
    for actor in story.actors:
        assert len(actor.position.split()) >= 4, actor
    risks = " | ".join(f"{r.risk} {r.exposed}" for r in story.risks).lower()
    assert "escalat" in risks or "nuclear" in risks, risks
    outlets = [s.outlet for s in briefing.sources]
    assert all(outlet in story.divergence for outlet in outlets), story.divergence
    cited = {int(c.split(".")[0]) for item in [*story.actors, *story.risks] for c in item.cites}
    cited |= {f.source for f in story.framings}
    assert cited == {1, 2}, f"cites only {cited}"
    markdown = next(p for p in seeds_run.files if p.suffix == ".md").read_text()
    assert "Stoltenberg" in markdown and "[1]" in markdown and "[2]" in markdown


def test_seeds_briefing_has_no_invented_quote(seeds_run: runner.Result) -> None:
    briefing = Briefing.model_validate_json(
        next(p for p in seeds_run.files if p.suffix == ".json").read_text()
    )
    assert briefing.grounding.kept_unverified == 0
    assert not [a for s in briefing.stories for a in s.actors if a.unverified]
    articles, _ = ingest.read_folder(SEEDS)
    texts = [normalise(a.text) for a in articles]
    data = json.loads(next(p for p in seeds_run.files if p.suffix == ".json").read_text())
    for story in data["stories"]:
        for actor in story["actors"]:
            for part in normalise(actor["quote"]).split("..."):
                part = part.strip(" \"'.,;:")
                if part:
                    assert any(part in text for text in texts), actor["quote"]
    usage = data["usage"]
    # One call on the story's sentences; its summary is theirs, verbatim.
    assert set(usage["by_step"]) == {"direct"} and usage["by_step"]["direct"]["calls"] == 1
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    summary = normalise(data["stories"][0]["summary"])
    assert summary
    for sentence in re.split(r"(?<=[.!?])\s+", summary):
        assert any(sentence.strip() in text for text in texts), sentence


@pytest.fixture(scope="module")
def seeds_notes_run(tmp_path_factory: pytest.TempPathFactory) -> runner.Result:
    """The seeds with notes on each article first (``--notes-first``)."""
    out = tmp_path_factory.mktemp("notes")
    config = load_config({"out_dir": out, "direct": False}, env={}, path=None)
    return runner.make(SEEDS, config, now=NOW, cache_dir=cache_dir(config), use_cache=False)


def test_seeds_with_notes_first_make_the_story_too(
    seeds_run: runner.Result, seeds_notes_run: runner.Result
) -> None:
    briefing = seeds_notes_run.briefing
    assert briefing.usage.by_step["map"].calls == 2 and briefing.usage.by_step["story"].calls == 1
    [story] = briefing.stories
    assert story.sources == [1, 2]
    names = " ".join(a.name for a in story.actors)
    assert "Stoltenberg" in names and "Putin" in names, names
    assert story.risks and story.framings
    assert briefing.grounding.kept_unverified == 0
    texts = [normalise(a.text) for a in ingest.read_folder(SEEDS)[0]]
    for actor in story.actors:  # a quote left after grounding is a quotation of a source
        assert all(
            part.strip(" \"'.,;:") in " ".join(texts)
            for part in normalise(actor.quote).split("...")
        ), actor.quote


def test_seeds_markdown_is_readable(seeds_run: runner.Result, tmp_path: Path) -> None:
    html = next(p for p in seeds_run.files if p.suffix == ".html").read_text()
    assert "<script" not in html.lower()
    assert "Stoltenberg" in html
