"""A webhook receiver in a few lines (docs/webhooks.md): every message's signature checked with the Standard
Webhooks library, each message id kept once (a delivery may come twice), each message printed as one JSON
line. ``--count N``: exit after N messages.

    python3 examples/webhook_receiver.py --port-file PORT --secret-file hook.json --count 3
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--port-file", help="write the port listened on here")
parser.add_argument("--secret-file", required=True, help="the JSON of `webhooks add --json` (its secret)")
parser.add_argument("--count", type=int, help="exit after this many messages")
args = parser.parse_args()
seen: set[str] = set()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        secret = json.loads(Path(args.secret_file).read_text())["secret"]
        try:
            message = Webhook(secret).verify(body, dict(self.headers.items()))
        except WebhookVerificationError:
            self.send_response(400)  # not signed with our secret: refused
            self.end_headers()
            return
        if self.headers["webhook-id"] not in seen:  # at least once: a message may come again, under its id
            seen.add(self.headers["webhook-id"])
            print(json.dumps(message), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


server = HTTPServer(("127.0.0.1", args.port), Receiver)
if args.port_file:
    Path(args.port_file).write_text(str(server.server_address[1]))
while args.count is None or len(seen) < args.count:
    server.handle_request()
sys.exit(0)
