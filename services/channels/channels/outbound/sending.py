"""The SMTP side of mail out: a few connections per sending pass, settings from the config.

Settings (nameko config / environment, docs/operations.md "Outbound mail (SMTP)"):
``CHANNELS_SMTP_HOST`` (default localhost), ``CHANNELS_SMTP_PORT`` (25),
``CHANNELS_SMTP_SECURITY`` (``none``, ``starttls`` or ``ssl``), ``CHANNELS_SMTP_USERNAME`` and
``CHANNELS_SMTP_PASSWORD`` (log in when a username is set), ``CHANNELS_SMTP_TIMEOUT_SECONDS`` (10),
``CHANNELS_SMTP_CONNECTIONS`` (4: how many connections a pass sends over side by side).

A pass keeps its connections open from batch to batch: one SMTP round trip per mail is the
cost, not a connection (and TLS, and a login) each. One server's round trips are slow next to
the work of making a mail, so the mails of a batch go over several connections at once, each
in a green thread of its own (``Mailers.send_all``).
"""
import os
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass

import eventlet

SECURITIES = ("none", "starttls", "ssl")


def option(config, name, default=None):
    """Mail out's setting ``name`` (``CHANNELS_...``): the service's config, else the environment, else ``default``."""
    value = config.get(name)
    if value is None or value == "":
        value = os.environ.get(name)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    connections: int = 4

    @classmethod
    def of(cls, config):
        security = str(option(config, "CHANNELS_SMTP_SECURITY", "none")).lower()
        if security not in SECURITIES:
            raise ValueError(f"CHANNELS_SMTP_SECURITY is {security!r}: one of {', '.join(SECURITIES)}")
        return cls(host=option(config, "CHANNELS_SMTP_HOST", "localhost"),
                   port=int(option(config, "CHANNELS_SMTP_PORT", 465 if security == "ssl" else 25)),
                   security=security, username=option(config, "CHANNELS_SMTP_USERNAME"),
                   password=option(config, "CHANNELS_SMTP_PASSWORD"),
                   timeout=float(option(config, "CHANNELS_SMTP_TIMEOUT_SECONDS", 10)),
                   connections=max(1, int(option(config, "CHANNELS_SMTP_CONNECTIONS", 4))))


class ServerDown(ConnectionError):
    """The server could not be reached earlier in this pass: not tried again until the next."""


class Mailer:
    """Sends messages over one SMTP connection, opened at the first and closed at the end;
    a connection that broke is opened again for the next message."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp = None
        self.down = None  # why the server could not be reached: the rest of this pass waits for the next

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def connect(self):
        settings = self.settings
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        return smtp

    def send(self, message, sender: str, recipient: str):
        """Raises what smtplib raises (``rules.smtp_failure`` says whether to try again)."""
        if self.down is not None:
            raise ServerDown(self.down)
        if self.smtp is None:
            self.open()
        try:
            self.smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            self.reset()  # the server answered: the connection serves the next message
            raise
        except OSError:  # dropped, refused, timed out (smtplib's errors are OSErrors too)
            self.drop()
            raise

    def open(self):
        """Connects; raises why not (and the connection is not tried again in this pass)."""
        try:
            self.smtp = self.connect()
        except OSError as exc:  # refused, unreachable, timed out, TLS or login failed
            self.down = f"{type(exc).__name__}: {exc}"[:500]
            raise

    def reset(self):
        try:
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()

    def drop(self):
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def close(self):
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class Mailers:
    """The connections of one sending pass (``settings.connections`` of them, each opened at its
    first mail and kept until the pass ends). ``send_all`` sends a batch: while no connection is
    open its mails go alone over the first, so a server that cannot be reached is tried once per
    pass, not once per connection; the rest side by side, each connection in a green thread taking
    the next mail when it is free. A connection the server would not open there (past a provider's
    limit of connections, say) takes no mail: the others send them, and it is not tried again in
    this pass."""

    def __init__(self, settings: SmtpSettings):
        self.mailers = [Mailer(settings) for _ in range(settings.connections)]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for mailer in self.mailers:
            mailer.close()

    @property
    def down(self):
        """Why the pass's first connection could not be made (None while it could): the server is away."""
        return self.mailers[0].down

    def send_all(self, send, items):
        """``send(index, item, mailer)`` for each item; their answers, in the items' order. ``send``
        must not raise (an exception is the item's answer if it does). ``send`` runs in the green
        threads of the connections: what it shares with the others it guards itself."""
        answers = [None] * len(items)

        def one(index, mailer):
            try:
                answers[index] = send(index, items[index], mailer)
            except Exception as exc:  # noqa: BLE001 - the item's answer; the others go on
                answers[index] = exc

        first, pending = self.mailers[0], deque(range(len(items)))
        # alone until a connection is open (or the first could not be: the rest fail with its reason)
        while pending and all(mailer.smtp is None for mailer in self.mailers):
            one(pending.popleft(), first)

        def worker(mailer):
            while pending:
                if mailer.smtp is None:  # its first mail, or its connection broke: opened before taking one
                    try:
                        mailer.open()
                    except OSError:  # the server would not open this one: the others take the mails
                        return
                    if not pending:  # taken by the others while this one connected
                        return
                one(pending.popleft(), mailer)  # green threads share the queue: each index is taken once

        alive = [mailer for mailer in self.mailers if mailer.down is None]
        pool = eventlet.GreenPool(len(self.mailers))
        for mailer in alive[:max(1, min(len(alive), len(pending)))]:
            pool.spawn(worker, mailer)
        pool.waitall()
        while pending:  # the connections taking them went down meanwhile: one still up, else a reason
            one(pending.popleft(), next((mailer for mailer in self.mailers if mailer.down is None), first))
        return answers
