"""The run log: traces go to a file in the state folder, scrubbed of secrets."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from briefing.runlog import RunLog
from briefing.secrets import Scrubber, secrets, url_secrets

KEY = "sk-live-SECRET-0123456789"
PASSWORD = "hunter2-SECRET"


def test_secrets_are_the_environment_keys_tokens_passwords_and_the_given() -> None:
    env = {
        "OPENAI_API_KEY": KEY,
        "BRIEF_SMTP_PASSWORD": PASSWORD,
        "GITHUB_TOKEN": "ghp_abcdef",
        "HOME": "/root",
        "SHORT_KEY": "abc",  # too short to scrub without scrubbing ordinary words
    }
    assert secrets(env, ["flag-key-123", None]) == [KEY, PASSWORD, "flag-key-123", "ghp_abcdef"]


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (f"key {KEY} refused", "key *** refused"),
        (f"{KEY}{KEY}", "******"),
        ("GET http://user:pw@host:8080/v1 failed", "GET http://***@host:8080/v1 failed"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("bearer token-without-name", "bearer ***"),
        ("nothing secret here", "nothing secret here"),
        ("title\x1b]0;pwned\x07 and \x1b[2Jclear", "title  and  clear"),
        ("bidi \u202eevil\u202c ok", "bidi  evil  ok"),
        ("a trace\n  line two\tend", "a trace\n  line two\tend"),
    ],
)
def test_scrubber_takes_out_keys_url_passwords_and_bearer_tokens(text: str, scrubbed: str) -> None:
    assert Scrubber([KEY])(text) == scrubbed


def test_the_log_holds_traces_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "state" / "brief.log"
    with RunLog(path, Scrubber([KEY, PASSWORD])) as log:
        try:
            raise ValueError(f"the server echoed {KEY} and {PASSWORD}")
        except ValueError:
            logging.getLogger("briefing.test").exception("calling http://me:%s@host", PASSWORD)
        logging.getLogger("briefing.test").warning("left out a.txt")
        assert log.errors == 1 and log.where() == f"the trace is in {path}"
    text = path.read_text()
    assert "Traceback (most recent call last)" in text and "ValueError" in text
    assert "left out a.txt" in text and "http://***@host" in text
    assert KEY not in text and PASSWORD not in text
    # The handler is gone: nothing more is written after the run.
    logging.getLogger("briefing.test").error("after")
    assert "after" not in path.read_text()


def test_a_log_that_cannot_be_written_does_not_stop_the_run(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    with RunLog(tmp_path / "file" / "brief.log", Scrubber()) as log:
        logging.getLogger("briefing.test").error("still fine")
    assert log.path is None and log.where() == "no run log could be written"


def test_a_thread_that_dies_is_logged_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "brief.log"

    def die() -> None:
        raise RuntimeError(f"a worker failed with {KEY}")

    before = threading.excepthook
    with RunLog(path, Scrubber([KEY])) as log:
        thread = threading.Thread(target=die, name="brief-check_0")
        thread.start()
        thread.join()
        assert log.errors == 1
    assert capsys.readouterr().err == ""
    text = path.read_text()
    assert "brief-check_0 ended with an error" in text and "RuntimeError" in text
    assert KEY not in text
    assert threading.excepthook is before  # put back


def test_a_url_gives_its_user_and_password_as_written_and_decoded() -> None:
    assert url_secrets("http://me:p%40ss@host/v1") == ["p%40ss", "me", "p@ss", "me"]
    assert url_secrets("http://host/v1") == [] and url_secrets(None) == []
    scrub = Scrubber(url_secrets("http://me:p%40ss@host/v1"))
    assert scrub.line("refused p@ss for\nhttp://me:p%40ss@host/v1") == (
        "refused *** for http://***@host/v1"
    )
