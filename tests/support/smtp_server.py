"""A throw-away SMTP sink for the alert tests: aiosmtpd (PyPI `aiosmtpd`,
installed by scripts/test.sh) on 127.0.0.1, writing every accepted message
into a Maildir (`new/`, with X-MailFrom / X-RcptTo headers added).

    python3 smtp_server.py PORT MAILDIR MODE [CERT KEY] [USER PASSWORD]

MODE: plain | starttls (STARTTLS required) | implicit (TLS from the first
byte). With USER and PASSWORD, AUTH PLAIN/LOGIN is offered (after TLS) and
only that pair is accepted. Prints "ready" when it accepts connections and
runs until SIGTERM.
"""
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult


def main():
    port, maildir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rest = sys.argv[4:]
    context = None
    if mode != "plain":
        cert, key, rest = rest[0], rest[1], rest[2:]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    params = {}
    if rest:
        user, password = rest[0].encode(), rest[1].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = getattr(auth_data, "login", None) == user and \
                getattr(auth_data, "password", None) == password
            return AuthResult(success=ok, handled=False)

        params.update(authenticator=authenticator, auth_require_tls=mode != "plain")
    if mode == "starttls":
        params.update(tls_context=context, require_starttls=True)
    controller = Controller(
        Mailbox(maildir), hostname="127.0.0.1", port=port,
        ssl_context=context if mode == "implicit" else None,
        server_hostname="localhost", **params)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
