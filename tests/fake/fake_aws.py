#!/usr/bin/python3
"""fake_aws.py -- a fake AWS endpoint on loopback for awstopo's tests.

It checks every request's SigV4 signature with botocore (sigcheck.py), finds
the service and operation (awsproto.py), replays a recorded response
(recorded.py) or a generated EC2 account (synthetic.py), and injects faults:
throttling, 5xx, connection resets, stalls, truncated or cut bodies and latency, at
random rates or as "fail the first N calls to X" rules.

    /usr/bin/python3 tests/fake/fake_aws.py --fixtures DIR --creds AKID:SECRET
    -> first stdout line "PORT <n>"; then AWS_ENDPOINT_URL=http://127.0.0.1:<n>

Control: POST /__control (JSON, same keys as --config), GET /__stats,
GET /__requests, GET /__account, GET /__health. The format of fixtures, the control keys and
the error codes are described in tests/fake/README.md. Secrets are never
logged: the access log (--verbose, stderr) shows method, path, operation and
status only.
"""

import argparse
import collections
import json
import os
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awsproto      # noqa: E402
import recorded      # noqa: E402
import sigcheck      # noqa: E402
import synthetic     # noqa: E402
import synthetic_account  # noqa: E402
import cloudwatch    # noqa: E402
import install_account    # noqa: E402
import wire          # noqa: E402

FAULT_KINDS = ("reset", "stall", "truncate", "throttle", "error", "unavailable", "status", "cut")
RATE_KEYS = ("reset_rate", "stall_rate", "truncate_rate", "throttle_rate", "error_rate", "cut_rate")
SECRET_PARAM = re.compile(r"WebIdentityToken|SAMLAssertion|SecretAccessKey|SessionToken"
                          r"|Password|^Value$", re.I)     # Value: ssm PutParameter's (the API key)
CFN_PARAM_KEY = re.compile(r"^(.*\.member\.\d+)\.ParameterKey$")
SECRET_CFN_PARAM = re.compile(r"^(ApiKey|ExternalId)$")
SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


# --- faults --------------------------------------------------------------------

class Fault:
    """One injected fault: kind, and for kind "status" the error to return."""

    def __init__(self, kind, status=None, code=None, message=None):
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message


def parse_rule(spec):
    """A --fail rule "[service.]Operation:N:kind[:status:code]" -> dict."""
    parts = spec.split(":")
    if len(parts) not in (3, 5):
        raise ValueError("a fail rule is [service.]Operation:N:kind or "
                         "[service.]Operation:N:status:STATUS:CODE")
    target, count, kind = parts[0], parts[1], parts[2]
    service, _, operation = target.rpartition(".")
    rule = {"service": service or None, "operation": operation, "count": int(count),
            "kind": kind}
    if len(parts) == 5:
        rule.update(kind="status", status=int(parts[3]), code=parts[4])
    return rule


