"""Email delivery of a briefing: one multipart message, text and HTML, over SMTP.

The settings come from the ``[smtp]`` table of the config file and the environment
(the environment wins)::

    [smtp]
    host = "smtp.example.org"
    port = 587
    username = "me@example.org"
    sender = "brief <me@example.org>"

    BRIEF_SMTP_HOST, BRIEF_SMTP_PORT, BRIEF_SMTP_USERNAME, BRIEF_SMTP_SENDER
    BRIEF_SMTP_PASSWORD         the password: only here, or in the system keyring

The password is never read from the config file (a file that may be shared or
committed): one there is an error that says where to put it instead. Without it in
the environment, brief asks the ``keyring`` package, when installed, for the
password of service ``brief-smtp`` and the username.

The connection is upgraded with STARTTLS (RFC 3207) before logging in; a server
that does not offer it is refused unless ``starttls = false`` is set for a local
relay. The message is built with :class:`email.message.EmailMessage`: the Markdown
briefing as the ``text/plain`` part and the HTML page as the ``text/html``
alternative (RFC 2046 multipart/alternative, plainest first).
"""

from __future__ import annotations

import importlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from briefing import mdrender, render
from briefing.errors import MailError
from briefing.models import Briefing
from briefing.secrets import Scrubber

ENV_VARS = {
    "BRIEF_SMTP_HOST": "host",
    "BRIEF_SMTP_PORT": "port",
    "BRIEF_SMTP_USERNAME": "username",
    "BRIEF_SMTP_SENDER": "sender",
}
PASSWORD_ENV = "BRIEF_SMTP_PASSWORD"
KEYRING_SERVICE = "brief-smtp"


class SmtpSettings(BaseModel):
    model_config = {"extra": "forbid"}

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    sender: str | None = None
    starttls: bool = True
    timeout: float = Field(default=60.0, gt=0)


def load_settings(
    table: Mapping[str, Any] | None, env: Mapping[str, str], *, keyring: Any = None
) -> SmtpSettings:
    """SMTP settings from the config file's ``[smtp]`` table and ``env``.

    ``keyring`` is the keyring module to ask for the password (None: import it if
    installed; False: do not ask).
    """
    table = dict(table or {})
    if "password" in table:
        raise MailError(
            "the config file's [smtp] table must not hold the password. Remove it and set "
            f"{PASSWORD_ENV} in the environment, or store it in the system keyring "
            f"(keyring set {KEYRING_SERVICE} USERNAME)."
        )
    merged: dict[str, Any] = dict(table)
    for var, key in ENV_VARS.items():
        if env.get(var):
            merged[key] = env[var]
    if not merged.get("host"):
        raise MailError(
            "email delivery needs an SMTP server: set host in the config file's [smtp] "
            "table or BRIEF_SMTP_HOST."
        )
    try:
        settings = SmtpSettings.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise MailError(f"SMTP setting '{field}': {first['msg']}.") from err
    password = env.get(PASSWORD_ENV) or _from_keyring(settings.username, keyring)
    return settings.model_copy(update={"password": password})


def _from_keyring(username: str | None, keyring: Any) -> str | None:
    if username is None or keyring is False:
        return None
    if keyring is None:
        try:
            keyring = importlib.import_module("keyring")
        except ImportError:
            return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, username)
    except Exception:  # any keyring backend error: no password from there
        return None
    return str(value) if value else None


def build_message(briefing: Briefing, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """The briefing as a multipart/alternative message: Markdown text, then HTML."""
    message = EmailMessage()
    count = len(briefing.stories)
    message["Subject"] = f"{briefing.title}: {count} {'story' if count == 1 else 'stories'}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(briefing.generated_at.timestamp(), localtime=True)
    message["Message-ID"] = make_msgid(domain="brief.invalid")
    message.set_content(mdrender.to_markdown(briefing))
    message.add_alternative(render.to_html(briefing), subtype="html")
    return message


def send(
    briefing: Briefing,
    to: Sequence[str],
    settings: SmtpSettings,
    *,
    context: ssl.SSLContext | None = None,
) -> None:
    """Send ``briefing`` to ``to``. ``context`` checks the server's certificate
    (default: the system's trusted certificates). A server's reply can repeat the
    password or hold terminal escapes: every error leaves scrubbed (briefing/secrets.py)."""
    try:
        _send(briefing, to, settings, context=context)
    except MailError as err:
        scrub = Scrubber([settings.password] if settings.password else [])
        raise MailError(scrub.line(str(err))) from err.__cause__


def _send(
    briefing: Briefing,
    to: Sequence[str],
    settings: SmtpSettings,
    *,
    context: ssl.SSLContext | None = None,
) -> None:
    sender = settings.sender or settings.username
    if not sender:
        raise MailError("set sender (or username) in the [smtp] table or BRIEF_SMTP_SENDER.")
    message = build_message(briefing, sender=sender, to=to)
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        f"the SMTP server {where} does not offer STARTTLS; brief will not send "
                        "the password or the briefing in clear. Use a server that does "
                        "(or, for a local relay only, starttls = false in [smtp])."
                    )
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                if not settings.password:
                    raise MailError(
                        f"no SMTP password for {settings.username}: set {PASSWORD_ENV} or "
                        f"store it in the keyring (service {KEYRING_SERVICE})."
                    )
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as err:
        raise MailError(
            f"the SMTP server {where} refused the login of {settings.username}: check "
            f"{PASSWORD_ENV}."
        ) from err
    except smtplib.SMTPRecipientsRefused as err:
        refused = ", ".join(err.recipients)
        raise MailError(f"the SMTP server {where} refused the recipients {refused}.") from err
    except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
        raise MailError(
            f"could not send the briefing through {where}: {err}. Check the [smtp] "
            "settings and that the server is reachable."
        ) from err
