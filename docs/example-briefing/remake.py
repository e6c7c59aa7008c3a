"""Make docs/example-briefing/ again: `brief make examples/` on the embedded model, dated
22 November 2026 (the day after the articles), with no answer from the cache.

    .venv/bin/python docs/example-briefing/remake.py
    .venv/bin/python docs/screenshots/shoot.py

It runs the model (about 5 minutes on 2 cores) and prints the run's line; shoot.py then
re-renders the page and takes the screenshots.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from briefing import runner
from briefing.config import load_config
from briefing.console import cache_dir

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)


def main() -> None:
    config = load_config({"out_dir": ROOT / "docs" / "example-briefing"}, env={}, path=None)
    result = runner.make(
        ROOT / "examples", config, now=NOW, cache_dir=cache_dir(config), use_cache=False
    )
    usage, grounding = result.briefing.usage, result.briefing.grounding
    print(
        f"{len(result.briefing.stories)} stories; {usage.calls} calls, {usage.prompt_tokens:,} "
        f"prompt + {usage.completion_tokens:,} completion tokens; checked {grounding.checked}, "
        f"dropped {grounding.dropped}"
    )
    for path in result.files:
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
