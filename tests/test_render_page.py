"""The briefing page of examples/ as a reader gets it: valid HTML, accessible, and shown by a
real browser (headless Chromium with networking disabled) without a single request leaving
the page. The example briefing is the one the embedded model made of examples/
(docs/example-briefing/2026-11-22.json), rendered afresh by the current templates."""

from __future__ import annotations

import itertools
import re
import shutil
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_render import assert_inert, make_briefing, parse_html, visible_text

from briefing import mdrender, render
from briefing.models import Briefing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example-briefing" / "2026-11-22.json"
CHROMIUM = "chromium"


def example() -> Briefing:
    return Briefing.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))


# --- accessibility -------------------------------------------------------------------------


def headings(root: ET.Element) -> list[int]:
    return [int(el.tag[1]) for el in root.iter() if re.fullmatch(r"h[1-6]", str(el.tag))]


@pytest.mark.parametrize("which", ["example", "test"])
def test_headings_go_down_one_level_at_a_time(which: str) -> None:
    briefing = example() if which == "example" else make_briefing()
    root = parse_html(render.to_html(briefing))
    levels = headings(root)
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels
    assert_inert(root)
    text = visible_text(root)
    for story in briefing.stories:
        assert story.headline in text


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rgb``/``#rrggbb``.

    https://www.w3.org/TR/WCAG22/#dfn-relative-luminance (sRGB, threshold 0.04045)."""
    hex6 = colour.lstrip("#")
    if len(hex6) == 3:
        hex6 = "".join(c * 2 for c in hex6)
    channels = [int(hex6[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio"""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777", "#fff") == pytest.approx(4.48, abs=0.01)  # the classic near miss


def palettes(page: str) -> dict[str, dict[str, str]]:
    """The page's colour variables: light (the default), dark and print (each over light:
    the dark theme is for screens only, so a page printed from a dark system is light)."""
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style
    css = style.group(1)

    def block(after: str) -> dict[str, str]:
        start = css.index(after)
        body = re.search(r":root\s*\{([^}]*)\}", css[start:])
        assert body, after
        return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", body.group(1)))

    light = block(":root")
    return {
        "light": light,
        "dark": light | block("@media screen and (prefers-color-scheme: dark)"),
        "print": light | block("@media print"),
    }


# (text colour, background) for every place the page puts text on a colour
TEXT_ON = [
    ("fg", "bg"),  # body text
    ("muted", "bg"),  # meta lines, headings of sections, chart ticks
    ("fg", "card"),  # top lines
    ("muted", "card"),  # top line numbers, coverage row labels on banded rows
    ("accent", "bg"),  # links, citation markers
    ("accent", "card"),  # citation markers in the top lines
    ("low", "bg"),  # level badges
    ("medium", "bg"),
    ("high", "bg"),
    ("warn", "warn-bg"),  # "unverified" notes
    ("fg", "warn-bg"),  # a source the reader jumped to
    ("bg", "fg"),  # risk keys: R1 in the dots and badges
    ("on-accent", "accent"),  # source numbers in the coverage grid
]


@pytest.mark.parametrize("theme", ["light", "dark", "print"])
def test_theme_colours_have_enough_contrast(theme: str) -> None:
    colours = palettes(render.to_html(example()))[theme]
    low = {
        f"{text} on {back}": round(contrast(colours[text], colours[back]), 2)
        for text, back in TEXT_ON
        if contrast(colours[text], colours[back]) < 4.5
    }
    assert not low, f"{theme}: below 4.5:1 (WCAG 2.x AA, body text): {low}"


@pytest.mark.parametrize(
    ("language", "direction"),
    [
        ("en", "ltr"),
        ("ar", "rtl"),
        ("he-IL", "rtl"),
        ("fa", "rtl"),
        ("ur-PK", "rtl"),
        ("az-Arab", "rtl"),
        ("sr-Latn", "ltr"),
        ("ku-Arab-IQ", "rtl"),
        ("de", "ltr"),
    ],
)
def test_page_direction_follows_the_language(language: str, direction: str) -> None:
    briefing = example()
    briefing.language = language
    root = parse_html(render.to_html(briefing))
    assert (root.get("lang"), root.get("dir")) == (language, direction)
    # pictures keep their own left-to-right axes in a right-to-left page
    style = root.find(".//style")
    assert style is not None and "direction: ltr" in (style.text or "")


def test_markdown_of_the_example_names_every_story() -> None:
    briefing = example()
    md = mdrender.to_markdown(briefing)
    for story in briefing.stories:
        assert f"## {story.number}. {mdrender.md_text(story.headline)}" in md
    assert "<svg" not in md  # Markdown stays text: the pictures are the page's


# --- in a real browser ---------------------------------------------------------------------


def browser_or_skip() -> tuple[object, str]:
    """The playwright module and the Chromium executable, or a loud skip saying why not."""
    path = shutil.which(CHROMIUM)
    reason = None
    try:
        from playwright import sync_api
    except ImportError:
        reason = "the Python package playwright is not installed (pip install -e '.[dev]')"
    if path is None:
        reason = "Debian's chromium is not installed (./setup.sh installs it as root)"
    if reason:
        message = f"BROWSER TEST NOT RUN: {reason}"
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)
    assert path
    return sync_api, path


# Chromium with networking off: no background services, and every host name resolves to
# nothing while all traffic goes to a proxy on a closed port. Flags from
# https://peter.sh/experiments/chromium-command-line-switches/
OFFLINE_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

VIEWS = {"desktop": (1280, 900), "phone": (390, 844)}


def test_example_page_in_headless_chromium(tmp_path_factory: pytest.TempPathFactory) -> None:
    sync_api, executable = browser_or_skip()
    briefing = example()
    folder = tmp_path_factory.mktemp("page")
    page_file = folder / "briefing.html"
    page_file.write_text(render.to_html(briefing), encoding="utf-8")
    shots = tmp_path_factory.mktemp("screenshots")
    url = page_file.as_uri()
    with sync_api.sync_playwright() as p:  # type: ignore[attr-defined]
        browser = p.chromium.launch(executable_path=executable, args=OFFLINE_FLAGS, headless=True)
        try:
            for view, (width, height) in VIEWS.items():
                for scheme in ("light", "dark"):
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        color_scheme=scheme,
                        java_script_enabled=False,
                    )
                    requests: list[str] = []
                    context.on("request", lambda r, seen=requests: seen.append(r.url))
                    page = context.new_page()
                    response = page.goto(url)
                    assert response is None or response.ok
                    text = page.inner_text("body")
                    for story in briefing.stories:
                        assert " ".join(story.headline.split()) in " ".join(text.split())
                    for line in briefing.top_lines:
                        assert page.get_by_role("link", name=line.text).count() == 1
                    # the page fits the width: nothing scrolls sideways
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    )
                    assert overflow <= 0, f"{view}: {overflow}px wider than the screen"
                    # the pictures are drawn, at a readable size
                    for chart in page.locator("svg.chart").all():
                        box = chart.bounding_box()
                        assert box and box["width"] >= 300, (view, box)
                    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    dark = background != "rgb(251, 250, 247)"
                    assert dark is (scheme == "dark"), background
                    # printed, the page is black on white whatever the screen's theme
                    page.emulate_media(media="print")
                    printed = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    assert printed == "rgb(255, 255, 255)", printed
                    page.emulate_media(media="screen")
                    path = shots / f"{view}-{scheme}.png"
                    page.screenshot(path=str(path), full_page=True)
                    assert path.stat().st_size > 10_000
                    # nothing but the page itself was asked for
                    assert requests == [url], requests
                    context.close()
        finally:
            browser.close()
    print(f"screenshots: {shots}")
