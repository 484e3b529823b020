"""awsproto.py -- the AWS wire protocols as the fake endpoint needs them.

Given a request that reached the fake, this module answers: which service
(model directory) is it for, which protocol does it speak, which operation
does it call, what are its parameters (as a flat dict, for fixture matching),
and what does an error look like in that protocol. Nothing here does I/O on
sockets; models are read lazily from botocore-format model directories.

Protocols: "query", "ec2" (Action= form), "json" (X-Amz-Target), "rest-json",
"rest-xml" (operation chosen from method + path, using the model's
http.requestUri or a fixture directory's _routes.json).
"""

import glob
import json
import os
import re
import threading
import uuid
from urllib.parse import unquote
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
# Full botocore models first (routing needs every operation); the project's
# trimmed models/ only as a last resort.
DEFAULT_MODEL_DIRS = [
    os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "aws-models")),
    os.path.normpath(os.path.join(HERE, "..", "..", "models")),
    # botocore's own copy (Debian's python3-botocore, on every machine that runs
    # the fake): older, so only for operations the models above leave out
    "/usr/lib/python3/dist-packages/botocore/data",
]

# Signing names that differ from the model directory name. Services whose
# signing name is their directory name need no entry.
SIGNING_ALIASES = {
    "elasticloadbalancing": ["elb", "elbv2"],
    "monitoring": ["cloudwatch"],
    "tagging": ["resourcegroupstaggingapi"],
    "execute-api": ["apigateway"],
    "email": ["ses"],
    "states": ["stepfunctions"],
}

# Used when no model is found, so the fake still works for these services.
FALLBACK_PROTOCOLS = {
    "apigateway": "rest-json", "autoscaling": "query", "cloudformation": "query",
    "cloudtrail": "json", "cloudwatch": "query", "dynamodb": "json", "ec2": "ec2",
    "ecs": "json", "elb": "query", "elbv2": "query", "events": "json",
    "firehose": "json", "kinesis": "json", "lambda": "rest-json", "rds": "query",
    "redshift": "query", "resourcegroupstaggingapi": "json", "route53": "rest-xml",
    "s3": "rest-xml", "sns": "query", "sqs": "json", "sts": "query",
}

# Operations AWS accepts without a signature (STS federation calls).
UNSIGNED_ACTIONS = {"AssumeRoleWithWebIdentity": "sts", "AssumeRoleWithSAML": "sts"}


class ProtocolError(Exception):
    """A request the fake cannot place: status, AWS error code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- models ------------------------------------------------------------------

class ServiceModel:
    """What the fake uses from one botocore service-2.json."""

    def __init__(self, name, data):
        meta = data.get("metadata", {})
        self.name = name
        protocol = meta.get("protocol", FALLBACK_PROTOCOLS.get(name, "json"))
        self.protocol = "json" if protocol == "smithy-rpc-v2-cbor" else protocol
        self.api_version = meta.get("apiVersion")
        self.json_version = meta.get("jsonVersion", "1.0")
        self.target_prefix = meta.get("targetPrefix")
        self.signing_name = meta.get("signingName") or meta.get("endpointPrefix") or name
        self.routes = _model_routes(data.get("operations", {}))


class Models:
    """Lazily loaded models from a list of directories (first hit wins)."""

    def __init__(self, dirs=None):
        """dirs are searched before the default model directories."""
        self.dirs = []
        for d in list(dirs or []) + DEFAULT_MODEL_DIRS:
            if os.path.isdir(d) and os.path.realpath(d) not in map(os.path.realpath, self.dirs):
                self.dirs.append(d)
        self._cache = {}
        self._lock = threading.Lock()

    def _find_files(self, name):
        """The service's model in each directory that has one, first first."""
        found = []
        for root in self.dirs:
            hits = sorted(glob.glob(os.path.join(root, name, "*", "service-2.json")))
            hits += glob.glob(os.path.join(root, name, "service-2.json"))
            if hits:
                found.append(hits[-1])  # newest API version
        return found

    def _load(self, name):
        """The first model found, with the operations it lacks taken from the
        later ones (the project's trimmed models hold only what awstopo calls)."""
        data = None
        for path in self._find_files(name):
            with open(path, encoding="utf-8") as f:
                more = json.load(f)
            if data is None:
                data = more
            elif more.get("metadata", {}).get("apiVersion") == data.get("metadata", {}).get("apiVersion"):
                for op, spec in more.get("operations", {}).items():
                    data.setdefault("operations", {}).setdefault(op, spec)
        return data

    def get(self, name):
        """The ServiceModel for a directory name, or None if there is none."""
        with self._lock:
            if name not in self._cache:
                data = self._load(name)
                if not data and name in FALLBACK_PROTOCOLS:
                    data = {"metadata": {"protocol": FALLBACK_PROTOCOLS[name]}}
                self._cache[name] = ServiceModel(name, data) if data else None
            return self._cache[name]

    def candidates(self, signing_name):
        """Directory names a credential scope's service may stand for."""
        return SIGNING_ALIASES.get(signing_name, [signing_name])

    def resolve(self, signing_name, version=None):
        """Model directory for a signing name; Version= picks among aliases."""
        names = self.candidates(signing_name)
        if version and len(names) > 1:
            for name in names:
                model = self.get(name)
                if model and model.api_version == version:
                    return name
        return names[0]

    def protocol(self, name):
        model = self.get(name)
        return model.protocol if model else FALLBACK_PROTOCOLS.get(name, "json")