class Faults:
    """Fault settings: random rates, latency and deterministic rules. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.rates = {k: 0.0 for k in RATE_KEYS}
        self.stall_seconds = 5.0
        self.latency_ms = 0
        self.rng = random.Random()
        self.rules = []

    def configure(self, cfg):
        with self._lock:
            for key in RATE_KEYS:
                if key in cfg:
                    self.rates[key] = float(cfg[key])
            if "stall_seconds" in cfg:
                self.stall_seconds = float(cfg["stall_seconds"])
            if "latency_ms" in cfg:
                self.latency_ms = float(cfg["latency_ms"])
            if "seed" in cfg:
                self.rng.seed(cfg["seed"])
            if cfg.get("clear_rules"):
                self.rules = []
            fail = cfg.get("fail") or []
            for rule in fail if isinstance(fail, list) else [fail]:
                self.rules.append(self._rule(rule))

    @staticmethod
    def _rule(rule):
        if isinstance(rule, str):
            rule = parse_rule(rule)
        kind = rule.get("kind", "error")
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r" % kind)
        if kind == "status" and not (rule.get("status") and rule.get("code")):
            raise ValueError("a 'status' rule needs status and code")
        return {"service": rule.get("service"), "operation": rule.get("operation", "*"),
                "count": int(rule.get("count", 1)), "kind": kind,
                "status": rule.get("status"), "code": rule.get("code"),
                "message": rule.get("message")}

    def _from_rules(self, service, operation):
        for rule in self.rules:
            if rule["count"] <= 0:
                continue
            if rule["service"] not in (None, service):
                continue
            if rule["operation"] not in ("*", operation):
                continue
            rule["count"] -= 1
            return Fault(rule["kind"], rule["status"], rule["code"], rule["message"])
        return None

    def _from_rates(self):
        draw = self.rng.random()
        for key in RATE_KEYS:
            draw -= self.rates[key]
            if draw < 0:
                kind = key[:-len("_rate")]
                if kind == "error" and self.rng.random() < 0.5:
                    kind = "unavailable"
                return Fault(kind)
        return None

    def pick(self, service, operation):
        """The fault for this call (rules first, then the random rates), or None."""
        with self._lock:
            return self._from_rules(service, operation) or self._from_rates()

    def latency(self):
        with self._lock:
            return self.latency_ms / 1000.0

    def stall(self):
        with self._lock:
            return self.stall_seconds

    def snapshot(self):
        with self._lock:
            return dict(self.rates, stall_seconds=self.stall_seconds,
                        latency_ms=self.latency_ms, rules=[dict(r) for r in self.rules])


# --- statistics ------------------------------------------------------------------

class Stats:
    """Counters for GET /__stats, and the last requests for GET /__requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.requests = collections.defaultdict(collections.Counter)
            self.counters = collections.Counter()
            self.faults = collections.Counter()
            self.auth_failures = collections.Counter()
            self.statuses = collections.Counter()
            self.recent = collections.deque(maxlen=1000)

    def bump(self, name, n=1):
        with self._lock:
            self.counters[name] += n

    def call(self, service, operation):
        with self._lock:
            self.requests[service][operation] += 1
            self.counters["total"] += 1

    def fault(self, kind):
        with self._lock:
            self.faults[kind] += 1

    def auth_failure(self, code):
        with self._lock:
            self.auth_failures[code] += 1
            if code == "SignatureDoesNotMatch":
                self.counters["signature_failures"] += 1

    def record(self, entry):
        with self._lock:
            self.statuses[str(entry["status"])] += 1
            self.recent.append(entry)

    def snapshot(self):
        with self._lock:
            return {
                "total": self.counters["total"],
                "connections": self.counters["connections"],
                "signature_failures": self.counters["signature_failures"],
                "unmatched": self.counters["unmatched"],
                "requests": {s: dict(ops) for s, ops in self.requests.items()},
                "auth_failures": dict(self.auth_failures),
                "faults": dict(self.faults),
                "statuses": dict(self.statuses),
            }

    def recent_requests(self):
        with self._lock:
            return list(self.recent)


# --- the fake's state ----------------------------------------------------------

class FakeAws:
    """Everything a request handler needs: models, fixtures, creds, faults, stats."""

    def __init__(self, model_dirs=None):
        self.models = awsproto.Models(model_dirs)
        self.store = recorded.FixtureStore(None)
        self.creds = sigcheck.CredentialTable()
        self.faults = Faults()
        self.stats = Stats()
        self.synthetic = None
        self.synthetic_account = None
        self.cloudwatch = None
        self.account = None
        self._wire = {}
        self.max_skew = 900
        self.missing = "error"
        self.verbose = False

    CONFIG_KEYS = set(RATE_KEYS) | {
        "stall_seconds", "latency_ms", "seed", "fail", "clear_rules", "reset_stats",
        "creds", "remove_creds", "expired_tokens", "fixtures", "reset_fixtures",
        "max_skew", "missing", "synthetic", "synthetic_account", "cloudwatch", "account", "account_settings",
        "verbose"}

    def configure(self, cfg):
        """Applies a --config / POST /__control document; ValueError on bad keys."""
        unknown = sorted(set(cfg) - self.CONFIG_KEYS)
        if unknown:
            raise ValueError("unknown control keys: " + ", ".join(unknown))
        self.faults.configure(cfg)
        for spec in cfg.get("creds") or []:
            self.creds.add_spec(spec)
        for akid in cfg.get("remove_creds") or []:
            self.creds.remove(akid)
        for token in cfg.get("expired_tokens") or []:
            self.creds.expire_token(token)
        if "fixtures" in cfg:
            self.store = recorded.FixtureStore(cfg["fixtures"])
        if cfg.get("reset_fixtures"):
            self.store.reset_counters()
        if cfg.get("reset_stats"):
            self.stats.reset()
        if "max_skew" in cfg:
            self.max_skew = float(cfg["max_skew"])
        if "missing" in cfg:
            if cfg["missing"] not in ("error", "empty"):
                raise ValueError("missing must be 'error' or 'empty'")
            self.missing = cfg["missing"]
        if "synthetic" in cfg:
            n = cfg["synthetic"]
            self.synthetic = synthetic.Synthetic(int(n)) if n else None
        if "synthetic_account" in cfg:
            n = cfg["synthetic_account"]
            self.synthetic_account = synthetic_account.SyntheticAccount(int(n), self.models) if n else None
        if "cloudwatch" in cfg:
            self.cloudwatch = cloudwatch.CloudWatch(cfg["cloudwatch"]) if cfg["cloudwatch"] else None
        if "account" in cfg:
            self.account = install_account.InstallAccount(cfg["account"]) \
                if cfg["account"] not in (None, False) else None
        if "account_settings" in cfg:       # failure injection changed, the account kept
            if self.account is None:
                raise ValueError("account_settings: no account")
            self.account.settings(cfg["account_settings"])
        if "verbose" in cfg:
            self.verbose = bool(cfg["verbose"])

    def public_config(self):
        """Settings safe to show: no secrets, only access key ids."""
        return {"faults": self.faults.snapshot(), "access_keys": self.creds.access_keys(),
                "fixtures": self.store.root, "max_skew": self.max_skew,
                "missing": self.missing,
                "synthetic": self.synthetic.account.instances if self.synthetic else None}

    def log(self, line):
        if self.verbose:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


