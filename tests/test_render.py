from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from briefing import mdrender, render
from briefing.errors import RenderError
from briefing.models import (
    Actor,
    Briefing,
    Change,
    Drop,
    Earlier,
    Event,
    Framing,
    Grounding,
    NewSince,
    Point,
    Problem,
    Risk,
    Source,
    Story,
    StoryRef,
    TopLine,
    Usage,
)

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">raw link</a>',
    "<iframe src=//evil.example></iframe>",
    "<svg onload=alert(1)>",
    '"><b onmouseover=alert(1)>',
)


ONE_DAY = "a new round."  # a continuing story's news since the day before


def make_briefing(evil: str = "") -> Briefing:
    """A realistic two-story briefing; ``evil`` is appended to every untrusted text field."""
    e = evil
    usage = Usage()
    usage.add("map", 1200, 300)
    usage.add("map", 1100, 280)
    usage.add_cached("map")
    usage.add("reduce", 2500, 700)
    return Briefing(
        title="Morning briefing" + e,
        date=dt.date(2024, 5, 2),
        generated_at=dt.datetime(2024, 5, 2, 6, 0, tzinfo=dt.UTC),
        language="en",
        model="qwen2.5-coder-1.5b" + e,
        top_lines=[
            TopLine(text="Ceasefire talks resume in Cairo" + e, story=1, sources=[1, 2]),
            TopLine(text="Central bank holds rates at 4.5%" + e, story=2, sources=[3]),
        ],
        stories=[
            Story(
                number=1,
                sources=[1, 2],
                headline="Ceasefire talks resume in Cairo" + e,
                top_line="Negotiators met again after a two-week pause." + e,
                summary="Delegations returned to Cairo on Tuesday. Mediators called the mood "
                "constructive; no date for a deal was set." + e,
                actors=[
                    Actor(
                        name="Amal Haddad" + e,
                        role="Egyptian mediator" + e,
                        position="Wants a phased truce" + e,
                        quote="We are closer than we were a month ago" + e,
                        cites=["1.3", "2.4", "1.5"],
                    ),
                    Actor(
                        name="Government spokesperson",
                        role="",
                        position="Says no deal without guarantees.",
                        quote="",
                        cites=[],
                        unverified="quote not found in source 2" + e,
                    ),
                ],
                risks=[
                    Risk(
                        risk="Talks collapse before the holiday" + e,
                        exposed="Civilians in the border area" + e,
                        likelihood="medium",
                        impact="high",
                        cites=["2.7"],
                    )
                ],
                agreement=[Point(text="The talks resumed on Tuesday." + e, cites=["1.1", "2.1"])],
                framings=[
                    Framing(source=1, framing="Cautiously hopeful." + e, wording="a window" + e),
                    Framing(source=2, framing="Sceptical of the mediators." + e, wording=""),
                ],
                divergence="The Daily Ledger stresses hope; Harbour Post doubts the process." + e,
                timeline=[
                    Event(date="2024-04-16", event="Talks paused." + e, cites=["1.2"]),
                    Event(date="2024-04-30", event="Talks resumed." + e, cites=["2.1"]),
                ],
                open_questions=["Who guarantees the truce?" + e],
                continues=Earlier(
                    briefing="2024-05-01",
                    date=dt.date(2024, 5, 1),
                    story=3,
                    link="2024-05-01.html#story-3",
                    headline="Cairo talks stall" + e,
                    before=[StoryRef(briefing="2024-04-30", date=dt.date(2024, 4, 30), story=1)],
                ),
                new_since=NewSince(
                    facts=[Point(text="Mediators set a new round." + e, cites=["2.3"])],
                    actors=["Omar Said" + e],
                    changed=[
                        Change(
                            name="Amal Haddad" + e,
                            before="Wanted a full truce first" + e,
                            now="Wants a phased truce" + e,
                            cites=["1.3"],
                        )
                    ],
                    outlets=["Harbour Post" + e],
                ),
            ),
            Story(
                number=2,
                sources=[3],
                headline="Central bank holds rates at 4.5%" + e,
                top_line="Rates stay unchanged for a third meeting." + e,
                summary="The bank kept its main rate at 4.5% and signalled cuts later." + e,
                actors=[
                    Actor(
                        name="Lena Ortiz",
                        role="Governor",
                        position="Inflation is easing but not beaten.",
                        quote="Patience is still our best tool",
                        cites=["3.2"],
                    )
                ],
                risks=[
                    Risk(
                        risk="Sticky inflation delays cuts",
                        exposed="Mortgage holders",
                        likelihood="high",
                        impact="medium",
                    )
                ],
                agreement=[],
                framings=[Framing(source=3, framing="Neutral, data-led.", wording="on hold")],
                divergence="",
            ),
        ],
        sources=[
            Source(
                number=1,
                article_id="a1b2c3d4e5f60718",
                title="Cairo talks restart" + e,
                outlet="The Daily Ledger" + e,
                path="ledger/cairo.md",
                url="https://ledger.example/cairo",
                published="2024-05-01",
                duplicates=["mirror/cairo-copy.md" + e],
            ),
            Source(
                number=2,
                article_id="b1b2c3d4e5f60718",
                title="Doubts over Cairo process" + e,
                outlet="Harbour Post",
                path="harbour/cairo.html",
                url="javascript:alert(1)" if e else "http://harbour.example/a?x=1&y=2",
                published="2024-05-01T08:30:00+02:00",
            ),
            Source(
                number=3,
                article_id="c1b2c3d4e5f60718",
                title="Rates on hold",
                outlet="Finance Wire",
                path="wire/rates.txt",
                url=("data:text/html,<script>alert(1)</script>" if e else None),
            ),
        ],
        usage=usage,
        grounding=Grounding(
            checked=14,
            verified=11,
            dropped=2,
            kept_unverified=1,
            failures=[Drop(story=1, kind="quote", item="x", reason="not in source")],
        ),
        problems=[Problem(path="broken/empty.md" + e, reason="no text found" + e)],
    )


