"""A job's news feeds: parsing (RSS, Atom, JSON Feed; briefing/syndication.py), polite
fetching (briefing/fetch.py), saving (briefing/feeds.py).

Feeds and pages come from a real HTTP server on 127.0.0.1 (tests/feed_server.py)
serving files in the formats of real public feeds (tests/data/feeds/) and the
example articles' HTML pages; nothing goes beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from feed_server import ATOM, FEEDS, JSON, RSS, FeedServer, fetcher, serve_all

from briefing import feeds, formats, ingest, syndication
from briefing.errors import FeedError
from briefing.fetch import Fetcher, Page
from briefing.models import Article
from briefing.schedule import FeedSource


def read_inbox(inbox: Path) -> list[Article]:
    found = list(ingest.iter_folder(inbox))
    bad = [item for item in found if not isinstance(item, Article)]
    assert not bad, bad
    return found  # type: ignore[return-value]


# --- parsing --------------------------------------------------------------------------------


def test_rss2_with_full_content() -> None:
    parsed = syndication.parse((FEEDS / "ledger-full.rss").read_bytes(), "http://h/rss", RSS)
    assert parsed.title == "The Northern Ledger | World" and parsed.broken is None
    first, second = parsed.entries
    assert (
        first.key == "https://northernledger.example/business/2026/11/20/bank-of-england-split-cut"
    )
    assert first.published == "2026-11-20T06:00:00Z"
    assert second.published == "2026-11-20T16:30:00Z"
    assert first.content and "Imogen Shah" in first.content


def test_atom_relative_links_resolve_against_xml_base_and_feed_url() -> None:
    parsed = syndication.parse(
        (FEEDS / "summaries.atom").read_bytes(), "http://h:8/feeds/s.atom", ATOM
    )
    links = [e.link for e in parsed.entries]
    assert links == [
        "http://h:8/pages/meridian-boe-rates.html",
        "http://h:8/pages/techcurrent-chip-licence.html",
    ]
    # 'updated' when there is no 'published', in UTC; an entity in a type="html" title
    assert parsed.entries[1].published == "2026-11-19T08:00:00Z"
    assert parsed.entries[0].title == "Bank of England cuts rates to 3.25% in 5–4 split vote"
    assert parsed.entries[0].key == "tag:meridian.example,2026-11-20:/markets/boe-cut"


def test_json_feed_content_html_text_and_relative_url() -> None:
    parsed = syndication.parse(
        (FEEDS / "capitalwire.json").read_bytes(), "http://h/f/feed.json", JSON
    )
    assert parsed.title == "Capital Wire"
    first, second = parsed.entries
    assert first.content and first.content.startswith("<p>HELSINKI")
    assert second.link == "http://h/baltic/observer-cable" and second.key == "bo-2026-11-20-cable"
    assert second.content and "<p>" in second.content  # content_text, paragraphs kept
    assert second.published == "2026-11-20T10:00:00+02:00"


def test_latin1_feed_without_dates_or_content_type_charset() -> None:
    body = (FEEDS / "tribune-latin1.rss").read_bytes()
    assert "é".encode("latin-1") in body
    parsed = syndication.parse(body, "http://h/x/feed", "application/rss+xml")
    assert parsed.title == "The People's Tribune - Économie"
    (entry,) = parsed.entries
    assert entry.title and entry.title.endswith("à la Tribune")
    assert entry.published is None
    assert entry.link == "http://h/economy/quarter-point-comfort" == entry.key
    assert entry.summary and "Zürich" in entry.summary and "café" in entry.summary


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        # RFC 822 with a named zone, W3CDTF without seconds, a two-digit year
        ("<pubDate>Thu, 19 Nov 2026 21:00:00 EST</pubDate>", "2026-11-20T02:00:00Z"),
        ("<dc:date>2026-11-19T10:30+01:00</dc:date>", "2026-11-19T09:30:00Z"),
        ("<pubDate>Thu, 19 Nov 26 10:00:00 GMT</pubDate>", "2026-11-19T10:00:00Z"),
        ("<pubDate>sometime last week</pubDate>", None),
        ("", None),
    ],
)
def test_dates_in_the_forms_feeds_write(xml: str, expected: str | None) -> None:
    body = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
        f"<item><title>x</title><link>http://h/a</link>{xml}</item></channel></rss>"
    ).encode()
    assert syndication.parse(body, "http://h/", RSS).entries[0].published == expected


def test_entries_without_link_or_guid_get_a_key_from_their_text() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Only a title</title>'
        b"<description>Some words.</description></item><item></item></channel></rss>"
    )
    (entry,) = syndication.parse(body, "http://h/", RSS).entries
    assert entry.key.startswith("sha:") and entry.link is None


def test_broken_xml_keeps_the_entries_before_the_fault() -> None:
    parsed = syndication.parse((FEEDS / "broken.rss").read_bytes(), "http://h/feeds/b.rss", RSS)
    assert parsed.broken
    assert parsed.entries[0].link == "http://h/pages/ledger-baltic-cable.html"


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        ((FEEDS / "not-a-feed.html").read_bytes(), "text/html", "not an RSS, Atom or JSON feed"),
        (b"\x00\x01garbage{", "application/octet-stream", "not an RSS, Atom or JSON feed"),
        (b'{"items": [}', JSON, "broken JSON"),
        (b'{"title": "x", "items": []}', "application/json", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', JSON, "'items' list"),
    ],
)
def test_what_is_not_a_feed_is_named(body: bytes, kind: str, words: str) -> None:
    with pytest.raises(FeedError, match=words) as err:
        syndication.parse(body, "http://h/feed", kind)
    assert "http://h/feed" in str(err.value)


# --- the saved file -------------------------------------------------------------------------


def test_saved_markdown_reads_back_with_its_front_matter_and_text_intact() -> None:
    entry = syndication.Entry(
        key="k1",
        title='Rates: "5-4" split # 1',
        link="https://ex.org/news/rates-split.html?x=1",
        published="2026-11-20T06:00:00Z",
        content=None,
        summary=None,
    )
    text = (
        "# Not a heading\n\n1. not a list\n\n- nor this\n\n> nor a quote\n\n"
        "Stars *like this* and <b>tags</b> & [brackets](x) stay text: a_b_c."
    )
    saved = feeds.to_markdown(entry, "The Ledger: Europe", text, {"language": "en-GB"})
    fields = formats.from_markdown(saved)
    assert fields["title"] == 'Rates: "5-4" split # 1'
    assert fields["source"] == "The Ledger: Europe"
    assert fields["url"] == "https://ex.org/news/rates-split.html?x=1"
    assert fields["published"] == "2026-11-20T06:00:00+00:00"
    assert fields["language"] == "en-GB"
    body = fields["text"].split("\n\n")
    assert body[1:] == text.split("\n\n")


def test_file_name_is_stable_per_entry_id() -> None:
    def entry(key: str, link: str | None, title: str) -> syndication.Entry:
        return syndication.Entry(key, title, link, None, None, None)

    one = feeds.file_name(entry("k", "https://ex.org/a/b/Big-News_Today.html", "One"))
    assert one.startswith("big-news-today-") and one.endswith(".md")
    assert one == feeds.file_name(entry("k", "https://ex.org/a/b/Big-News_Today.html", "Two"))
    assert one != feeds.file_name(entry("k2", "https://ex.org/a/b/Big-News_Today.html", "One"))
    assert len(feeds.file_name(entry("k", None, "x"))) == len("0123456789.md")


# --- fetching -------------------------------------------------------------------------------


def test_every_good_feed_is_saved_and_every_bad_one_named(web: FeedServer, tmp_path: Path) -> None:
    sources = serve_all(web)
    inbox, state = tmp_path / "inbox", tmp_path / "state" / "feeds.json"
    started = time.monotonic()
    report = feeds.fetch_sources(list(sources.values()), inbox, state, fetcher())
    assert time.monotonic() - started < 6  # the hanging feed costs its timeout only
    named = {p.path: p.reason for p in report.problems}
    assert set(named) == {"feed broken", "feed garbage", "feed hangs", "feed huge"}
    assert "broken feed" in named["feed broken"] and "kept the 1 entries" in named["feed broken"]
    assert "not an RSS, Atom or JSON feed" in named["feed garbage"]
    assert "no complete answer within 0.5 s" in named["feed hangs"]
    assert "over 100,000 bytes" in named["feed huge"]
    articles = read_inbox(inbox)
    by_folder: dict[str, list[Article]] = {}
    for article in articles:
        by_folder.setdefault(article.path.split("/")[0], []).append(article)
    assert {k: len(v) for k, v in by_folder.items()} == {
        "ledger": 2,
        "summaries": 2,
        "capitalwire": 2,
        "tribune": 1,
        "broken": 1,
    }
    # Full content from the feed: no page fetched for it (its pages are not on 127.0.0.1)
    ledger = {a.title: a for a in by_folder["ledger"]}
    boe = ledger["A divided Bank gambles on inflation with quarter-point cut"]
    assert boe.source == "ledger" and "Professor Imogen Shah" in boe.text
    assert boe.url == "https://northernledger.example/business/2026/11/20/bank-of-england-split-cut"
    # Summaries only: the pages were fetched and their main text extracted
    assert "/pages/meridian-boe-rates.html" in web.paths()
    meridian = next(a for a in by_folder["summaries"] if "Bank" in a.title)
    assert "Monetary Policy Committee" in meridian.text and len(meridian.text) > 1000
    assert meridian.url == web.url("/pages/meridian-boe-rates.html")
    # Latin-1, no date, the article in <description>
    (tribune,) = by_folder["tribune"]
    assert "Zürich" in tribune.text and tribune.published is None
    assert "/economy/quarter-point-comfort" not in web.paths()
    # JSON Feed
    assert {a.source for a in by_folder["capitalwire"]} == {"capitalwire"}
    saved = json.loads(state.read_text())["feeds"]
    assert saved[sources["ledger"].url]["etag"]
    assert saved[sources["broken"].url]["etag"] is None  # read again next time


def test_a_second_fetch_is_conditional_and_adds_nothing(web: FeedServer, tmp_path: Path) -> None:
    sources = serve_all(web)
    good = [sources[n] for n in ("ledger", "summaries", "capitalwire", "tribune")]
    inbox, state = tmp_path / "inbox", tmp_path / "feeds.json"
    first = feeds.fetch_sources(good, inbox, state, fetcher())
    assert len(first.saved) == 7 and not first.problems
    before = {p: p.read_bytes() for p in inbox.rglob("*.md")}
    asked = len(web.requests)
    second = feeds.fetch_sources(good, inbox, state, fetcher())
    assert second.saved == [] and not second.problems
    assert sorted(second.not_modified) == sorted(s.url for s in good)
    again = web.requests[asked:]
    assert len(again) == 4  # the feeds only, no page
    assert all(h.get("If-None-Match") and h.get("If-Modified-Since") for _, h in again)
    assert {p: p.read_bytes() for p in inbox.rglob("*.md")} == before


def test_a_refetch_without_the_state_adds_nothing(web: FeedServer, tmp_path: Path) -> None:
    sources = serve_all(web)
    inbox = tmp_path / "inbox"
    feeds.fetch_sources([sources["ledger"]], inbox, tmp_path / "a.json", fetcher())
    again = feeds.fetch_sources([sources["ledger"]], inbox, tmp_path / "b.json", fetcher())
    assert again.saved == [] and len(list(inbox.rglob("*.md"))) == 2


def test_an_entry_whose_page_fails_is_named_and_retried(web: FeedServer, tmp_path: Path) -> None:
    sources = serve_all(web)
    page = web.routes.pop("/pages/techcurrent-chip-licence.html")
    inbox, state = tmp_path / "inbox", tmp_path / "feeds.json"
    report = feeds.fetch_sources([sources["summaries"]], inbox, state, fetcher())
    assert len(report.saved) == 1
    (problem,) = report.problems
    assert problem.path == web.url("/pages/techcurrent-chip-licence.html")
    assert problem.reason.startswith("HTTP 404") and "(feed summaries)" in problem.reason
    web.routes["/pages/techcurrent-chip-licence.html"] = page
    asked = len(web.requests)
    retry = feeds.fetch_sources([sources["summaries"]], inbox, state, fetcher())
    assert len(retry.saved) == 1 and not retry.problems
    # the whole feed was read again (no conditional GET), but only the missing page fetched
    assert web.paths()[asked:] == ["/feeds/summaries.atom", "/pages/techcurrent-chip-licence.html"]
    assert "If-None-Match" not in web.requests[asked][1]


def test_server_errors_and_rate_limits_are_retried(web: FeedServer, tmp_path: Path) -> None:
    route = web.file("/f.rss", "ledger-full.rss", RSS, statuses=[503, 429])
    route.headers["Retry-After"] = "0"
    page = fetcher().get(web.url("/f.rss"))
    assert page.status == 200 and web.paths() == ["/f.rss"] * 3
    web.file("/down.rss", "ledger-full.rss", RSS, statuses=[500, 502, 503, 504])
    with pytest.raises(FeedError, match=r"/down.rss: HTTP 503"):
        fetcher().get(web.url("/down.rss"))
    assert web.paths().count("/down.rss") == 3


def test_a_drip_feed_is_cut_at_the_deadline(web: FeedServer) -> None:
    web.file("/slow.rss", "ledger-full.rss", RSS, pause=0.05)
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"no complete answer within 1\.0 s"):
        fetcher(deadline=1.0).get(web.url("/slow.rss"))
    assert time.monotonic() - started < 2


def test_size_cap_without_a_content_length(web: FeedServer) -> None:
    web.file("/big.rss", "ledger-full.rss", RSS, pause=0.001, piece=1000)
    with pytest.raises(FeedError, match="over 3,000 bytes"):
        fetcher(max_bytes=3000).get(web.url("/big.rss"))


def test_unreachable_host_is_named_after_retries(tmp_path: Path) -> None:
    source = FeedSource(url="http://127.0.0.1:9/feed.rss")  # nothing listens on port 9
    report = feeds.fetch_sources([source], tmp_path, tmp_path / "f.json", fetcher())
    (problem,) = report.problems
    assert problem.path == "feed http://127.0.0.1:9/feed.rss"
    assert problem.reason.startswith("cannot connect")


def test_requests_to_one_host_are_limited(web: FeedServer, tmp_path: Path) -> None:
    for n in range(6):
        web.file(f"/f{n}.rss", "ledger-full.rss", RSS, delay=0.2)
    sources = [FeedSource(url=web.url(f"/f{n}.rss"), name=f"f{n}") for n in range(6)]
    feeds.fetch_sources(sources, tmp_path / "inbox", tmp_path / "f.json", fetcher(per_host=2))
    assert web.most_at_once == 2


def test_a_fault_no_branch_foresaw_costs_only_its_feed(web: FeedServer, tmp_path: Path) -> None:
    sources = serve_all(web)

    class Faulty(Fetcher):
        def get(self, url: str, *, etag: str | None = None, modified: str | None = None) -> Page:
            if url.endswith("tribune.rss"):
                raise RuntimeError("boom")
            return super().get(url, etag=etag, modified=modified)

    logged: list[str] = []
    report = feeds.fetch_sources(
        [sources["tribune"], sources["ledger"]],
        tmp_path / "inbox",
        tmp_path / "f.json",
        Faulty(timeout=0.5),
        log=lambda message, err: logged.append(f"{message}: {err}"),
    )
    (problem,) = report.problems
    assert problem.path == "feed tribune"
    assert problem.reason.startswith("unexpected RuntimeError: boom")
    assert logged == [f"feed {sources['tribune'].url}: boom"]
    assert len(report.saved) == 2


def test_a_damaged_state_file_says_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "feeds.json"
    state.write_text("{not json")
    with pytest.raises(FeedError, match="Move it away"):
        feeds.fetch_sources([], tmp_path, state, fetcher())