# --- one request -----------------------------------------------------------------

class Call:
    """A request being served: what arrived, and what the fake made of it."""

    def __init__(self, handler, body):
        self.handler = handler
        self.method = handler.command
        self.target = handler.path
        self.path, _, self.query = handler.path.partition("?")
        self.header_pairs = list(handler.headers.items())
        self.headers = {k.lower(): v for k, v in reversed(self.header_pairs)}
        self.body = body
        self.service = "unknown"
        self.protocol = "json"
        self.operation = None
        self.region = "us-east-1"
        self.access_key = None
        self.params = {}
        self.request_id = awsproto.new_request_id()
        self.status = None
        self.fault = None

    # -- writing --
    def send(self, status, headers, body):
        self.status = status
        h = self.handler
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if self.method != "HEAD":
            h.wfile.write(body)

    def send_error(self, status, code, message):
        headers, body = awsproto.error_body(self.protocol, self.service, code, message,
                                            self.request_id, status)
        headers.update(awsproto.request_id_headers(self.service, self.request_id))
        self.send(status, headers, body)

    def send_truncated(self, status, headers, body):
        """Headers promising more body than is sent; then the connection closes."""
        self.status = status
        h = self.handler
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body) + max(64, len(body))))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        h.close_connection = True

    def reset(self):
        """No response; the handler closes the socket with a TCP RST when it finishes."""
        self.status = 0
        self.handler.close_connection = True
        self.handler.abort = True


def _redacted_params(params):
    if not isinstance(params, dict):
        return {}
    out = {k: ("<redacted>" if SECRET_PARAM.search(k) else v) for k, v in params.items()}
    # CloudFormation template parameters that hold secrets (the StackSet's NoEcho ones)
    for k, v in params.items():
        m = CFN_PARAM_KEY.match(k)
        if m and SECRET_CFN_PARAM.match(str(v)) and m.group(1) + ".ParameterValue" in out:
            out[m.group(1) + ".ParameterValue"] = "<redacted>"
    return out


# --- serving an AWS call ---------------------------------------------------------

def identify(fake, call):
    """Sets service, protocol and region from the credential scope and request shape."""
    action = awsproto.action_params(call.query, call.headers, call.body)
    scope = SCOPE.search(call.headers.get("authorization", ""))
    if scope:
        call.region = scope.group(3)
        call.service = fake.models.resolve(scope.group(4), action.get("Version"))
    elif action.get("Action") in awsproto.UNSIGNED_ACTIONS:
        call.service = awsproto.UNSIGNED_ACTIONS[action["Action"]]
    call.protocol = awsproto.detect_protocol(call.headers, action,
                                             fake.models.protocol(call.service))
    return action


def authenticate(fake, call, action):
    """Raises sigcheck.AuthError unless the request is properly signed."""
    if "authorization" not in call.headers and action.get("Action") in awsproto.UNSIGNED_ACTIONS:
        return
    identity = sigcheck.verify(call.method, call.target, call.header_pairs, call.body,
                               fake.creds, max_skew=fake.max_skew)
    call.access_key = identity.access_key


