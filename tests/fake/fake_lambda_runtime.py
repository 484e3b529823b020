"""fake_lambda_runtime.py -- the AWS Lambda Runtime API on loopback, for tests.

    /usr/bin/python3 tests/fake/fake_lambda_runtime.py [--port N]   # prints "PORT <n>"

What a custom runtime talks to (AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>):

  GET  /2018-06-01/runtime/invocation/next          the next queued invocation (waits for one)
       headers Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
       Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id
  POST /2018-06-01/runtime/invocation/<id>/response
  POST /2018-06-01/runtime/invocation/<id>/error    (Lambda-Runtime-Function-Error-Type)
  POST /2018-06-01/runtime/init/error

and for the test:

  POST /__invoke   {"event": {...}, "deadline_in_ms": 30000, "id": optional}  queues one
  GET  /__results  [{"id", "kind": "response"|"error"|"init_error", "body", "error_type", "at_ms"}]
  GET  /__stats    {"next": n, "next_at_ms": [...], "dispatched": [{"id", "at_ms", "deadline_ms"}]}
"""

import argparse
import json
import select
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


def now_ms():
    return int(time.time() * 1000)


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.queue = []
        self.results = []
        self.next_at = []
        self.dispatched = []


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):   # noqa: A002 -- quiet
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, value, headers=None):
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == PREFIX + "/invocation/next":
            with STATE.cond:
                STATE.next_at.append(now_ms())
                while not STATE.queue:
                    STATE.cond.wait(0.1)
                    if self.client_gone():   # a runtime stopped while it waited: not its invocation
                        self.close_connection = True
                        return
                inv = STATE.queue.pop(0)
                deadline = now_ms() + inv.get("deadline_in_ms", 30000)
                STATE.dispatched.append({"id": inv["id"], "at_ms": now_ms(), "deadline_ms": deadline})
            self.send(200, json.dumps(inv["event"]).encode(), {
                "Lambda-Runtime-Aws-Request-Id": inv["id"],
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:awstopo",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000"})
        elif self.path == "/__results":
            with STATE.cond:
                self.send(200, STATE.results)
        elif self.path == "/__stats":
            with STATE.cond:
                self.send(200, {"next": len(STATE.next_at), "next_at_ms": STATE.next_at,
                                "dispatched": STATE.dispatched})
        else:
            self.send(404, {"error": "no such path"})

    def client_gone(self):
        ready, _, _ = select.select([self.connection], [], [], 0)
        if not ready:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_POST(self):
        data = self.body()
        parts = self.path.split("/")
        if self.path == "/__invoke":
            inv = json.loads(data)
            inv.setdefault("id", str(uuid.uuid4()))
            with STATE.cond:
                STATE.queue.append(inv)
                STATE.cond.notify_all()
            self.send(202, {"id": inv["id"]})
        elif self.path == PREFIX + "/init/error":
            self.record(None, "init_error", data)
        elif self.path.startswith(PREFIX + "/invocation/") and parts[-1] in ("response", "error"):
            self.record(parts[-2], parts[-1], data)
        else:
            self.send(404, {"error": "no such path"})

    def record(self, id_, kind, data):
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        with STATE.cond:
            STATE.results.append({"id": id_, "kind": kind, "body": body, "at_ms": now_ms(),
                                  "error_type": self.headers.get("Lambda-Runtime-Function-Error-Type")})
        self.send(202, {"status": "OK"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
