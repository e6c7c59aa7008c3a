"""Re-render the example briefing (docs/example-briefing/) from its JSON and photograph its page.

    .venv/bin/python docs/screenshots/shoot.py

The JSON is what the embedded model made of examples/; this script does not run the model.
It rewrites docs/example-briefing/2026-11-22.html and .md with the current templates, then
opens the page in headless Chromium (Debian's `chromium`, driven by playwright, networking
off as in tests/test_render_page.py) and saves the first screen at desktop and phone widths,
light and dark, as docs/screenshots/{desktop,phone}-{light,dark}.png, plus a story section
(desktop-story-*.png). With Debian's `pngquant` installed the PNGs are quantized (smaller files).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from briefing import mdrender, render
from briefing.files import atomic_write
from briefing.models import Briefing

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "example-briefing" / "2026-11-22"
OUT = ROOT / "docs" / "screenshots"
FLAGS = [
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
# name: (width, height, device pixels per CSS pixel)
VIEWS = {"desktop": (1280, 1000, 1), "phone": (390, 844, 2)}


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    briefing = Briefing.model_validate_json(EXAMPLE.with_suffix(".json").read_text("utf-8"))
    atomic_write(EXAMPLE.with_suffix(".html"), render.to_html(briefing))
    atomic_write(EXAMPLE.with_suffix(".md"), mdrender.to_markdown(briefing))
    url = EXAMPLE.with_suffix(".html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        for view, (width, height, scale) in VIEWS.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=scale,
                    color_scheme=scheme,
                    java_script_enabled=False,
                )
                page = context.new_page()
                page.goto(url)
                page.screenshot(path=str(OUT / f"{view}-{scheme}.png"))
                if view == "desktop":
                    box = page.locator("#story-2").bounding_box()
                    assert box is not None
                    clip = {"x": 0, "y": box["y"] - 24, "width": width, "height": height}
                    path = OUT / f"{view}-story-{scheme}.png"
                    page.screenshot(path=str(path), full_page=True, clip=clip)  # type: ignore[arg-type]
                context.close()
        browser.close()
    # Fewer colours, same look: pngquant (Debian's `pngquant`) when it is there.
    quantize = shutil.which("pngquant")
    for path in sorted(OUT.glob("*.png")):
        if quantize:
            subprocess.run(
                [
                    quantize,
                    "--force",
                    "--skip-if-larger",
                    "--quality=70-95",
                    "--ext=.png",
                    str(path),
                ],
                check=False,
            )
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