def find_operation(fake, call, action):
    """Sets call.operation and call.params; raises awsproto.ProtocolError."""
    if call.protocol == "json":
        call.operation = awsproto.json_operation(call.headers)
        call.params = awsproto.json_body(call.body)
        return
    if call.protocol in ("query", "ec2"):
        call.operation = action.get("Action")
        call.params = action
        if not call.operation:
            raise awsproto.ProtocolError(400, "MissingAction", "no Action parameter")
        return
    query = awsproto.parse_query(call.query)
    model = fake.models.get(call.service)
    routes = awsproto.fixture_routes(fake.store.routes(call.service))
    routes += model.routes if model else []
    call.operation, labels = awsproto.route_rest(routes, call.method, call.path, query)
    if not call.operation:
        raise awsproto.ProtocolError(400, "UnknownOperationException",
                                     "no %s operation for %s %s"
                                     % (call.service, call.method, call.path))
    call.params = dict(query, **labels)
    if call.service == "s3":
        # routes S3 shares between operations; a header or query key tells them apart
        if call.operation == "CopyObject" and "x-amz-copy-source" not in call.headers:
            call.operation = "PutObject"
        elif call.operation == "AbortMultipartUpload" and "uploadId" not in call.params:
            call.operation = "DeleteObject"
    if call.protocol == "rest-json":
        call.params.update(awsproto.json_body(call.body))


def success_headers(fake, call, extra):
    model = fake.models.get(call.service)
    headers = {"Content-Type": awsproto.content_type(call.protocol, model)}
    headers.update(awsproto.request_id_headers(call.service, call.request_id))
    headers.update(extra)
    return headers


def find_response(fake, call):
    """(status, headers, body) to answer with; or None if nothing matches."""
    found = fake.store.find(call.service, call.operation, call.params, call.protocol)
    if found:
        if found.delay_ms:
            time.sleep(found.delay_ms / 1000.0)
        return found.status, success_headers(fake, call, found.headers), found.body
    if fake.synthetic and fake.synthetic.handles(call.service, call.operation):
        try:
            body = fake.synthetic.respond(call.operation, call.params, call.region,
                                          call.request_id)
        except synthetic.BadRequest as e:
            return _error_triple(call, 400, e.code, e.message)
        return 200, success_headers(fake, call, {}), body
    sa = fake.synthetic_account
    if sa and sa.handles(call.service, call.operation):
        try:
            body = sa.respond(call.service, call.protocol, call.operation, call.params, call.region,
                              call.request_id, call.body)
        except synthetic_account.NotFound as e:
            return _error_triple(call, e.status, e.code, e.message)
        return 200, success_headers(fake, call, {}), body
    if fake.cloudwatch and fake.cloudwatch.handles(call.service, call.operation):
        if call.protocol != "json":
            return _error_triple(call, 400, "FakeUnsupported", "the fake CloudWatch speaks json only")
        try:
            body = fake.cloudwatch.respond(call.operation, call.params, call.region)
        except cloudwatch.BadRequest as e:
            return _error_triple(call, 400, e.code, e.message)
        return 200, success_headers(fake, call, {}), body
    if fake.account and fake.account.handles(call.service, call.operation):
        return account_answer(fake, call)
    if fake.missing == "empty" and not fake.store.has(call.service, call.operation):
        return 200, success_headers(fake, call, {}), awsproto.empty_success(call.protocol,
                                                                            call.operation)
    return None


def wire_model(fake, service, operation):
    """The first model of the service that has the operation (the project's
    trimmed models lack most of what the install paths call)."""
    for path in fake.models._find_files(service):
        if path not in fake._wire:
            with open(path, encoding="utf-8") as f:
                fake._wire[path] = wire.Model(json.load(f))
        if operation in fake._wire[path].data["operations"]:
            return fake._wire[path]
    return None