# --- rest routing --------------------------------------------------------------

class Route:
    """method + path template (+ literal query keys) -> operation."""

    def __init__(self, operation, method, path_regex, query=None, literal_len=0, names=None):
        self.operation = operation
        self.method = method
        self.regex = re.compile(path_regex)
        self.query = query or {}        # name -> required value (None: just present)
        self.literal_len = literal_len
        self.names = names or {}        # regex group -> parameter name

    def score(self, method, path, params):
        """None if the route does not apply; else a sort key (higher = better)."""
        if method != self.method:
            return None
        match = self.regex.fullmatch(path)
        if not match:
            return None
        matched = missing = 0
        for key, want in self.query.items():
            if key in params and (want is None or params[key] == want):
                matched += 1
            elif key == "x-id" and key not in params:
                missing += 1            # SDKs may omit x-id; prefer routes without one
            else:
                return None
        return (matched, -missing, self.literal_len)

    def labels(self, path):
        match = self.regex.fullmatch(path)
        return {self.names.get(k, k): unquote(v) for k, v in match.groupdict().items()}


def _template_regex(template):
    """Regex for a requestUri path such as /{Bucket}/{Key+}; and group names."""
    out, names, literal = ["^"], {}, 0
    for i, piece in enumerate(re.split(r"(\{[^}]+\})", template)):
        if piece.startswith("{") and piece.endswith("}"):
            label = piece[1:-1]
            greedy = label.endswith("+")
            label = label.rstrip("+")
            group = "g%d" % i
            names[group] = label
            out.append("(?P<%s>%s)" % (group, ".+" if greedy else "[^/]+"))
        else:
            literal += len(piece)
            out.append(re.escape(piece))
    if not template.endswith("/"):
        out.append("/?")                # tolerate a trailing slash
    out.append("$")
    return "".join(out), names, literal


def _query_literals(query):
    literals = {}
    for item in query.split("&"):
        if item:
            key, sep, value = item.partition("=")
            literals[key] = value if sep else None
    return literals


def _model_routes(operations):
    routes = []
    for name, op in operations.items():
        http = op.get("http")
        if not http or "requestUri" not in http:
            continue
        path, _, query = http["requestUri"].partition("?")
        regex, names, literal = _template_regex(path)
        routes.append(Route(name, http.get("method", "POST"), regex,
                            _query_literals(query), literal, names))
    return routes


def fixture_routes(entries):
    """Routes from a fixture _routes.json: [{"method", "path" (regex), "operation"}]."""
    routes = []
    for e in entries:
        routes.append(Route(e["operation"], e.get("method", "GET").upper(), e["path"],
                            _query_literals(e.get("query", "")), 10 ** 6))
    return routes


def route_rest(routes, method, path, query_params):
    """(operation, path labels) of the best route, or (None, {})."""
    best, best_score = None, None
    for route in routes:
        score = route.score(method, path, query_params)
        if score is not None and (best_score is None or score > best_score):
            best, best_score = route, score
    if best is None:
        return None, {}
    return best.operation, best.labels(path)