def parse_html(text: str) -> ET.Element:
    """Parse ``text`` as HTML5; fails the test on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    root = parser.parse(text)
    assert isinstance(root, ET.Element)
    return root


def assert_inert(root: ET.Element) -> None:
    # html5lib names SVG elements "{http://www.w3.org/2000/svg}svg"; compare local names
    tags = {el.tag.rsplit("}", 1)[-1].lower() for el in root.iter()}
    assert not tags & {
        *("script", "img", "iframe", "object", "embed", "b", "form", "base"),
        *("foreignobject", "use", "image", "animate", "set"),
    }
    for el in root.iter():
        # the only pictures are brief's own charts
        if el.tag.endswith("svg"):
            assert "chart" in (el.get("class") or "").split(), el.attrib
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            if name in ("href", "src", "action", "formaction"):
                # the web, the page, or an earlier briefing of the folder (render.own_link)
                own = render.own_link(value) == value
                assert own or value.startswith(("http://", "https://", "#")), (el.tag, value)


def visible_text(root: ET.Element) -> str:
    body = root.find("body")
    assert body is not None
    return "".join(body.itertext())


# --- Markdown ------------------------------------------------------------------------------


def test_markdown_has_headlines_sources_and_citations() -> None:
    md = mdrender.to_markdown(make_briefing())
    assert md.startswith("# Morning briefing\n")
    assert "2024-05-02 · 2 stories from 3 sources" in md
    assert "## 1. Ceasefire talks resume in Cairo" in md
    assert "## 2. Central bank holds rates at 4.5%" in md
    assert "1. [Ceasefire talks resume in Cairo](#story-1) [1][2]" in md
    assert '<a id="story-2"></a>' in md
    # cites 1.3, 2.4, 1.5 -> sources 1 and 2, unique and sorted
    assert "- **Amal Haddad** (Egyptian mediator): Wants a phased truce. " in md
    assert "“We are closer than we were a month ago” [1][2]" in md
    # no cites -> the story's sources
    assert "- Sticky inflation delays cuts — exposed: Mortgage holders; " in md
    assert "likelihood high, impact medium [3]" in md
    assert "- Talks collapse before the holiday — exposed: Civilians in the border area; " in md
    assert "likelihood medium, impact high [2]" in md
    assert "- *The Daily Ledger* [1]: Cautiously hopeful. — “a window”" in md
    assert "- **2024-04-16**: Talks paused. [1]" in md
    assert "*(unverified: quote not found in source 2)*" in md
    assert (
        "1. The Daily Ledger — Cairo talks restart (2024-05-01) <https://ledger.example/cairo>"
        in md
    )
    assert "   also as: mirror/cairo-copy.md" in md
    assert "3. Finance Wire — Rates on hold\n" in md
    assert (
        "- Usage: 3 model calls, 1 answer from the cache; 4,800 prompt + 1,280 completion tokens"
        in md
    )
    assert "- Grounding: 14 checked, 11 verified, 2 dropped, 1 kept unverified" in md
    assert "  - quote ×1: not in source" in md  # and why
    assert "- broken/empty.md: no text found" in md
    # sections come in reading order
    order = [
        "## Top lines",
        "## 1.",
        "**Key actors**",
        "**Risks (likelihood and impact: low, medium, high)**",
        "**Timeline**",
        "## 2.",
    ]
    positions = [md.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert md.index("## Sources") > md.index("## 2.")


def test_markdown_leaves_out_empty_sections() -> None:
    md = mdrender.to_markdown(make_briefing())
    story2 = md[md.index("## 2.") : md.index("## Sources")]
    assert "**Where the outlets agree**" not in story2
    assert "**Timeline**" not in story2
    assert "**How the framing differs**" in story2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a*b*_c_ `code`", r"a\*b\*\_c\_ \`code\`"),
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
        ("2 < 3 and 4 > 1", "2 < 3 and 4 > 1"),
        ("# not a heading", r"\# not a heading"),
        ("> not a quote", r"\> not a quote"),
        ("- not a list", r"\- not a list"),
        ("12. not a list", r"12\. not a list"),
        ("line one\n\n<div>\n# two", "line one &lt;div> # two"),
        ("AT&T &amp; co", r"AT&T \&amp; co"),
        ("back\\slash", "back\\\\slash"),
        ("issue #", r"issue \#"),
        ("C# is fine", "C# is fine"),
        ("bell\x07 and nul\x00", "bell and nul"),
    ],
)
def test_md_text_escapes(raw: str, expected: str) -> None:
    assert mdrender.md_text(raw) == expected


# Python-Markdown, and CommonMark with raw HTML allowed (as GitHub and chat apps read it)
MD_RENDERERS = {
    "python-markdown": markdown.markdown,
    "commonmark": MarkdownIt("commonmark", {"html": True}).render,
}


@pytest.mark.parametrize("renderer", MD_RENDERERS)
@pytest.mark.parametrize("evil", HOSTILE)
def test_markdown_renders_inert(evil: str, renderer: str) -> None:
    md = mdrender.to_markdown(make_briefing(evil))
    # Untrusted text is kept on one line, so it cannot open blocks of its own.
    assert "\n<script" not in md and "\n<img" not in md
    # What a Markdown renderer makes of it: no active element, only our links.
    root = parse_html("<!DOCTYPE html><title>t</title><body>" + MD_RENDERERS[renderer](md))
    assert_inert(root)
    # ... and shows the hostile strings as they were written
    text = visible_text(root)
    for where in ("Cairo talks restart", "The Daily Ledger", "a month ago", "was set.", ONE_DAY):
        assert where + evil in text, where
    hrefs = [a.get("href") for a in root.iter("a") if a.get("href")]
    ours = ("https://ledger.example/cairo", "2024-05-01.html#story-3")
    assert all(h in ours or h.startswith("#story-") for h in hrefs)


def test_a_continuing_story_leads_with_the_earlier_story_and_what_is_new() -> None:
    briefing = make_briefing()
    md = mdrender.to_markdown(briefing)
    lead = md.index(
        "*Continues [Cairo talks stall](2024-05-01.html#story-3), in the briefings of "
        "2024-04-30, 2024-05-01.*"
    )
    assert lead < md.index("**New since 2024-05-01**") < md.index("**Negotiators met again")
    for line in (
        "- Mediators set a new round. [2]",
        "- **Amal Haddad** now: Wants a phased truce. (before: Wanted a full truce first.) [1]",
        "- New in the story: Omar Said",
        "- New outlets: Harbour Post",
    ):
        assert line in md, line
    root = parse_html(render.to_html(briefing))
    text = visible_text(root)
    assert "Continues Cairo talks stall, in the briefings of 2024-04-30, 2024-05-01." in text
    assert "New since 2024-05-01" in text and "(before: Wanted a full truce first.)" in text
    assert "2024-05-01.html#story-3" in {a.get("href") for a in root.iter("a")}


@pytest.mark.parametrize("link", ["javascript:alert(1)", "https://evil.example/", "../x.html"])
def test_a_link_to_an_earlier_story_is_made_only_to_briefs_own_files(link: str) -> None:
    briefing = make_briefing()
    assert briefing.stories[0].continues is not None
    briefing.stories[0].continues.link = link
    md = mdrender.to_markdown(briefing)
    assert link not in md and "*Continues “Cairo talks stall”" in md
    hrefs = {a.get("href") for a in parse_html(render.to_html(briefing)).iter("a")}
    assert link not in hrefs


# --- HTML ----------------------------------------------------------------------------------


def test_html_is_valid_and_complete() -> None:
    page = render.to_html(make_briefing())
    root = parse_html(page)
    assert root.get("lang") == "en"
    text = visible_text(root)
    for needle in (
        "Ceasefire talks resume in Cairo",
        "Central bank holds rates at 4.5%",
        "We are closer than we were a month ago",
        "unverified: quote not found in source 2",
        "likelihood medium",
        "impact high",
        "also as: mirror/cairo-copy.md",
        "broken/empty.md",
        "3 model calls, 1 answer from the cache; 4,800 prompt + 1,280 completion tokens",
        "map: 2 model calls, 1 answer from the cache; 2,300 prompt + 580 completion tokens",
        "14 checked, 11 verified, 2 dropped, 1 kept unverified",
        "quote ×1: not in source",
    ):
        assert needle in text, needle
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert {"story-1", "story-2", "source-1", "source-2", "source-3"} <= ids
    hrefs = [a.get("href") for a in root.iter("a")]
    # every anchor link points at something on the page
    assert all(h and (not h.startswith("#") or h[1:] in ids) for h in hrefs)
    assert "#source-1" in hrefs and "#story-2" in hrefs
    assert "https://ledger.example/cairo" in hrefs
    assert "http://harbour.example/a?x=1&y=2" in hrefs
    assert_inert(root)
    # self-contained: no script, no external stylesheet, light and dark
    assert root.find(".//link") is None
    style = root.find(".//style")
    assert style is not None and style.text and "prefers-color-scheme: dark" in style.text
    assert "max-width: 46rem" in style.text


def test_html_citations_follow_the_cites() -> None:
    root = parse_html(render.to_html(make_briefing()))
    actor = next(
        li
        for ul in root.iter("ul")
        if ul.get("class") == "actors"
        for li in ul
        if "Amal Haddad" in "".join(li.itertext())
    )
    assert [a.get("href") for a in actor.iter("a")] == ["#source-1", "#source-2"]
    # the risk as its story lists it (the risk matrix's key lists it too, linking here)
    risk = next(
        li
        for li in root.iter("li")
        if li.get("id", "").startswith("risk-") and "Sticky inflation" in "".join(li.itertext())
    )
    assert [a.get("href") for a in risk.iter("a")] == ["#source-3"]
    badges = [s.get("class") for s in risk.iter("span") if "badge" in (s.get("class") or "")]
    assert badges == ["badge lvl-high", "badge lvl-medium"]


@pytest.mark.parametrize("evil", HOSTILE)
def test_html_keeps_hostile_text_as_text(evil: str) -> None:
    page = render.to_html(make_briefing(evil))
    root = parse_html(page)
    assert_inert(root)
    text = visible_text(root)
    # the hostile string is shown, as text, in each kind of place
    for where in ("Cairo talks restart", "The Daily Ledger", "a month ago", "was set.", ONE_DAY):
        assert where + evil in text, where
    # the javascript: and data: source URLs are shown but not linked
    assert "javascript:alert(1)" in text
    assert "data:text/html,<script>alert(1)</script>" in text
    hrefs = {a.get("href") for a in root.iter("a")}
    assert "javascript:alert(1)" not in hrefs


def test_html_lang_comes_from_the_briefing_and_is_sanitised() -> None:
    briefing = make_briefing()
    briefing.language = "de-CH"
    assert parse_html(render.to_html(briefing)).get("lang") == "de-CH"
    briefing.language = 'en" onload="alert(1)'
    root = parse_html(render.to_html(briefing))
    assert root.get("lang") == "und"
    assert_inert(root)


@settings(deadline=None, max_examples=60)
@given(st.text(max_size=40))
def test_html_parses_cleanly_for_any_text(text: str) -> None:
    briefing = make_briefing(text)
    root = parse_html(render.to_html(briefing))
    assert_inert(root)

    # The story's prose goes through Markdown: its emphasis marks and escapes may go.
    def plain(shown: str) -> str:
        return " ".join(re.sub(r"[*_\\]", "", shown).split())

    assert plain(render.clean("Cairo talks restart" + text)) in plain(visible_text(root))


def test_story_prose_goes_through_markdown_with_emphasis_only() -> None:
    evil = (
        " *stressed* and **strong** [link](javascript:alert(1)) "
        "![i](https://x.example/i.png) <https://x.example> `code`"
    )
    root = parse_html(render.to_html(make_briefing(evil)))
    assert_inert(root)
    summary = next(p for p in root.iter("p") if p.get("class") == "summary")
    assert [e.text for e in summary.iter("em")] == ["stressed"]
    assert [e.text for e in summary.iter("strong")] == ["strong"]
    assert not list(summary.iter("a")) or all(
        a.get("href", "").startswith("#source-") for a in summary.iter("a")
    )
    assert not list(summary.iter("img")) and not list(summary.iter("code"))
    shown = "".join(summary.itertext())
    assert "[link](javascript:alert(1))" in shown and "<https://x.example>" in shown


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.example/x?y=1", True),
        ("HTTP://A.EXAMPLE", True),
        (" https://a.example ", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,hi", False),
        ("//evil.example/x", False),
        ("/relative/path", False),
        ("https://", False),
        ('https://a.example/"onclick=x', False),
        ("http://[::1", False),
        (None, False),
    ],
)
def test_http_url(url: str | None, ok: bool) -> None:
    assert (render.http_url(url) is not None) is ok


def test_cite_numbers() -> None:
    assert render.cite_numbers(["2.4", "1.3", "2.1", "junk", ""], [9]) == [1, 2]
    assert render.cite_numbers([], [3, 1]) == [1, 3]
    assert render.cite_numbers(["x.1", "².1", " 4.2 "], []) == [4]


# --- JSON ----------------------------------------------------------------------------------


def test_json_round_trips() -> None:
    briefing = make_briefing("<script>alert(1)</script>")
    assert Briefing.model_validate_json(render.to_json(briefing)) == briefing


# --- writing ---------------------------------------------------------------------------------


def test_write_briefing_writes_each_format(tmp_path: Path) -> None:
    briefing = make_briefing()
    out = tmp_path / "out" / "nested"
    paths = render.write_briefing(briefing, out, "briefing-2024-05-02", render.FORMATS)
    assert paths == [out / f"briefing-2024-05-02.{ext}" for ext in ("md", "html", "json")]
    assert paths[0].read_text(encoding="utf-8") == mdrender.to_markdown(briefing)
    parse_html(paths[1].read_text(encoding="utf-8"))
    assert Briefing.model_validate_json(paths[2].read_text(encoding="utf-8")) == briefing
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)


def test_write_briefing_only_the_chosen_formats(tmp_path: Path) -> None:
    paths = render.write_briefing(make_briefing(), tmp_path, "b", ["json", "json"])
    assert paths == [tmp_path / "b.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


@pytest.mark.parametrize("stem", ["../x", "..", "a..b", "/abs", "a/b", ".hidden", "", "-x", "a b"])
def test_write_briefing_rejects_bad_stems(tmp_path: Path, stem: str) -> None:
    with pytest.raises(RenderError, match="bad output name"):
        render.write_briefing(make_briefing(), tmp_path / "out", stem, ["md"])
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.parent.glob("x.md"))


def test_write_briefing_rejects_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"'pdf'.*md, html, json"):
        render.write_briefing(make_briefing(), tmp_path / "out", "b", ["md", "pdf"])
    assert not (tmp_path / "out").exists()
    with pytest.raises(RenderError, match="no output format"):
        render.write_briefing(make_briefing(), tmp_path / "out", "b", [])


def test_write_briefing_output_folder_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(RenderError, match="output folder"):
        render.write_briefing(make_briefing(), blocker, "b", ["md"])