def account_answer(fake, call):
    """The stateful install account (install_account.py) answers."""
    model = wire_model(fake, call.service, call.operation)
    params = dict(call.params)
    if call.protocol.startswith("rest-"):     # query string and labels by member name
        ref = model.data["operations"][call.operation].get("input")
        for name, member in (model.shape(ref).get("members", {}) if ref else {}).items():
            wire_name = member.get("locationName")
            if wire_name and wire_name in params and name not in params:
                params[name] = params[wire_name]
    try:
        result, headers = fake.account.respond(call.service, call.operation, params, call.region, call.body)
    except install_account.Error as e:
        return _error_triple(call, e.status, e.code, e.message)
    body = b"" if call.service == "s3" and not result else \
        wire.serialize(model, call.protocol, call.operation, result, call.request_id)
    return 200, success_headers(fake, call, headers), body


def _error_triple(call, status, code, message):
    headers, body = awsproto.error_body(call.protocol, call.service, code, message,
                                        call.request_id, status)
    headers.update(awsproto.request_id_headers(call.service, call.request_id))
    return status, headers, body


def fault_response(call, fault):
    """(status, headers, body) for an error-kind fault."""
    if fault.kind == "throttle":
        status, code = awsproto.throttle_error(call.protocol, call.service)
        return _error_triple(call, status, code, "Rate exceeded")
    if fault.kind in ("error", "unavailable"):
        status, code = awsproto.server_error(call.protocol,
                                             503 if fault.kind == "unavailable" else 500)
        return _error_triple(call, status, code, "injected server error")
    return _error_triple(call, fault.status, fault.code,
                         fault.message or "injected %s" % fault.code)


def no_match_response(fake, call):
    fake.stats.bump("unmatched")
    names = ", ".join(sorted(call.params)) if isinstance(call.params, dict) else ""
    if fake.store.has(call.service, call.operation):
        why = "no recorded response for %s.%s matches the parameters (%s)" % (
            call.service, call.operation, names or "none")
    else:
        why = "no recorded responses for %s.%s (expected %s)" % (
            call.service, call.operation, fake.store.path(call.service, call.operation))
    return _error_triple(call, 400, "FakeNoRecordedResponse", why)


def serve_call(fake, call):
    """Handles one AWS request from authentication to the response on the wire."""
    latency = fake.faults.latency()
    if latency:
        time.sleep(latency)
    action = identify(fake, call)
    try:
        authenticate(fake, call, action)
    except sigcheck.AuthError as e:
        fake.stats.auth_failure(e.code)
        if e.detail:
            fake.log("signature mismatch; canonical request expected:\n" + e.detail)
        return call.send_error(e.status, e.code, e.message)
    try:
        find_operation(fake, call, action)
    except awsproto.ProtocolError as e:
        return call.send_error(e.status, e.code, e.message)
    fake.stats.call(call.service, call.operation)
    respond(fake, call, fake.faults.pick(call.service, call.operation))


ERROR_FAULTS = ("throttle", "error", "unavailable", "status")


def recorded_answer(fake, call):
    """(status, headers, body) from the fixtures, synthetic data or a no-match error."""
    try:
        return find_response(fake, call) or no_match_response(fake, call)
    except recorded.FixtureError as e:
        return _error_triple(call, 500, "FakeBadFixture", str(e))


