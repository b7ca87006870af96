"""The SMTP side of mail out: one connection per sending pass, settings from the config.

Settings (nameko config / environment, docs/operations.md "Outbound mail (SMTP)"):
``CHANNELS_SMTP_HOST`` (default localhost), ``CHANNELS_SMTP_PORT`` (25),
``CHANNELS_SMTP_SECURITY`` (``none``, ``starttls`` or ``ssl``), ``CHANNELS_SMTP_USERNAME`` and
``CHANNELS_SMTP_PASSWORD`` (log in when a username is set), ``CHANNELS_SMTP_TIMEOUT_SECONDS`` (10).
"""
import os
import smtplib
import ssl
from dataclasses import dataclass

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

    @classmethod
    def of(cls, config):
        security = str(option(config, "CHANNELS_SMTP_SECURITY", "none")).lower()
        if security not in SECURITIES:
            raise ValueError(f"CHANNELS_SMTP_SECURITY is {security!r}: one of {', '.join(SECURITIES)}")
        return cls(host=option(config, "CHANNELS_SMTP_HOST", "localhost"),
                   port=int(option(config, "CHANNELS_SMTP_PORT", 465 if security == "ssl" else 25)),
                   security=security, username=option(config, "CHANNELS_SMTP_USERNAME"),
                   password=option(config, "CHANNELS_SMTP_PASSWORD"),
                   timeout=float(option(config, "CHANNELS_SMTP_TIMEOUT_SECONDS", 10)))


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
            try:
                self.smtp = self.connect()
            except OSError as exc:  # refused, unreachable, timed out, TLS or login failed
                self.down = f"{type(exc).__name__}: {exc}"[:500]
                raise
        try:
            self.smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            self.reset()  # the server answered: the connection serves the next message
            raise
        except OSError:  # dropped, refused, timed out (smtplib's errors are OSErrors too)
            self.drop()
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
