"""An SMTP server for the alert tests (aiosmtpd): STARTTLS required, AUTH
required after it; every message received is written, decoded, as JSON
(from, to, subject, body) to DIR/<n>.json, and said on stdout."""

import argparse
import email
import email.policy
import json
import pathlib
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            record = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "subject": str(message["subject"]),
                "body": message.get_content(),
                "tls": session.ssl is not None,
                "authenticated": bool(session.authenticated),
                "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
            }
            received.append(record)
            path = out / f"{len(received)}.json"
            path.write_text(json.dumps(record))
            print(f"smtp sink received {path}", flush=True)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, auth_data=auth_data.login if ok else None)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=args.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{args.port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
