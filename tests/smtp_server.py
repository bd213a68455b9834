"""A real SMTP server for Lobby's integration tests (aiosmtpd).

Usage: python3 tests/smtp_server.py DIR [--fail-first N] [--reject-prefix P]

It binds a free port of its own and writes it to DIR/ready once it listens.

Each accepted message is written to DIR as one JSON file (envelope, headers and the decoded
text and HTML parts), named so that a directory listing sorts them by arrival. The first N
DATA commands are answered with a 451 (a transient failure the client must retry), and any
recipient starting with P is refused with a 550 (a permanent one).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, directory, fail_first, reject_prefix):
        self.directory = directory
        self.fail_first = fail_first
        self.reject_prefix = reject_prefix
        self.data_commands = 0
        self.accepted = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_prefix and address.startswith(self.reject_prefix):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands <= self.fail_first:
            return "451 4.3.0 Temporary failure, try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
        }
        self.accepted += 1
        name = f"{self.accepted:06d}.json"
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


async def serve(args):
    handler = Handler(args.directory, args.fail_first, args.reject_prefix)
    loop = asyncio.get_running_loop()
    # Port 0: the system picks a free port, so no other process can take it in between.
    server = await loop.create_server(lambda: SMTP(handler), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    # Tells the test where the server listens (written whole, then renamed into place).
    tmp = os.path.join(args.directory, "ready.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(port))
    os.rename(tmp, os.path.join(args.directory, "ready"))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject-prefix", default="")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
