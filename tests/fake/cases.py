"""cases.py -- mapping fixture cases (what the AWS CLI prints) turned into what
the fake AWS endpoint serves (what AWS sends).

A mapping fixture case (docs/fixtures.md) records responses as the AWS CLI
prints them and parameters as the API names them. The fake endpoint serves
raw wire bodies and matches flat wire parameters (README.md). Bodies are
written by wire.py (the same writer the synthetic account uses); this module
adds the rest: error bodies, header-bound members, and the parameters
flattened the way the fake reads a request (botocore's serializers for query
and ec2). It lets a test run the same case through the whole client --
serializer, signer, HTTP, parser -- that `awstopo test` replays above the client.

    case_to_fixtures(case, mapping_service, out_dir, models)

Limits (enough for the bundled cases): rest-xml bodies and headers are not
matched (the fake does not match them either); an entry's "region" is not
matched (the fake serves every region alike).
"""

import json
import os

import botocore.model
import botocore.serialize

import awsproto
import wire


# --- models --------------------------------------------------------------------

class ModelCache:
    """botocore ServiceModels (and wire.py's Models) from the directories the fake reads."""

    def __init__(self, models=None):
        self.models = models or awsproto.Models()
        self._cache = {}

    def get(self, service):
        if service not in self._cache:
            data = self.models._load(service)
            if not data:
                raise KeyError("no model for %s" % service)
            model = botocore.model.ServiceModel(data, service_name=service)
            model.wire = wire.Model(data)
            self._cache[service] = model
        return self._cache[service]


# --- values ----------------------------------------------------------------------

_epoch, _iso = wire._epoch, wire._iso      # one copy of the timestamp conversions


def _scalar_text(shape, value):
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp":
        return _iso(value)
    if shape.type_name in ("float", "double") and isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _json_value(shape, value):
    """A parameter value as the fake decodes a JSON body."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        return {member.serialization.get("name", name): _json_value(member, value[name])
                for name, member in shape.members.items() if name in value}
    if kind == "list":
        return [_json_value(shape.member, v) for v in value]
    if kind == "map":
        return {k: _json_value(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch(value)
    return value


# --- responses ----------------------------------------------------------------------

def _headers_of(shape, value):
    headers = {}
    for name, member in shape.members.items():
        if name in value and member.serialization.get("location") == "header":
            headers[member.serialization.get("name", name)] = _scalar_text(member, value[name])
    return headers


def response_entry(model, operation, response):
    """A fake fixture entry (status, headers, body) for a CLI-shaped response."""
    shape = model.operation_model(operation).output_shape
    value = response or {}
    body = wire.serialize(model.wire, model.protocol, operation, value, "fixture")
    return {"status": 200, "headers": _headers_of(shape, value) if shape else {}, "body": body.decode()}


def error_entry(model, error):
    status = int(error.get("status", 400))
    headers, body = awsproto.error_body(model.protocol, model.service_name, error.get("code", "Error"),
                                        error.get("message", ""), "fixture", status)
    headers.pop("Content-Type", None)
    return {"status": status, "headers": headers, "body": body.decode()}


# --- parameters -------------------------------------------------------------------------

def match_of(model, operation, params):
    """The flat parameters the fake reads off a request carrying params."""
    op = model.operation_model(operation)
    protocol = model.protocol
    params = params or {}
    if protocol in ("query", "ec2"):
        serializer = botocore.serialize.create_serializer(protocol)
        request = serializer.serialize_to_request(params, op)
        return {k: v for k, v in request["body"].items() if k not in ("Action", "Version")}
    shape = op.input_shape
    if protocol == "json":
        return _json_value(shape, params) if shape else {}
    match = {}
    for name, value in params.items():
        member = shape.members.get(name) if shape else None
        if member is None:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location in ("uri", "querystring"):
            if member.type_name == "list":   # the fake reads one value as a string, several as a list
                texts = [_scalar_text(member.member, v) for v in value]
                match[wire] = texts[0] if len(texts) == 1 else texts
            else:
                match[wire] = _scalar_text(member, value)
        elif location is None and protocol == "rest-json":
            match[wire] = _json_value(member, value)
    return match


# --- cases -------------------------------------------------------------------------------

def case_to_fixtures(case, mapping_service, out_dir, models=None):
    """Writes out_dir/<service>/<Operation>.json for every recorded response of case."""
    cache = models if isinstance(models, ModelCache) else ModelCache(models)
    files = {}
    for key, entries in (case.get("responses") or {}).items():
        service, _, operation = key.rpartition(":")
        service = service or mapping_service
        model = cache.get(service)
        out = files.setdefault((service, operation), [])
        for e in entries:
            entry = error_entry(model, e["error"]) if "error" in e else response_entry(model, operation, e.get("response"))
            match = match_of(model, operation, e.get("params"))
            if match:
                entry["match"] = match
            out.append(entry)
    for (service, operation), entries in files.items():
        d = os.path.join(out_dir, service)
        os.makedirs(d, exist_ok=True)
        # rest operations sharing a route (s3 GetBucketNotification and
        # ...Configuration): the fake may name the request either way
        for name in [operation] + same_route(cache.get(service), operation):
            with open(os.path.join(d, name + ".json"), "w", encoding="utf-8") as f:
                json.dump(entries, f, indent=1)
    return sorted("%s:%s" % k for k in files)


def same_route(model, operation):
    """Other operations of a rest model with the same method and requestUri."""
    if model.protocol not in ("rest-json", "rest-xml"):
        return []
    http = model.operation_model(operation).http
    return [name for name in model.operation_names if name != operation
            and model.operation_model(name).http.get("method") == http.get("method")
            and model.operation_model(name).http.get("requestUri") == http.get("requestUri")]

