"""`brief run JOB` with feeds, `brief sources`, and the Atom feed of a job's briefings.

The feeds come from a real HTTP server on 127.0.0.1 (tests/feed_server.py), the
model's answers from the fake OpenAI server (tests/fake_openai.py); the clock is
passed in.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result
from fake_openai import FakeServer
from feed_server import RSS, FeedServer, fetcher, serve_all

from briefing import archive, jobs, schedule, sources
from briefing.cli import cli as main
from briefing.errors import EXIT_OK, EXIT_PARTIAL, FeedError, JobError

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
GOOD = ("ledger", "summaries", "capitalwire", "tribune")
BAD = ("broken", "garbage", "hangs", "huge")


class FeedJob:
    """Job 'morning' with feeds, its config file, inbox, output, state and cache."""

    def __init__(self, tmp: Path, model: FakeServer, web: FeedServer, names: tuple[str, ...]):
        self.tmp, self.model, self.web = tmp, model, web
        self.inbox, self.out, self.state = tmp / "inbox", tmp / "briefings", tmp / "state"
        self.config = tmp / "config.toml"
        self.config.write_text(f'base_url = "{model.base_url}"\n')
        job = schedule.make_job("morning", input=self.inbox, at="07:00", out=self.out)
        schedule.add(
            job,
            config_path=self.config,
            base_command=["brief"],
            where=schedule.Where(tabfile=tmp / "crontab"),
        )
        feeds = serve_all(web)
        for name in names:
            sources.add(self.config, "morning", feeds[name].url, name=name)

    def run(self, now: dt.datetime) -> jobs.RunResult:
        return jobs.run_job(
            "morning",
            config_path=self.config,
            env={},
            now=lambda: now,
            state_dir=self.state,
            cache_dir=lambda config: self.tmp / "cache",
            fetcher=fetcher(),
        )


def test_a_feed_job_briefs_the_good_feeds_and_names_the_bad(
    tmp_path: Path, fake_server: FakeServer, web: FeedServer
) -> None:
    job = FeedJob(tmp_path, fake_server, web, GOOD + BAD)
    started = time.monotonic()
    first = job.run(NOW)
    assert time.monotonic() - started < 60
    assert first.status == "partial" and first.exit_code == EXIT_PARTIAL, first.message
    assert first.briefing is not None
    left_out = {p.path: p.reason for p in first.briefing.problems}
    assert set(left_out) == {f"feed {name}" for name in BAD}
    outlets = {s.outlet for s in first.briefing.sources}
    assert set(GOOD) <= outlets, outlets
    # the entry before the broken feed's fault was kept (the same page as a ledger
    # article, so it is briefed as that article's copy)
    assert len(list((job.inbox / "broken").glob("*.md"))) == 1
    calls = len(fake_server.requests)
    assert calls > 0
    html = (job.out / "2026-11-22.html").read_text()
    assert "feed hangs" in html and "no complete answer" in html

    # The next morning: the good feeds answer 304, the bad fail again; no model call
    asked = len(web.requests)
    second = job.run(NOW + dt.timedelta(days=1))
    assert len(fake_server.requests) == calls
    assert second.briefing is None and second.status == "partial"
    assert {p.path for p in second.feed_problems} == {f"feed {name}" for name in BAD}
    feeds_again = {path for path, _ in web.requests[asked:]}
    assert not any(path.startswith("/pages/") for path in feeds_again)
    conditional = [h for p, h in web.requests[asked:] if p.endswith(("ledger.rss", ".json"))]
    assert conditional and all("If-None-Match" in h for h in conditional)
    assert (
        job.state.joinpath("morning", "run.log")
        .read_text()
        .splitlines()[-1]
        .startswith("2026-11-23T07:00:00+00:00 partial: nothing new")
    )


def test_rerunning_a_finished_day_fetches_nothing_and_calls_no_model(
    tmp_path: Path, fake_server: FakeServer, web: FeedServer
) -> None:
    job = FeedJob(tmp_path, fake_server, web, GOOD)
    first = job.run(NOW)
    assert first.status == "ok" and first.exit_code == EXIT_OK, first.message
    calls, outputs = len(fake_server.requests), sorted(p.name for p in job.out.iterdir())
    inbox = {p: p.read_bytes() for p in job.inbox.rglob("*.md")}
    asked = len(web.requests)
    again = job.run(NOW + dt.timedelta(hours=2))
    assert again.status == "nothing new" and again.exit_code == EXIT_OK, again.message
    assert len(fake_server.requests) == calls
    assert sorted(p.name for p in job.out.iterdir()) == outputs
    assert {p: p.read_bytes() for p in job.inbox.rglob("*.md")} == inbox
    assert len(web.requests) - asked == len(GOOD)  # one conditional GET per feed
    assert all("If-None-Match" in h for _, h in web.requests[asked:])


def test_the_output_folder_carries_a_valid_atom_feed(
    tmp_path: Path, fake_server: FakeServer, web: FeedServer
) -> None:
    job = FeedJob(tmp_path, fake_server, web, ("ledger", "capitalwire"))
    job.run(NOW)
    web.file("/feeds/summaries.atom", "summaries.atom", "application/atom+xml")
    sources.add(job.config, "morning", web.url("/feeds/summaries.atom"), name="summaries")
    job.run(NOW + dt.timedelta(days=1))
    path = job.out / "feed.xml"
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert parsed.feed.title == "Briefings: job morning"
    assert [e.link for e in parsed.entries] == ["2026-11-23.html", "2026-11-22.html"]
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author/" + ATOM + "name"):
        assert root.find(ATOM + tag) is not None and root.findtext(ATOM + tag), tag
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2 and len({e.findtext(f"{ATOM}id") for e in entries}) == 2
    for entry in entries:
        for tag in ("id", "title", "updated", "summary", "content"):
            assert entry.findtext(ATOM + tag), tag
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    assert root.findtext(f"{ATOM}updated") == "2026-11-23T07:00:00Z"
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    job.run(NOW + dt.timedelta(days=2))  # nothing new: the feed is left as it was
    again = ET.parse(path).getroot().findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in again] == ids


def test_day_two_links_its_continuing_story_to_day_one_and_leads_with_the_news(
    tmp_path: Path, fake_server: FakeServer, web: FeedServer
) -> None:
    job = FeedJob(tmp_path, fake_server, web, ("ledger", "capitalwire", "summaries"))
    first = job.run(NOW)
    assert first.status == "ok" and first.briefing is not None, first.message
    cable = next(s for s in first.briefing.stories if "cable" in s.grouped_by)
    assert all(s.continues is None for s in first.briefing.stories)  # nothing before day 1
    day_one = {p.name: p.read_bytes() for p in job.out.glob("2026-11-22.*")}
    # Overnight the ledger's feed gains a follow-up on the cable; the others are unchanged.
    web.file(
        "/feeds/ledger.rss", "ledger-day2.rss", RSS, last_modified="Sat, 21 Nov 2026 18:40:00 GMT"
    )
    second = job.run(NOW + dt.timedelta(days=1))
    assert second.status == "ok" and second.briefing is not None, second.message
    assert "1 new or changed article in 1 story (1 continuing an earlier one);" in second.message
    assert [s.title for s in second.briefing.sources] == [
        "Finland charges Sea Merlin captain as divers raise anchor from Baltic cable route"
    ]
    story = second.briefing.stories[0]
    assert story.continues is not None and story.new_since is not None
    assert (story.continues.briefing, story.continues.story) == ("2026-11-22", cable.number)
    assert story.continues.link == f"2026-11-22.html#story-{cable.number}"
    assert story.continues.headline == cable.headline
    new = story.new_since
    # Koskinen speaks only on day 2; Lavrentyev and Mägi were in day 1's story already
    assert any("Koskinen" in name for name in new.actors), new
    assert not any("Lavrentyev" in name or "Mägi" in name for name in new.actors), new
    assert new.facts and all(f.text for f in new.facts)
    day_one_said = " ".join(archive_said(job.out, "2026-11-22"))
    assert all(f.text not in day_one_said for f in new.facts)
    # Day 1 is not rewritten; day 2 leads its story with the link and the news.
    assert {p.name: p.read_bytes() for p in job.out.glob("2026-11-22.*")} == day_one
    md = (job.out / "2026-11-23.md").read_text(encoding="utf-8")
    lead = md.index(f"*Continues [{cable.headline}](2026-11-22.html#story-{cable.number})")
    assert lead < md.index("**New since 2026-11-22**") < md.index("**Key actors**")
    page = (job.out / "2026-11-23.html").read_text(encoding="utf-8")
    assert f'<a href="2026-11-22.html#story-{cable.number}">' in page
    assert "<h3>New since 2026-11-22</h3>" in page
    # The archive shows each story's days; the Atom feed has both briefings.
    index = (job.out / "index.html").read_text(encoding="utf-8")
    assert index.count("continues the story of") == 1
    assert f'<a href="2026-11-22.html#story-{cable.number}">2026-11-22</a>' in index
    parsed = feedparser.parse((job.out / "feed.xml").read_bytes())
    assert [e.link for e in parsed.entries] == ["2026-11-23.html", "2026-11-22.html"]


def archive_said(out: Path, stem: str) -> list[str]:
    entry = next(e for e in archive.load(out).briefings if e.stem == stem)
    return [text for record in entry.story_records for text in record.said]


# --- brief sources --------------------------------------------------------------------------


def cli(config: Path, *args: str) -> Result:
    env = {"XDG_STATE_HOME": str(config.parent / "xdg-state"), "OPENAI_API_KEY": None}
    return CliRunner().invoke(main, [*args, "--config", str(config)], env=env)


def test_sources_add_list_remove(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# my settings\nmodel = 'm'\n")
    added = cli(tmp_path / "config.toml", "sources", "add", "https://x.example/rss", "--job", "j")
    assert added.exit_code == 1 and "no job 'j'" in added.stderr
    schedule_add = cli(
        config, "schedule", "add", "j", "--input", str(tmp_path / "in"), "--at", "07:00",
        "--crontab", str(tmp_path / "tab"),
    )  # fmt: skip
    assert schedule_add.exit_code == 0, schedule_add.output
    one = cli(config, "sources", "add", "https://feeds.example.org/world/rss.xml", "--job", "j")
    assert one.exit_code == 0 and "feeds-example-org-world" in one.stdout, one.output
    add = ("sources", "add")
    two = cli(config, *add, "https://b.example/feed", "--job", "j", "--name", "BBC News")
    assert two.exit_code == 0, two.output
    listed = cli(config, "sources", "list")
    assert listed.stdout.splitlines() == [
        "j: https://feeds.example.org/world/rss.xml -> feeds-example-org-world/",
        "j: https://b.example/feed (BBC News) -> bbc-news/",
    ]
    text = config.read_text()
    assert text.startswith("# my settings") and "sources = [" in text
    # adding the job again keeps its feeds
    again = cli(
        config, "schedule", "add", "j", "--input", str(tmp_path / "in"), "--at", "08:00",
        "--crontab", str(tmp_path / "tab"),
    )  # fmt: skip
    assert again.exit_code == 0
    assert len(schedule.get_job(config, "j").sources) == 2
    clash = cli(config, *add, "https://c.example/rss", "--job", "j", "--name", "bbc news")
    assert clash.exit_code == 1 and "another --name" in clash.stderr
    bad = cli(config, "sources", "add", "feeds.example.org/rss", "--job", "j")
    assert bad.exit_code == 1 and "starting with http:// or https://" in bad.stderr
    gone = cli(config, "sources", "remove", "BBC News", "--job", "j")
    assert gone.exit_code == 0 and "removed feed BBC News" in gone.stdout
    missing = cli(config, "sources", "remove", "BBC News", "--job", "j")
    assert missing.exit_code == 1 and "has no feed 'BBC News'" in missing.stderr
    assert [s.url for s in schedule.get_job(config, "j").sources] == [
        "https://feeds.example.org/world/rss.xml"
    ]


def test_source_library_errors() -> None:
    with pytest.raises(FeedError, match="not a feed URL"):
        sources.check_url("ftp://x.example/feed")
    with pytest.raises(JobError):
        sources.add(Path("/nonexistent/config.toml"), "j", "https://x.example/rss")


def test_cli_run_names_a_failing_feed_on_stderr(
    tmp_path: Path, fake_server: FakeServer, web: FeedServer
) -> None:
    job = FeedJob(tmp_path, fake_server, web, ("ledger",))
    sources.add(job.config, "morning", web.url("/feeds/gone.rss"), name="gone")
    env = {
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "BRIEF_CACHE_DIR": str(tmp_path / "cache"),
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
    }
    args = ["run", "morning", "--quiet", "--config", str(job.config)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert result.stdout == ""
    assert "brief: left out feed gone: HTTP 404 (no feed there any more" in result.stderr
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == EXIT_PARTIAL and again.stdout == ""
    assert again.stderr.count("left out feed gone") == 1
    assert os.path.exists(tmp_path / "xdg-state")