# --- reading a request ---------------------------------------------------------

def parse_query(query):
    """Flat dict of a query/form string; repeated names become lists."""
    params = {}
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        key, value = unquote(key.replace("+", " ")), unquote(value.replace("+", " "))
        if key in params:
            old = params[key]
            params[key] = (old if isinstance(old, list) else [old]) + [value]
        else:
            params[key] = value
    return params


def is_form(headers):
    return headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def action_params(query, headers, body):
    """The parameters of a query/ec2 request (query string + form body)."""
    params = parse_query(query)
    if body and is_form(headers):
        params.update(parse_query(body.decode("utf-8", "replace")))
    return params


def detect_protocol(headers, params, model_protocol):
    """The protocol this request speaks, from its shape; else the model's."""
    if headers.get("x-amz-target"):
        return "json"
    if "Action" in params:
        return "ec2" if model_protocol == "ec2" else "query"
    return model_protocol


def json_body(body):
    """A request's JSON body as a dict ({} if empty); ProtocolError if invalid."""
    if not body or not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise ProtocolError(400, "SerializationException", "request body is not JSON") from None
    return value if isinstance(value, dict) else {}


def json_operation(headers):
    target = headers.get("x-amz-target", "")
    prefix, dot, operation = target.rpartition(".")
    if not dot or not operation:
        raise ProtocolError(400, "UnknownOperationException", "X-Amz-Target is malformed")
    return operation


# --- writing responses ---------------------------------------------------------

def new_request_id():
    return str(uuid.uuid4())


def content_type(protocol, model):
    if protocol == "json":
        return "application/x-amz-json-%s" % (model.json_version if model else "1.0")
    if protocol == "rest-json":
        return "application/json"
    return "text/xml"


def request_id_headers(service, request_id):
    if service == "s3":
        return {"x-amz-request-id": request_id, "x-amz-id-2": request_id}
    return {"x-amzn-RequestId": request_id}


def _sender_or_receiver(status):
    return "Receiver" if status >= 500 else "Sender"


def error_body(protocol, service, code, message, request_id, status):
    """(headers, body bytes) of an AWS error in the given protocol."""
    code_x, msg_x, rid_x = escape(code), escape(message), escape(request_id)
    if protocol == "query" or (protocol == "rest-xml" and service != "s3"):
        body = ("<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>"
                "</Error><RequestId>%s</RequestId></ErrorResponse>"
                % (_sender_or_receiver(status), code_x, msg_x, rid_x))
        return {"Content-Type": "text/xml"}, body.encode()
    if protocol == "ec2":
        body = ("<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error>"
                "</Errors><RequestID>%s</RequestID></Response>" % (code_x, msg_x, rid_x))
        return {"Content-Type": "text/xml"}, body.encode()
    if protocol == "rest-xml":     # s3
        body = ("<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId>"
                "</Error>" % (code_x, msg_x, rid_x))
        return {"Content-Type": "application/xml"}, body.encode()
    if protocol == "rest-json":
        return ({"Content-Type": "application/json", "x-amzn-ErrorType": code},
                json.dumps({"message": message}).encode())
    return ({"Content-Type": "application/x-amz-json-1.1"},
            json.dumps({"__type": code, "message": message}).encode())


def throttle_error(protocol, service):
    """(status, code) of the throttling error this protocol/service returns."""
    if service == "s3":
        return 503, "SlowDown"
    if protocol == "ec2":
        return 503, "RequestLimitExceeded"
    if protocol in ("query", "rest-xml"):
        return 400, "Throttling"
    return 400, "ThrottlingException"


def server_error(protocol, status):
    """(status, code) of an injected 500 or 503."""
    if status == 503:
        return 503, "ServiceUnavailable"
    return 500, "InternalFailure" if protocol in ("json", "rest-json") else "InternalError"


def empty_success(protocol, operation):
    """A body that parses as an empty result, for --missing empty."""
    if protocol in ("json", "rest-json"):
        return b"{}"
    if protocol == "query":
        return ("<%sResponse><%sResult/></%sResponse>" % (operation, operation, operation)).encode()
    return ("<%sResponse/>" % operation).encode()
