"""Email delivery against a real SMTP server on 127.0.0.1 (aiosmtpd) with STARTTLS and login.

The server's certificate comes from a throwaway CA made by trustme; the client trusts
only that CA, so the STARTTLS handshake and the certificate check are real.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import EXAMPLES
from fake_openai import FakeServer

from briefing import archive, jobs, mail, schedule
from briefing.errors import MailError, UnsentError

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
USER, PASSWORD = "brief@example.org", "correct horse battery staple"


@dataclass
class Inbox:
    """What the SMTP server received: envelopes and whether each came over TLS."""

    messages: list[tuple[list[str], bytes, bool]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    reply: str = "250 OK"  # what the server answers the message with

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = session.ssl is not None
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content), tls))
        return self.reply

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            USER,
            PASSWORD,
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


@dataclass
class Smtp:
    inbox: Inbox
    port: int
    client_context: ssl.SSLContext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Smtp]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        auth_require_tls=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield Smtp(inbox, port, client_context)
    finally:
        controller.stop()


def settings(port: int, **extra: Any) -> mail.SmtpSettings:
    env = {"BRIEF_SMTP_PASSWORD": PASSWORD, "BRIEF_SMTP_PORT": str(port)}
    table = {"host": "127.0.0.1", "username": USER, "sender": f"brief <{USER}>", **extra}
    return mail.load_settings(table, env, keyring=False)


def parts(raw: bytes) -> dict[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    found = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        found[part.get_content_type()] = part.get_content()
    return found


def smtp_config(fake_server: FakeServer, smtp_server: Smtp) -> str:
    """A config file's text: the fake model server, and the local SMTP server."""
    return (
        f'base_url = "{fake_server.base_url}"\n\n[smtp]\nhost = "127.0.0.1"\n'
        f'port = {smtp_server.port}\nusername = "{USER}"\n'
    )


