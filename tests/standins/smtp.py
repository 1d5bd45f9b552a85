"""A real SMTP server on loopback (aiosmtpd) that tests program with answers and faults.

``SMTPStandIn`` runs aiosmtpd's threaded Controller on 127.0.0.1 in one of three
modes: ``plain`` (no TLS), ``starttls`` (STARTTLS offered and required) or
``ssl`` (TLS from the first byte). With ``auth=True`` it requires a login with
``USERNAME``/``PASSWORD``. It keeps every message it accepted, parsed with the
standard ``email`` package, and can answer RCPT (per address) or DATA with a
chosen reply such as ``451 4.3.0 try later`` or ``550 5.1.1 no such user``.
``TestCA`` is a trustme CA with a certificate for 127.0.0.1 and localhost, and
the CA's PEM file for the client's ``ca_file``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

#: Tests that log in over ``plain`` or ``ssl`` make aiosmtpd warn about AUTH without STARTTLS.
AUTH_WITHOUT_STARTTLS = "ignore:Requiring AUTH while not requiring TLS:UserWarning"

USERNAME = "alerts@acme.example"
PASSWORD = "pa55-Wd.only-for-tests"

Mode = Literal["plain", "starttls", "ssl"]


def free_port() -> int:
    """A loopback port nothing listens on (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TestCA:
    """A private CA and a server certificate for 127.0.0.1 / localhost."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(context)
        return context


class Recorder:
    """The aiosmtpd handler: keeps accepted envelopes, or answers with programmed replies."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.rcpt_replies: dict[str, str] = {}  # address -> reply, e.g. "550 5.1.1 no such user"
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SMTPStandIn:
    """An SMTP server on 127.0.0.1:``port``; ``start()`` and ``stop()`` may be called later."""

    def __init__(
        self,
        *,
        mode: Mode = "plain",
        ca: TestCA | None = None,
        auth: bool = False,
        port: int | None = None,
    ) -> None:
        self.recorder = Recorder()
        self.port = port or free_port()
        options: dict[str, Any] = {}
        if mode != "plain":
            assert ca is not None, "TLS modes need a TestCA"
            key = "tls_context" if mode == "starttls" else "ssl_context"
            options[key] = ca.server_context()
            options["require_starttls"] = mode == "starttls"
        if auth:
            # aiosmtpd counts only STARTTLS as TLS; with implicit TLS (ssl) the connection
            # is encrypted too, but AUTH must be allowed "without TLS" to be offered.
            options.update(
                authenticator=authenticator,
                auth_required=True,
                auth_require_tls=mode == "starttls",
            )
        self.controller = Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="mail.acme.example",
            **options,
        )
        self.running = False

    def start(self) -> SMTPStandIn:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    @property
    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.recorder.envelopes:
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed
