#!/usr/bin/python3
"""fake_receiver.py -- a recording StackState receiver for awstopo's tests.

Accepts POST /stsAgent/intake and /receiver/stsAgent/intake with the API key
in ?api_key= or the sts-api-key header, a JSON body that may be gzip or
deflate compressed (Content-Encoding). Each accepted payload is appended to
--out as one JSON line (flushed and fsynced) and kept in memory.

    /usr/bin/python3 tests/fake/fake_receiver.py --api-key KEY --out FILE [--port N]
    -> first stdout line "PORT <n>"

Control: GET /__payloads[?since=SEQ], GET /__stats, GET /__health,
POST /__control with {"status": 500, "count": 3} (answer the next 3 intake
requests with 500; with "skip": N, after N more requests answered as usual), {"down": true|false} (close intake connections without
answering), {"delay_ms": N}, {"max_body": BYTES} (413 above BYTES on the
wire), {"max_bytes": BYTES} (413 above BYTES decompressed), {"retry_after": S},
{"clear": true}. Restart it with the same --port and --out to test a
receiver that went away: earlier payloads are reloaded from --out.
The API key is never logged or recorded.
"""

import argparse
import collections
import gzip
import json
import os
import socket
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

INTAKE_PATHS = ("/stsAgent/intake", "/receiver/stsAgent/intake")


class Receiver:
    """The receiver's state: keys, recorded payloads, injected behaviour, counters."""

    def __init__(self, api_keys, out=None, max_body=0, max_bytes=0):
        self.api_keys = set(api_keys)
        self.out = out
        self.lock = threading.Lock()
        self.payloads = []
        self.stats = collections.Counter()
        self.injected = collections.Counter()
        self.inject_status, self.inject_count, self.inject_skip = None, 0, 0
        self.down = False
        self.delay_ms = 0
        self.max_body = max_body
        self.max_bytes = max_bytes
        self.retry_after = None
        self.verbose = False
        if out:
            self._load(out)

    def _load(self, path):
        """Reloads the payloads an earlier run recorded, so seq keeps counting."""
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    self.payloads.append(json.loads(line))

    def next_injected(self):
        """The status to inject for this intake request, or None."""
        with self.lock:
            if self.inject_count <= 0:
                return None
            if self.inject_skip > 0:
                self.inject_skip -= 1
                return None
            self.inject_count -= 1
            self.injected[str(self.inject_status)] += 1
            return self.inject_status

    def record(self, path, encoding, raw_size, payload):
        with self.lock:
            entry = {"seq": len(self.payloads) + 1, "received_at": time.time(),
                     "path": path, "content_encoding": encoding, "bytes": raw_size,
                     "payload": payload}
            self.payloads.append(entry)
            if self.out:
                with open(self.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            return entry["seq"]

    def count(self, name, n=1):
        with self.lock:
            self.stats[name] += n

    def configure(self, cfg):
        known = {"status", "count", "skip", "down", "delay_ms", "max_body", "max_bytes", "retry_after",
                 "clear", "verbose"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError("unknown control keys: " + ", ".join(unknown))
        with self.lock:
            if "status" in cfg:            # {"status": null} cancels
                status = cfg["status"]
                self.inject_status = int(status) if status else None
                self.inject_count = int(cfg.get("count", 1)) if status else 0
                self.inject_skip = int(cfg.get("skip", 0)) if status else 0
            self.down = bool(cfg.get("down", self.down))
            self.delay_ms = float(cfg.get("delay_ms", self.delay_ms))
            self.max_body = int(cfg.get("max_body", self.max_body))
            self.max_bytes = int(cfg.get("max_bytes", self.max_bytes))
            self.retry_after = cfg.get("retry_after", self.retry_after)
            self.verbose = bool(cfg.get("verbose", self.verbose))
            if cfg.get("clear"):
                self.payloads = []

    def snapshot(self):
        with self.lock:
            return dict(self.stats, payloads=len(self.payloads), injected=dict(self.injected),
                        down=self.down, pending_injections=self.inject_count)

    def since(self, seq):
        with self.lock:
            return [p for p in self.payloads if p["seq"] > seq]

    def log(self, line):
        if self.verbose:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


# --- request handling ----------------------------------------------------------------

class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def decompress_body(raw, encoding):
    """The body's bytes after Content-Encoding; raises BadRequest."""
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("", "identity"):
            raise BadRequest(415, "unsupported Content-Encoding %r" % encoding)
    except (OSError, EOFError, zlib.error):
        raise BadRequest(400, "body is not valid %s" % encoding) from None
    return raw


def parse_body(raw):
    """The JSON value of a decompressed body; raises BadRequest."""
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest(400, "body is not valid JSON") from None


def api_key_of(handler, query):
    keys = parse_qs(query).get("api_key")
    return keys[0] if keys else handler.headers.get("sts-api-key")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-receiver/1"
    timeout = 120
    disable_nagle_algorithm = True      # headers and body go out in two writes

    def send_json(self, status, value, extra=None):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, val in (extra or {}).items():
            self.send_header(name, val)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return status

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def refuse(self):
        """Drops the connection without answering (TCP RST)."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()

    def dispatch(self):
        rx = self.server.receiver
        path, _, query = self.path.partition("?")
        body = self.read_body()
        if path.startswith("/__"):
            return self.control(rx, path, query, body)
        if rx.down:
            rx.count("refused")
            rx.log("%s %s refused (down)" % (self.command, path))
            return self.refuse()
        status = self.intake(rx, path, query, body)
        rx.log("%s %s %d" % (self.command, path, status))

    do_GET = do_POST = do_PUT = do_DELETE = dispatch

    def intake(self, rx, path, query, body):
        rx.count("requests")
        if path not in INTAKE_PATHS:
            return self.send_json(404, {"error": "no such path; use /stsAgent/intake"})
        if self.command != "POST":
            return self.send_json(405, {"error": "intake accepts POST only"})
        if rx.delay_ms:
            time.sleep(rx.delay_ms / 1000.0)
        injected = rx.next_injected()
        if injected:
            extra = {"Retry-After": str(rx.retry_after)} if rx.retry_after else None
            return self.send_json(injected, {"error": "injected status %d" % injected}, extra)
        if api_key_of(self, query) not in rx.api_keys:
            rx.count("rejected_auth")
            return self.send_json(403, {"error": "invalid or missing API key "
                                                 "(pass ?api_key= or the sts-api-key header)"})
        if rx.max_body and len(body) > rx.max_body:
            rx.count("too_large")
            return self.send_json(413, {"error": "payload of %d bytes exceeds %d"
                                                 % (len(body), rx.max_body)})
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        try:
            raw = decompress_body(body, encoding)
            if rx.max_bytes and len(raw) > rx.max_bytes:
                rx.count("too_large")
                return self.send_json(413, {"error": "payload of %d bytes (decompressed) exceeds %d"
                                                     % (len(raw), rx.max_bytes)})
            payload = parse_body(raw)
        except BadRequest as e:
            rx.count("bad_request")
            return self.send_json(e.status, {"error": e.message})
        seq = rx.record(path, encoding or "identity", len(body), payload)
        rx.count("accepted")
        rx.count("bytes_in", len(body))
        return self.send_json(200, {"status": "ok", "seq": seq})

    def control(self, rx, path, query, body):
        route = (self.command, path)
        if route == ("GET", "/__payloads"):
            since = int(parse_qs(query).get("since", ["0"])[0])
            return self.send_json(200, rx.since(since))
        if route == ("GET", "/__stats"):
            return self.send_json(200, rx.snapshot())
        if route == ("GET", "/__health"):
            return self.send_json(200, {"ok": True})
        if route == ("POST", "/__control"):
            try:
                rx.configure(json.loads(body or b"{}"))
            except (ValueError, TypeError) as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, rx.snapshot())
        return self.send_json(404, {"error": "unknown control path"})

    def log_message(self, format, *args):     # noqa: A002 -- our own log instead
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main(argv=None):
    p = argparse.ArgumentParser(description="Recording StackState receiver for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--api-key", action="append", default=[],
                   help="accepted API key (repeatable); or set FAKE_RECEIVER_API_KEYS "
                        "(comma-separated) to keep keys off the command line")
    p.add_argument("--out", help="append accepted payloads to this file (JSON lines)")
    p.add_argument("--max-body", type=int, default=0, help="413 above this many bytes on the wire")
    p.add_argument("--max-bytes", type=int, default=0, help="413 above this many bytes decompressed")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    keys = args.api_key + [k for k in os.environ.get("FAKE_RECEIVER_API_KEYS", "").split(",") if k]
    if not keys:
        p.error("no API key: pass --api-key or set FAKE_RECEIVER_API_KEYS")
    rx = Receiver(keys, args.out, args.max_body, args.max_bytes)
    rx.verbose = args.verbose
    server = Server((args.host, args.port), Handler)
    server.receiver = rx
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