def add_job(
    tmp_path: Path,
    config_text: str,
    *,
    name: str = "m",
    files: tuple[str, ...] = ("ledger-boe-rates.md",),
    email: str = "a@b.c",
) -> Path:
    """Job ``name`` briefing copies of example ``files``, added to a config file with
    ``config_text`` (and a crontab file); the config file's path."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for file in files:
        shutil.copy(EXAMPLES / file, inbox / file)
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    job = schedule.make_job(name, input=inbox, at="07:00", out=tmp_path / "out", email=[email])
    schedule.add(
        job, config_path=config, base_command=["brief"], where=schedule.Where(tmp_path / "tab")
    )
    return config


def run_mail_job(
    config: Path, tmp_path: Path, smtp_server: Smtp, now: dt.datetime, env: dict[str, str]
) -> jobs.RunResult:
    """Job "m" of ``config`` run at ``now``, its state and cache under ``tmp_path``."""
    return jobs.run_job(
        "m",
        config_path=config,
        env=env,
        now=lambda: now,
        state_dir=tmp_path / "state",
        cache_dir=lambda c: tmp_path / "cache",
        smtp_context=smtp_server.client_context,
    )


def test_job_emails_the_briefing_over_starttls(
    smtp_server: Smtp, fake_server: FakeServer, tmp_path: Path
) -> None:
    config = add_job(
        tmp_path,
        smtp_config(fake_server, smtp_server),
        name="morning",
        files=("ledger-boe-rates.md", "tribune-boe-rates.txt"),
        email="me@example.org",
    )
    result = jobs.run_job(
        "morning",
        config_path=config,
        env={"BRIEF_SMTP_PASSWORD": PASSWORD},
        now=lambda: NOW,
        state_dir=tmp_path / "state",
        cache_dir=lambda c: tmp_path / "cache",
        smtp_context=smtp_server.client_context,
    )
    assert result.status == "ok" and "emailed me@example.org" in result.message
    assert smtp_server.inbox.logins == [USER]
    [(to, raw, over_tls)] = smtp_server.inbox.messages
    assert to == ["me@example.org"] and over_tls
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"].startswith("Briefing, 22 November 2026")
    assert message["From"] == USER
    found = parts(raw)
    assert list(found) == ["text/plain", "text/html"]
    assert result.briefing is not None
    headline = result.briefing.stories[0].headline
    written = (tmp_path / "out" / "2026-11-22.md").read_text()
    assert written.splitlines() == found["text/plain"].splitlines()
    assert found["text/html"].startswith("<!DOCTYPE html>") and "Bank" in found["text/html"]
    assert headline.split()[0] in found["text/plain"]


def test_send_refuses_a_wrong_password(smtp_server: Smtp) -> None:
    wrong = settings(smtp_server.port).model_copy(update={"password": "nope"})
    with pytest.raises(MailError, match="refused the login"):
        mail.send(briefing(), ["me@example.org"], wrong, context=smtp_server.client_context)
    assert smtp_server.inbox.messages == []


def test_send_checks_the_server_certificate(smtp_server: Smtp) -> None:
    # The system's trusted CAs do not know the throwaway CA: the handshake must fail.
    with pytest.raises(MailError, match="could not send"):
        mail.send(briefing(), ["me@example.org"], settings(smtp_server.port))
    assert smtp_server.inbox.messages == []


def test_password_in_the_config_file_is_rejected() -> None:
    with pytest.raises(MailError, match="BRIEF_SMTP_PASSWORD"):
        mail.load_settings({"host": "smtp.example.org", "password": "secret"}, {})


def test_password_only_from_env_or_keyring() -> None:
    class Keyring:
        @staticmethod
        def get_password(service: str, user: str) -> str | None:
            return "from-keyring" if (service, user) == (mail.KEYRING_SERVICE, USER) else None

    table = {"host": "smtp.example.org", "username": USER}
    assert mail.load_settings(table, {}, keyring=Keyring).password == "from-keyring"
    env = {"BRIEF_SMTP_PASSWORD": "from-env", "BRIEF_SMTP_HOST": "mx.example.org"}
    got = mail.load_settings(table, env, keyring=Keyring)
    assert (got.password, got.host) == ("from-env", "mx.example.org")
    assert mail.load_settings(table, {}, keyring=False).password is None
    assert "from-env" not in repr(got)


def test_missing_host_says_what_to_set() -> None:
    with pytest.raises(MailError, match="BRIEF_SMTP_HOST"):
        mail.load_settings({}, {})


def briefing() -> Any:
    from briefing.models import Briefing

    return Briefing(
        title="Briefing, 22 November 2026",
        date=NOW.date(),
        generated_at=NOW,
        model="fake",
        top_lines=[],
        stories=[],
        sources=[],
    )


def test_job_with_password_in_config_fails_before_any_model_call(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    config = add_job(
        tmp_path,
        f'base_url = "{fake_server.base_url}"\n\n[smtp]\nhost = "127.0.0.1"\npassword = "x"\n',
    )
    with pytest.raises(MailError, match="must not hold the password"):
        jobs.run_job(
            "m",
            config_path=config,
            env={},
            now=lambda: NOW,
            state_dir=tmp_path / "state",
            cache_dir=lambda c: tmp_path / "cache",
        )
    assert fake_server.requests == [] and not (tmp_path / "out").exists()


def test_a_failed_delivery_publishes_once_and_the_next_run_sends_only_the_mail(
    smtp_server: Smtp, fake_server: FakeServer, tmp_path: Path
) -> None:
    """Issue 21: the mail failed after publishing and the state was not advanced, so
    each retry briefed again and published another copy (three failed runs left
    2026-11-22, -1331, -1332). Now the briefing is published once, the state says its
    email waits, and each later run tries only the email: no model call, no new file."""
    config = add_job(tmp_path, smtp_config(fake_server, smtp_server))
    out, state = tmp_path / "out", tmp_path / "state" / "m" / "state.json"

    def run(password: str, now: dt.datetime) -> jobs.RunResult:
        env = {"BRIEF_SMTP_PASSWORD": password}
        return run_mail_job(config, tmp_path, smtp_server, now, env)

    with pytest.raises(UnsentError, match=r"refused the login.*brief run m. sends it") as first:
        run("wrong", NOW)
    assert "2026-11-22" in str(first.value) and str(out) in str(first.value)
    published = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"2026-11-22.md", "2026-11-22.html", "2026-11-22.json", "index.html"} <= set(published)
    assert [e.stem for e in archive.load(out).briefings] == ["2026-11-22"]
    recorded = jobs.load_state(tmp_path / "state", "m")
    assert recorded.last_briefing == "2026-11-22" and len(recorded.seen) == 1
    assert [u.stem for u in recorded.unsent] == ["2026-11-22"]
    assert "refused the login" in recorded.unsent[0].error
    sent = len(fake_server.requests)
    for minute in (31, 32):  # the retries of the issue: each fails again, nothing new made
        with pytest.raises(UnsentError, match="2026-11-22"):
            run("wrong", NOW + dt.timedelta(hours=6, minutes=minute))
        assert {p.name: p.read_bytes() for p in out.iterdir()} == published
    assert len(fake_server.requests) == sent and smtp_server.inbox.messages == []

    result = run(PASSWORD, NOW + dt.timedelta(days=1))
    assert result.status == "ok" and len(fake_server.requests) == sent
    assert "emailed a@b.c (2026-11-22)" in result.message and "nothing new" in result.message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == published
    [(to, raw, _)] = smtp_server.inbox.messages
    assert to == ["a@b.c"] and "Bank" in parts(raw)["text/plain"]
    assert jobs.load_state(tmp_path / "state", "m").unsent == []
    assert b"unsent" in state.read_bytes() and b"Bank" not in state.read_bytes()
    again = run(PASSWORD, NOW + dt.timedelta(days=2))  # sent once only
    assert again.status == "nothing new" and len(smtp_server.inbox.messages) == 1


def test_an_unsent_mail_waits_while_new_briefings_are_published(
    smtp_server: Smtp, fake_server: FakeServer, tmp_path: Path
) -> None:
    """The mail server is down for two runs that both have new articles: both are
    published, both emails wait, and the next run sends them oldest first."""
    config = add_job(tmp_path, smtp_config(fake_server, smtp_server))
    inbox = tmp_path / "inbox"

    def run(password: str, now: dt.datetime) -> jobs.RunResult:
        env = {"BRIEF_SMTP_PASSWORD": password}
        return run_mail_job(config, tmp_path, smtp_server, now, env)

    with pytest.raises(UnsentError):
        run("wrong", NOW)
    shutil.copy(EXAMPLES / "tribune-boe-rates.txt", inbox / "tribune-boe-rates.txt")
    with pytest.raises(UnsentError, match="2026-11-22, 2026-11-23"):
        run("wrong", NOW + dt.timedelta(days=1))
    assert [e.stem for e in archive.load(tmp_path / "out").briefings] == [
        "2026-11-22",
        "2026-11-23",
    ]
    result = run(PASSWORD, NOW + dt.timedelta(days=2))
    assert "emailed a@b.c (2026-11-22, 2026-11-23)" in result.message
    assert len(smtp_server.inbox.messages) == 2


def test_job_secrets_appear_in_no_file_log_or_error(
    smtp_server: Smtp, fake_server: FakeServer, tmp_path: Path
) -> None:
    """A scheduled run that fails at the SMTP login, then one that sends: neither the
    API key nor a password (the wrong one or the right one) is in the error, the
    job's log and state, the cache, the briefing files or the email sent."""
    key, wrong = "sk-brief-SECRET-mail-51c0", "wrong-SECRET-pw-93ab"
    config = add_job(tmp_path, smtp_config(fake_server, smtp_server))

    def run(password: str, now: dt.datetime) -> jobs.RunResult:
        env = {"BRIEF_SMTP_PASSWORD": password, "OPENAI_API_KEY": key}
        return run_mail_job(config, tmp_path, smtp_server, now, env)

    with pytest.raises(MailError, match="refused the login") as failed:
        run(wrong, NOW)
    result = run(PASSWORD, NOW + dt.timedelta(days=1))
    assert result.status == "ok" and smtp_server.inbox.messages
    assert fake_server.requests  # the key was used: the model was asked
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.log" for p in files) and any(p.suffix == ".html" for p in files)
    for secret in (key, wrong, PASSWORD):
        assert secret not in str(failed.value) and secret not in result.message
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
        for _, raw, _ in smtp_server.inbox.messages:
            assert secret.encode() not in raw


def test_a_server_that_echoes_the_password_is_scrubbed_everywhere(
    smtp_server: Smtp, fake_server: FakeServer, tmp_path: Path
) -> None:
    """A server that refuses the message after DATA, repeating the password (with a
    terminal escape) in its reply: it reached the error on stderr and the job's
    run.log. Now neither the password nor the escape is in the error, the log, the
    state or any file of the run."""
    smtp_server.inbox.reply = f"554 refused: you logged in with {PASSWORD} \x1b]0;pwned\x07"
    config = add_job(tmp_path, smtp_config(fake_server, smtp_server))
    with pytest.raises(MailError) as failed:
        run_mail_job(config, tmp_path, smtp_server, NOW, {"BRIEF_SMTP_PASSWORD": PASSWORD})
    assert "refused: you logged in with ***" in str(failed.value)
    log = next((tmp_path / "state").rglob("run.log")).read_text()
    assert "you logged in with ***" in log
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        text = path.suffix in (".log", ".json", ".md", ".html")  # not the binary caches
        for secret in (PASSWORD, *(("\x1b",) if text else ())):
            assert secret.encode() not in path.read_bytes(), (path, secret)
    assert PASSWORD not in str(failed.value) and "\x1b" not in str(failed.value)