def respond(fake, call, fault):
    """Applies the fault (if any) and sends the answer."""
    kind = fault.kind if fault else None
    if fault:
        call.fault = kind
        fake.stats.fault(kind)
    if kind == "reset":
        return call.reset()
    if kind == "stall":
        time.sleep(fake.faults.stall())
    answer = fault_response(call, fault) if kind in ERROR_FAULTS else recorded_answer(fake, call)
    if kind == "truncate":
        return call.send_truncated(*answer)
    if kind == "cut":          # half the body, with a Content-Length that says so
        status, headers, body = answer
        return call.send(status, headers, body[: len(body) // 2])
    call.send(*answer)


# --- control endpoint ---------------------------------------------------------------

def serve_control(fake, call):
    """GET /__stats, /__requests, /__account, /__health; POST /__control."""
    route = (call.method, call.path)
    if route == ("GET", "/__stats"):
        return send_json(call, 200, fake.stats.snapshot())
    if route == ("GET", "/__account"):
        return send_json(call, 200, fake.account.inventory() if fake.account else None)
    if route == ("GET", "/__requests"):
        return send_json(call, 200, fake.stats.recent_requests())
    if route == ("GET", "/__health"):
        return send_json(call, 200, {"ok": True})
    if route == ("POST", "/__control"):
        try:
            fake.configure(json.loads(call.body or b"{}"))
        except (ValueError, TypeError, KeyError) as e:
            return send_json(call, 400, {"error": str(e)})
        return send_json(call, 200, fake.public_config())
    return send_json(call, 404, {"error": "unknown control path %s" % call.path})


def send_json(call, status, value):
    call.send(status, {"Content-Type": "application/json"}, json.dumps(value).encode())


# --- HTTP plumbing ----------------------------------------------------------------

def read_body(handler):
    """The request body, from Content-Length or chunked transfer encoding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass                  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler; every method goes to the same dispatcher."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-aws/1"
    timeout = 120                       # idle keep-alive connections are dropped
    disable_nagle_algorithm = True      # no 40 ms wait for a delayed ACK
    # A buffered writer: headers and a small body leave in one send, flushed
    # when the request is done (handle_one_request), as a real endpoint sends a
    # small answer in one segment. Unbuffered, they went out in two, and every
    # client paid a second read (and often a wait) for each answer.
    wbufsize = -1

    def setup(self):
        super().setup()
        self.counted = False            # connections that carried AWS calls
        self.abort = False              # end with a TCP RST (reset fault)

    def finish(self):
        super().finish()
        if self.abort:                  # SO_LINGER 0 turns close() into an RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    def dispatch(self):
        fake = self.server.fake
        call = Call(self, read_body(self))
        if call.path.startswith("/__"):
            return serve_control(fake, call)
        if not self.counted:
            self.counted = True
            fake.stats.bump("connections")
        try:
            serve_call(fake, call)
        except (BrokenPipeError, ConnectionResetError):
            call.status = 0
        except Exception:               # a bug in the fake: say so loudly, not as a reset
            traceback.print_exc()
            if call.status is None:
                call.send_error(500, "FakeInternalError", "fake_aws.py failed; see its stderr")
        finally:
            finish_call(fake, call)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = dispatch

    def log_message(self, format, *args):     # noqa: A002 -- our own access log instead
        pass


def finish_call(fake, call):
    status = call.status if call.status is not None else 0
    fake.stats.record({"method": call.method, "path": call.path, "service": call.service,
                       "operation": call.operation, "status": status,
                       "fault": call.fault, "access_key": call.access_key,
                       "params": _redacted_params(call.params)})
    fake.log("%s %s %s.%s %s%s" % (call.method, call.path, call.service, call.operation,
                                   status, " fault=" + call.fault if call.fault else ""))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


# --- command line ------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake AWS endpoint for awstopo tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = an ephemeral port")
    p.add_argument("--fixtures", help="directory of recorded responses")
    p.add_argument("--models", action="append",
                   help="botocore model directory, searched before the defaults")
    p.add_argument("--config", help="JSON file with the same keys as POST /__control")
    p.add_argument("--creds", action="append", default=[], metavar="AKID:SECRET[:TOKEN]")
    p.add_argument("--expired-token", action="append", default=[])
    for key in RATE_KEYS:
        p.add_argument("--" + key.replace("_", "-"), type=float)
    p.add_argument("--stall-seconds", type=float)
    p.add_argument("--latency-ms", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--fail", action="append", default=[],
                   metavar="[SVC.]OP:N:KIND")
    p.add_argument("--synthetic", type=int, metavar="N")
    p.add_argument("--synthetic-account", type=int, metavar="N")
    p.add_argument("--max-skew", type=float, help="seconds of clock skew allowed (0 = off)")
    p.add_argument("--missing", choices=("error", "empty"))
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM; tests make a throwaway CA)")
    p.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    return p.parse_args(argv)


def config_from_args(args):
    cfg = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            cfg.update(json.load(f))
    cfg["creds"] = list(cfg.get("creds") or []) + args.creds
    cfg["expired_tokens"] = list(cfg.get("expired_tokens") or []) + args.expired_token
    cfg["fail"] = list(cfg.get("fail") or []) + args.fail
    for key in RATE_KEYS + ("stall_seconds", "latency_ms", "seed", "fixtures", "synthetic",
                            "synthetic_account", "max_skew", "missing"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    if args.verbose:
        cfg["verbose"] = True
    return cfg


def main(argv=None):
    args = parse_args(argv)
    fake = FakeAws(args.models)
    try:
        fake.configure(config_from_args(args))
    except (ValueError, OSError) as e:
        sys.exit("fake_aws: %s" % e)
    server = Server((args.host, args.port), Handler)
    server.fake = fake
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # the handshake runs in the handler's thread (on its first read), so a
        # client that rejects the certificate holds up no one else
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
