"""The `brief` command: exit codes, messages, files."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT, SEEDS
from fake_openai import FakeServer, Reply, completion

from briefing.cli import cli
from briefing.mdrender import md_text


def run(tmp_path: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """`brief ARGS` with a clean environment: own cache, no config file, no key."""
    base: dict[str, str | None] = {
        "BRIEF_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),  # the run log
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "BRIEF_MODEL": None,
        "BRIEF_PROMPTS": None,
    }
    base.update(env or {})
    return CliRunner().invoke(
        cli, [args[0], *args[1:], "--config", str(tmp_path / "none.toml")], env=base
    )


def test_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["make", "--help"])
    assert result.exit_code == 0
    for line in ("0  the briefing was written", "2  bad usage", "3  partial"):
        assert line in result.output


def test_make_writes_three_files(fake_server: FakeServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("make", str(SEEDS), "--base-url", fake_server.base_url, "--out", str(out))
    result = run(tmp_path, *args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and {Path(n).suffix for n in names} == {".md", ".html", ".json"}
    briefing = json.loads(next(out.glob("*.json")).read_text())
    assert len(briefing["stories"]) == 1
    assert "1 stories from 2 sources" in result.output or "1 story" in result.output
    assert "wrote" in result.output


def test_second_run_is_served_from_the_cache(fake_server: FakeServer, tmp_path: Path) -> None:
    args = ("make", str(SEEDS), "--base-url", fake_server.base_url, "--out", str(tmp_path / "o"))
    assert run(tmp_path, *args).exit_code == 0
    sent = len(fake_server.requests)
    second = run(tmp_path, *args)
    assert second.exit_code == 0
    assert len(fake_server.requests) == sent
    assert "0 model calls (1 cached)" in second.output
    third = run(tmp_path, *args, "--no-cache")
    assert third.exit_code == 0 and len(fake_server.requests) == 2 * sent


def test_format_option_limits_outputs(fake_server: FakeServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url, "--out", str(out),
        "--format", "md,json", "-q",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.output == ""
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".md"]


def test_unknown_format_is_an_error_before_any_call(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    result = run(
        tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url, "--format", "pdf",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code != 0
    assert "pdf" in result.output


def test_missing_folder_is_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "make", str(tmp_path / "nope"), "--base-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2
    assert "nope" in result.output and "Traceback" not in result.output


def test_folder_without_articles_is_usage_error(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = run(tmp_path, "make", str(inbox), "--base-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2
    assert "notes.pdf" in result.output


def test_partial_run_exits_3_and_names_the_file(fake_server: FakeServer, tmp_path: Path) -> None:
    bad = Reply(body=completion({"messages": []}, "no"))
    # The story call and its re-ask, then (notes first) the first article's map call
    # and its re-ask.
    fake_server.script += [bad] * 4
    result = run(
        tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url,
        "--out", str(tmp_path / "o"), "--no-cache", "--concurrency", "1",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "left out 000_67eed8baa2c05698.txt" in result.output


def test_dry_run_counts_and_sends_nothing(fake_server: FakeServer, tmp_path: Path) -> None:
    folder = EXAMPLES if (EXAMPLES / "stories.json").exists() else SEEDS
    result = run(tmp_path, "make", str(folder), "--base-url", fake_server.base_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert fake_server.requests == []
    assert "tokens" in result.output and "model calls" in result.output
    assert "Nothing was sent" in result.output
    assert not (tmp_path / "briefings").exists()


def test_dry_run_prints_each_story_with_its_titles_and_why(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Issue 17: the groups, their articles' titles and what they share, before spending."""
    labels = json.loads((EXAMPLES / "stories.json").read_text())
    result = run(tmp_path, "make", str(EXAMPLES), "--base-url", fake_server.base_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert fake_server.requests == []
    heads = re.findall(r"^Story (\d+): (\d+) articles?", result.output, re.M)
    assert [int(n) for n, _ in heads] == list(range(1, len(set(labels.values())) + 1))
    assert sorted(int(k) for _, k in heads) == sorted(
        list(labels.values()).count(label) for label in set(labels.values())
    )
    assert "Finland holds tanker after Finland-Estonia power cable damaged" in result.output
    assert "[Capital Wire, capitalwire-baltic-cable.md]" in result.output
    cable = next(line for line in result.output.splitlines() if line.startswith("Story 1:"))
    assert "4 outlets" in cable and "cable" in cable.split(":", 2)[2]


def test_plan_groups_list_articles_copies_and_shared_terms(tmp_path: Path) -> None:
    from briefing import runner
    from briefing.config import load_config

    config = load_config({"out_dir": tmp_path / "out"}, env={}, path=None)
    plan = runner.plan(ROOT / "tests" / "data" / "stories", config)
    truth = json.loads((ROOT / "tests" / "data" / "stories" / "truth.json").read_text())
    assert len(plan.groups) == plan.stories == len(set(truth["labels"].values()))
    planned = [p for g in plan.groups for p, _, _ in g.articles] + [
        c for g in plan.groups for c, _ in g.copies
    ]
    assert sorted(planned) == sorted(truth["labels"])
    ((copy, kept),) = [pair for g in plan.groups for pair in g.copies]
    assert sorted([copy, kept]) == sorted(truth["near_duplicates"][0])
    for group in plan.groups:
        assert group.shared and all(title for _, title, _ in group.articles)
        assert len({truth["labels"][p] for p, _, _ in group.articles}) == 1


def test_dry_run_costs_at_the_configured_price_and_checks_the_budget(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "none.toml").write_text('[prices."fake-model"]\nprompt = 1.5\ncompletion = 4\n')
    result = run(
        tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url, "--model", "fake-model",
        "--dry-run", "--max-tokens", "1000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake_server.requests == []
    found = re.search(r"about (\d+) prompt \+ (\d+) completion tokens", result.output)
    assert found, result.output
    prompt, completion = map(int, found.groups())
    cost = math.ceil((prompt * 1.5 + completion * 4) / 1_000_000 * 10_000) / 10_000
    assert f"estimated cost ${cost:.4f} (at $1.5 / $4.0 per million" in result.output
    assert "config file" in result.output
    assert f"About {prompt + completion} tokens: MORE than --max-tokens 1000" in result.output

    default = run(
        tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url, "--model", "gpt-4o-mini",
        "--dry-run", "--max-tokens", str(10 * (prompt + completion)),
    )  # fmt: skip
    assert "(at $0.15 / $0.6 per million" in default.output and "brief's table" in default.output
    assert "within --max-tokens" in default.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_one_line_without_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["BRIEF_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-m", "briefing", "make", str(SEEDS), "--base-url",
         f"http://127.0.0.1:{_closed_port()}/v1", "--config", str(tmp_path / "none.toml"),
         "--out", str(tmp_path / "o"), "--timeout", "5"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and "cannot reach the model server" in lines[0]
    assert not (tmp_path / "o").exists()


def test_no_server_and_no_local_model_says_both_ways(tmp_path: Path) -> None:
    result = run(
        tmp_path, "make", str(SEEDS), "--model-path", str(tmp_path / "missing.gguf"),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "brief model install" in result.output
    assert "OPENAI_API_KEY" in result.output and "--base-url" in result.output


@pytest.mark.parametrize("flag", ["--chunk-overlap", "--chunk-tokens"])
def test_bad_setting_names_the_field(tmp_path: Path, flag: str) -> None:
    result = run(tmp_path, "make", str(SEEDS), "--base-url", "http://x/v1", flag, "999999999")
    assert result.exit_code == 1 or result.exit_code == 2
    assert flag.strip("-").replace("-", "_") in result.output


def test_prompts_copy_then_use_own_prompts(fake_server: FakeServer, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    copied = CliRunner().invoke(cli, ["prompts", "copy", str(mine)])
    assert copied.exit_code == 0, copied.output
    assert sorted(p.name for p in mine.iterdir()) == [
        "_system.j2",
        "direct.j2",
        "map.j2",
        "merge.j2",
        "story.j2",
    ]
    story = mine / "direct.j2"
    story.write_text(story.read_text().replace("Write the story.", "Write the story. MY-OWN-RULE."))
    # A second copy keeps the user's edits.
    assert CliRunner().invoke(cli, ["prompts", "copy", str(mine)]).exit_code == 0
    assert "MY-OWN-RULE" in story.read_text()
    args = ("make", str(SEEDS), "--base-url", fake_server.base_url, "--prompts", str(mine))
    result = run(tmp_path, *args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "MY-OWN-RULE" in fake_server.calls("StoryFromSources")[0]["messages"][1]["content"]


# --- Bad input: one line per file, the briefing from the rest ------------------------------

HARBOUR = (
    "Harbour strike spreads\n\nDockers in Eldham struck again on Monday, the union said. "
    '"We will not go back without a contract," said organiser Mara Voss.'
)
FLOOD = (
    "Flood warning for the valley\n\nForecasters warned of floods in the Arden valley "
    "after a week of rain. The river could burst its banks by Friday, officials said."
)
FRENCH_PAGE = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Sommet à Prague'
    "</title></head><body><article><h1>Sommet à Prague</h1><p>Les ministres des affaires "
    "étrangères de l'Alliance se sont réunis jeudi à Prague pour discuter du soutien à "
    "l'Ukraine et de l'usage des armes occidentales.</p><p>Le secrétaire général a répété "
    "que les menaces du Kremlin n'étaient pas nouvelles, selon plusieurs délégués.</p>"
    "</article></body></html>"
)
LATIN1 = (
    "Grève au port de Marseille\n\nLes dockers du port de Marseille ont cessé le travail "
    "lundi. Le syndicat réclame une hausse des salaires et dénonce les cadences imposées "
    "depuis l'été. La direction du port a proposé une réunion jeudi à la préfecture."
)


def bad_inputs(folder: Path, outside: Path) -> tuple[set[str], dict[str, str]]:
    """Write the bad-input corpus; return the files that must be briefed and, for the
    others, a word their one-line reason must contain."""
    folder.mkdir(mode=0o755)
    (folder / "good.txt").write_text(HARBOUR)
    (folder / "prague.html").write_text(FRENCH_PAGE)  # another language: briefed
    (folder / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))  # decoded, briefed
    # UTF-8 with a cut character and a stray byte: kept, the broken bytes replaced.
    flood = FLOOD.replace("Arden", "Ardèche").replace("officials", "the préfet of Rhône")
    cut = flood.encode().replace(b"pr\xc3\xa9fet", b"pr\xc3fet")
    (folder / "broken-utf8.txt").write_bytes(cut[:20] + b"\xff" + cut[20:])
    (folder / "x.txt").mkdir()  # a folder named like a file: walked, not read
    (folder / "x.txt" / "inner.md").write_text(
        "---\ntitle: Chess club wins cup\n---\nThe Eldham chess club won the regional cup "
        "on Sunday. The final was decided in a blitz play-off."
    )
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256))
    (folder / "empty.txt").write_bytes(b"")
    with (folder / "huge.txt").open("w") as file:  # 50 MB of real text
        line = "The council met again and talked at length about the budget.\n"
        file.write(line * (50_000_000 // len(line) + 1))
    (folder / "menu.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (folder / "bad-front.md").write_text("---\ntitle: [unclosed\n---\n# Hello\n\nText.\n")
    outside.write_text("A secret outside the folder.\n")
    (folder / "link.txt").symlink_to(outside)
    (folder / "red\x1b[31m.txt").write_text(FLOOD)  # would turn the terminal red
    briefed = {"good.txt", "prague.html", "latin1.txt", "broken-utf8.txt", "x.txt/inner.md"}
    reasons = {
        "binary.txt": "binary file",
        "empty.txt": "empty file",
        "huge.txt": "too large",
        "menu.html": "no article text",
        "bad-front.md": "broken front matter",
        "link.txt": "outside the folder: not followed",
        "red\\u001b[31m.txt": "control characters",
    }
    if os.geteuid() != 0:  # root reads any file whatever its mode (see below)
        (folder / "locked.txt").write_text(HARBOUR.replace("Eldham", "Riga"))
        (folder / "locked.txt").chmod(0o000)
        reasons["locked.txt"] = "permission denied"
    return briefed, reasons


def test_bad_inputs_are_each_named_once_and_the_rest_briefed(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """A real `brief make` process over the bad-input corpus. A file without read
    permission is in the corpus only when the tests do not run as root (root reads
    any file whatever its mode, and the interpreter here lives under /root, so the
    process cannot run as another user); test_ingest's
    test_unreadable_file_is_a_problem covers it as user nobody in either case."""
    briefed, reasons = bad_inputs(tmp_path / "in", tmp_path / "outside.txt")
    writable = tmp_path / "w"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEF_"))}
    env["BRIEF_CACHE_DIR"] = str(writable / "cache")
    proc = subprocess.run(
        [sys.executable, "-m", "briefing", "make", str(tmp_path / "in"), "--base-url",
         fake_server.base_url, "--out", str(writable / "out"), "--concurrency", "1",
         "--config", str(tmp_path / "none.toml")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr  # partial: written, files left out
    assert "Traceback" not in proc.stderr and "\x1b" not in proc.stderr
    for path, reason in reasons.items():
        lines = [line for line in proc.stderr.splitlines() if f" {path}: " in line]
        assert len(lines) == 1, (path, proc.stderr)
        assert lines[0].startswith(f"brief: left out {path}: ") and reason in lines[0]
    [out] = (writable / "out").glob("*.json")
    briefing = json.loads(out.read_text())
    assert {p["path"] for p in briefing["problems"]} == set(reasons)
    assert {s["path"] for s in briefing["sources"]} == briefed
    markdown = next((writable / "out").glob("*.md")).read_text()
    # The briefing says what is missing (paths as Markdown text: '[' escaped).
    assert all(md_text(path) in markdown for path in reasons)
    sent = json.dumps(fake_server.requests, ensure_ascii=False)
    assert "A secret outside the folder" not in sent and "Riga" not in sent
    assert "Ardèche" in sent and "Grève au port" in sent  # decoded, not mangled


# --- Hostile articles and a hostile model: the pages stay inert ----------------------------

EVIL_PAGE = """<!DOCTYPE html><html><head><title>Port strike <script>alert(1)</script></title>
<link rel="canonical" href="javascript:alert(1)"></head><body><article>
<h1>Port strike <img src=x onerror=alert(1)></h1>
<p>Dockers in Eldham struck on Monday, the union said.<script>alert(2)</script>
<a href="javascript:alert(3)">Read more about the strike</a> on the union's site.</p>
<p>The strike could halt grain exports, officials warned on Tuesday evening.</p>
</article></body></html>"""
EVIL_MD = """---
title: "Flood <script>alert(4)</script> warning"
source: "<img src=x onerror=alert(5)>"
url: "javascript:alert(6)"
---
Forecasters warned of floods in the Arden valley <script>alert(7)</script> on Friday.

<div onmouseover="alert(8)">The river could burst its banks by Sunday, they said.</div>

Maps: [the valley](javascript:alert(9)) and <a href="data:text/html;base64,PHNjcmlwdD4=">this</a>.
"""
EVIL_TEXT = (
    "Chess club wins cup\n\nThe Eldham chess club won the cup <img src=x onerror=alert(10)> "
    "on Sunday. Its captain wrote [see](javascript:alert(11)) and <iframe src=//x.example>."
)
# What a model that repeats hostile markup writes for every story.
EVIL_STORY = {
    "headline": "<script>alert(12)</script>Strike",
    "top_line": "<img src=x onerror=alert(13)> [x](javascript:alert(14))",
    "summary": '<a href="data:text/html,x">data</a> <svg onload=alert(15)>',
    "actors": [],
    "risks": [],
    "agreement": [],
    "framings": [],
    "divergence": "<b onmouseover=alert(16)>bold</b>",  # cleared: one-source stories
    "timeline": [],
    "open_questions": ["<script>alert(17)</script>?"],
}


def test_hostile_markup_from_articles_and_model_is_inert(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    from test_render import assert_inert, parse_html, visible_text

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "port.html").write_text(EVIL_PAGE)
    (folder / "flood.md").write_text(EVIL_MD)
    (folder / "chess.txt").write_text(EVIL_TEXT)
    fake_server.when["Write the story."] = Reply(
        body=completion({"messages": []}, json.dumps(EVIL_STORY))
    )
    out = tmp_path / "out"
    # --keep-unverified: grounding would drop the model's hostile prose (no source
    # says it); kept and marked, it reaches the renderers, which must keep it inert.
    result = run(tmp_path, "make", str(folder), "--base-url", fake_server.base_url,
                 "--out", str(out), "--concurrency", "1", "--keep-unverified")  # fmt: skip
    assert result.exit_code == 0, result.output
    root = parse_html(next(out.glob("*.html")).read_text())
    assert_inert(root)  # no script, img, iframe; no on* attribute; links http(s) or #
    text = visible_text(root)
    assert "<script>alert(12)</script>Strike" in text  # shown as text, not run
    assert "<img src=x onerror=alert(13)> [x](javascript:alert(14))" in text
    # The Markdown file, as a renderer that allows raw HTML shows it, is inert too.
    from markdown_it import MarkdownIt

    md = next(out.glob("*.md")).read_text()
    assert_inert(
        parse_html(
            "<!DOCTYPE html><title>t</title>" + MarkdownIt("commonmark", {"html": True}).render(md)
        )
    )
    briefing = json.loads(next(out.glob("*.json")).read_text())
    assert {s["path"] for s in briefing["sources"]} == {"port.html", "flood.md", "chess.txt"}


# --- Secrets ---------------------------------------------------------------------------------

API_KEY = "sk-brief-SECRET-7f3a9c1e5b"
SMTP_PASSWORD = "smtp-SECRET-pw-4d8e2b"


def test_secrets_appear_in_no_output_file_cache_or_message(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Runs that succeed, plan, and fail, with a recognisable key and SMTP password in
    the environment and a server that echoes the key back in its errors; then every
    file brief wrote (output, cache, anything under HOME) and everything it printed
    is searched for them."""
    home = tmp_path / "home"
    env: dict[str, str | None] = {
        "OPENAI_API_KEY": API_KEY,
        "BRIEF_SMTP_PASSWORD": SMTP_PASSWORD,
        "HOME": str(home),
        **{f"XDG_{kind}_HOME": str(home / kind.lower())
           for kind in ("CACHE", "CONFIG", "DATA", "STATE")},
    }  # fmt: skip
    url = fake_server.base_url
    out = str(tmp_path / "out")
    printed = [
        run(tmp_path, "make", str(SEEDS), "--base-url", url, "--out", out, env=env),
        run(tmp_path, "make", str(SEEDS), "--base-url", url, "--dry-run", env=env),
        run(tmp_path, "make", str(SEEDS), "--base-url", url, "--out", out, "--api-key",
            API_KEY, "--no-cache", env=env),
    ]  # fmt: skip
    assert [r.exit_code for r in printed] == [0, 0, 0]
    assert set(fake_server.keys) == {f"Bearer {API_KEY}"}  # the key was really used
    echo = {"error": {"message": f"Incorrect API key provided: {API_KEY}"}}
    fake_server.when["Stoltenberg"] = Reply(401, echo)
    printed.append(run(tmp_path, "make", str(SEEDS), "--base-url", url, "--out", out,
                       "--no-cache", env=env))  # fmt: skip
    assert printed[-1].exit_code == 1 and "rejected the API key" in printed[-1].output
    fake_server.when["Stoltenberg"] = Reply(503, echo, {"retry-after-ms": "1"})
    printed.append(run(tmp_path, "make", str(SEEDS), "--base-url", url, "--out", out,
                       "--no-cache", env=env))  # fmt: skip
    assert printed[-1].exit_code == 1 and "answered 503" in printed[-1].output
    assert "***" in printed[-1].output  # the echoed key, scrubbed

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in files) and any(p.suffix == ".html" for p in files)
    log = home / "state" / "brief" / "brief.log"  # the run log, with the echoed key
    assert log in files and "answered 503" in log.read_text() and "***" in log.read_text()
    for secret in (API_KEY, SMTP_PASSWORD):
        for result in printed:
            assert secret not in result.output
        for path in files:
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("flag", "steps"), [("--direct", {"direct"}), ("--notes-first", {"map", "story"})]
)
def test_direct_or_notes_first_as_asked(
    fake_server: FakeServer, tmp_path: Path, flag: str, steps: set[str]
) -> None:
    out = tmp_path / "o"
    args = ("make", str(SEEDS), "--base-url", fake_server.base_url, "--out", str(out), flag)
    assert run(tmp_path, *args).exit_code == 0
    briefing = json.loads(next(out.glob("*.json")).read_text())
    assert set(briefing["usage"]["by_step"]) == steps


# --- No file and no server answer crashes a run -------------------------------------------

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def test_the_four_inputs_that_crashed_a_run_cost_only_themselves(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """An impossible date in front matter, front matter nested thousands deep, an
    article in a folder 1,200 levels deep, and a server answering 200 with an HTML
    error page for one article: each used to end the run with a traceback. Now a
    real `brief make` writes the briefing of the rest (exit 3) and names each one."""
    inbox = tmp_path / "in"
    shutil.copytree(SEEDS, inbox)
    (inbox / "flood.txt").write_text(FLOOD)
    (inbox / "harbour.txt").write_text(HARBOUR)
    (inbox / "bad-date.md").write_text("---\npublished: 2026-02-30\n---\nCouncil meets.\n")
    (inbox / "deep.md").write_text("---\ntags: " + "[" * 3000 + "]" * 3000 + "\n---\nText.\n")
    fd = os.open(inbox, os.O_RDONLY)
    for _ in range(1200):  # made through descriptors: os.makedirs recurses per level
        os.mkdir("d", dir_fd=fd)
        fd, parent = os.open("d", os.O_RDONLY, dir_fd=fd), fd
        os.close(parent)
    os.close(fd)
    fake_server.when["Dockers in Eldham"] = Reply(
        body=HTML_502, headers={"Content-Type": "text/html"}
    )
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEF_"))}
    env |= {"BRIEF_CACHE_DIR": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "st")}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "briefing", "make", str(inbox), "--base-url",
             fake_server.base_url, "--out", str(out), "--config", str(tmp_path / "none.toml")],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
        )  # fmt: skip
    finally:
        while (inbox / "d").is_dir():  # shutil.rmtree recurses per level too
            (inbox / "d").rename(tmp_path / "rest")
            shutil.rmtree(inbox)
            (tmp_path / "rest").rename(inbox)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    left = dict(
        line.removeprefix("brief: left out ").split(": ", 1)
        for line in proc.stderr.splitlines()
        if line.startswith("brief: left out ")
    )
    deep = "/".join(["d"] * 33)
    assert set(left) == {"harbour.txt", "bad-date.md", "deep.md", deep}, proc.stderr
    assert "'2026-02-30' is not a date" in left["bad-date.md"]
    assert "nested deeper than 16 levels" in left["deep.md"]
    assert "more than 32 levels deep" in left[deep]
    assert (
        "not a chat completion (after 4 tries): text/html, not JSON: '<html>"
        in (left["harbour.txt"])
    )
    [written] = out.glob("*.json")
    briefing = json.loads(written.read_text())
    assert briefing["partial"] is True
    path = {s["number"]: s["path"] for s in briefing["sources"]}
    cited = {path[n] for story in briefing["stories"] for n in story["sources"]}
    assert cited == {"000_67eed8baa2c05698.txt", "002_d41ca5c36cb18dd9.txt", "flood.txt"}
    assert "partial: 4 files left out" in next(out.glob("*.md")).read_text()


def test_an_unforeseen_error_is_one_line_naming_where_and_the_log(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence: an exception no part of brief expected (here, from
    writing the files) is one line naming where it came from and where the trace is
    (exit 1); the trace is in the run log, without the key."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"disk said no to {API_KEY}")

    monkeypatch.setattr("briefing.render.write_briefing", broken)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "OPENAI_API_KEY": API_KEY}
    result = run(tmp_path, "make", str(SEEDS), "--base-url", fake_server.base_url,
                 "--out", str(tmp_path / "o"), env=env)  # fmt: skip
    assert result.exit_code == 1
    log = tmp_path / "state" / "brief" / "brief.log"
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert re.fullmatch(
        r"brief: unexpected RuntimeError: disk said no to \*\*\* in runner\.py:\d+ \(make\); "
        f"the trace is in {re.escape(str(log))}\\. Please report it\\.",
        line,
    ), line
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: disk said no" in text
    assert API_KEY not in text and "disk said no to ***" in text


def test_an_unforeseen_error_in_one_story_costs_only_that_story(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefing import drafts

    real = drafts.complete

    def fragile(draft: Any, *args: Any, **kwargs: Any) -> Any:
        if "flood" in draft.model_dump_json().lower():
            raise IndexError("list index out of range")
        return real(draft, *args, **kwargs)

    monkeypatch.setattr(drafts, "complete", fragile)
    inbox = tmp_path / "in"
    shutil.copytree(SEEDS, inbox)
    (inbox / "flood.txt").write_text(FLOOD)
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    out = tmp_path / "o"
    result = run(tmp_path, "make", str(inbox), "--base-url", fake_server.base_url,
                 "--out", str(out), env=env)  # fmt: skip
    assert result.exit_code == 3, result.output
    log = tmp_path / "state" / "brief" / "brief.log"
    assert (
        "brief: left out flood.txt: the check of the story of flood.txt: unexpected "
        "IndexError: list index out of range; the trace is in the run log"
    ) in result.output
    assert f"brief: 1 unexpected errors; the trace is in {log}" in result.output
    briefing = json.loads(next(out.glob("*.json")).read_text())
    path = {s["number"]: s["path"] for s in briefing["sources"]}
    cited = {path[n] for story in briefing["stories"] for n in story["sources"]}
    assert cited == {"000_67eed8baa2c05698.txt", "002_d41ca5c36cb18dd9.txt"}
    assert "IndexError" in log.read_text()


ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def test_text_from_outside_is_scrubbed_in_every_output_log_and_the_cache(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """A refusal that repeats the Authorization header with terminal escapes in it, and
    a --base-url with a user and password that every server error repeats: neither the
    key, the password nor an escape reaches stderr, the briefing files, the run log or
    the cache (they did, in the left-out list and on stderr)."""
    refusal = {
        "choices": [{"message": {"content": None, "refusal": f"No. You sent Authorization: "
                     f"Bearer {API_KEY} {ESCAPES}"}, "finish_reason": "stop"}]
    }  # fmt: skip
    inbox = tmp_path / "in"
    shutil.copytree(SEEDS, inbox)
    (inbox / "flood.txt").write_text(FLOOD)
    fake_server.when["Forecasters warned"] = Reply(body=refusal)
    host = fake_server.base_url.removeprefix("http://")
    env = {"OPENAI_API_KEY": API_KEY, "XDG_STATE_HOME": str(tmp_path / "state")}
    out = tmp_path / "out"
    first = run(tmp_path, "make", str(inbox), "--base-url", fake_server.base_url,
                "--out", str(out), env=env)  # fmt: skip
    assert first.exit_code == 3 and "flood.txt: " in first.output and "refused" in first.output
    fake_server.when["Stoltenberg"] = Reply(503, {"error": {"message": "busy"}},
                                            {"retry-after-ms": "1"})  # fmt: skip
    second = run(tmp_path, "make", str(inbox), "--base-url", f"http://me:{SMTP_PASSWORD}@{host}",
                 "--out", str(out), "--no-cache", env=env)  # fmt: skip
    assert second.exit_code == 1 and "answered 503" in second.output  # nothing could be briefed
    assert "http://***@127.0.0.1" in second.output
    for result in (first, second):
        for secret in (API_KEY, SMTP_PASSWORD, "\x1b", "\x07"):
            assert secret not in result.output
    files = [p for p in tmp_path.rglob("*") if p.is_file() and inbox not in p.parents]
    assert {p.suffix for p in files} >= {".md", ".html", ".json", ".sqlite3", ".log"}
    for path in files:
        data = path.read_bytes()
        text = path.suffix in (".md", ".html", ".json", ".log")  # not the binary caches
        for secret in (API_KEY, SMTP_PASSWORD, *(("\x1b", "\x07") if text else ())):
            assert secret.encode() not in data, (path, secret)


def test_a_briefing_of_arabic_articles_is_an_arabic_page(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """With no language configured, the page takes the articles' (it was lang="en"
    dir="ltr" for any articles unless the config file said otherwise)."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.txt").write_text(
        "وزراء الخارجية يجتمعون في براغ\n\nاجتمع وزراء خارجية الحلف في براغ يوم الخميس "
        "لبحث دعم أوكرانيا. وقال الأمين العام إن التهديدات ليست جديدة."
    )
    out = tmp_path / "out"
    result = run(tmp_path, "make", str(inbox), "--base-url", fake_server.base_url,
                 "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    page = next(out.glob("*.html")).read_text()
    assert '<html lang="ar" dir="rtl"' in page
    assert json.loads(next(out.glob("*.json")).read_text())["language"] == "ar"
