"""wire.py -- an operation's result (as the AWS CLI prints it) written as AWS sends it.

The synthetic account (synthetic_account.py) describes responses in the AWS
CLI's output shape, like the fixtures and demo/ do; this module writes them in
the protocol the request spoke (ec2, query, json, rest-json, rest-xml), walking
the operation's output shape in the service model: member and list-element
names from the model's locationName, flattened lists and maps, query's
<OpResult> wrapper, timestamps as ISO 8601 (XML) or epoch seconds (JSON).
Members bound to headers or the status code are left out.

    body = wire.serialize(model_json, "ec2", "DescribeVpcs", result, request_id)
"""

import base64
import datetime
import json
from xml.sax.saxutils import escape


def _epoch(value):
    if isinstance(value, (int, float)):
        return value
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _iso(value):
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat()
    return value.replace("+00:00", "Z")


class Model:
    """Shapes of one service-2.json (a dict), resolved by name."""

    def __init__(self, data):
        self.data = data
        self.shapes = data["shapes"]
        meta = data.get("metadata", {})
        self.xmlns = meta.get("xmlNamespace") or "https://%s.amazonaws.com/doc/%s/" % (
            meta.get("endpointPrefix", ""), meta.get("apiVersion", ""))

    def shape(self, ref):
        return self.shapes[ref["shape"]]

    def output(self, operation):
        op = self.data["operations"][operation]
        return op.get("output")


# --- JSON ------------------------------------------------------------------------

def _json_value(model, ref, value):
    shape = model.shape(ref)
    t = shape["type"]
    if t == "structure":
        out = {}
        for name, member in shape.get("members", {}).items():
            if name in value and member.get("location") is None:
                out[member.get("locationName", name)] = _json_value(model, member, value[name])
        return out
    if t == "list":
        return [_json_value(model, shape["member"], v) for v in value]
    if t == "map":
        return {k: _json_value(model, shape["value"], v) for k, v in value.items()}
    if t == "timestamp":
        return _epoch(value)
    if t == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


# --- XML -------------------------------------------------------------------------

def _xml_scalar(t, value):
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return _iso(value)
    if t == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return escape(str(value))


def _xml_members(model, shape, value, out, ec2):
    for name, member in shape.get("members", {}).items():
        if name not in value or member.get("location") is not None:
            continue
        tag = member.get("locationName") or name
        if ec2 and "locationName" not in member:
            tag = tag[0].lower() + tag[1:]
        _xml_element(model, member, tag, value[name], out, ec2)


def _xml_element(model, ref, tag, value, out, ec2):
    shape = model.shape(ref)
    t = shape["type"]
    if t == "structure":
        out.append("<%s>" % tag)
        _xml_members(model, shape, value, out, ec2)
        out.append("</%s>" % tag)
    elif t == "list":
        item = shape["member"]
        if shape.get("flattened") or ref.get("flattened"):
            for v in value:
                _xml_element(model, item, tag, v, out, ec2)
            return
        out.append("<%s>" % tag)
        inner = item.get("locationName") or ("item" if ec2 else "member")
        for v in value:
            _xml_element(model, item, inner, v, out, ec2)
        out.append("</%s>" % tag)
    elif t == "map":
        key, val = shape["key"], shape["value"]
        kname, vname = key.get("locationName", "key"), val.get("locationName", "value")
        flat = shape.get("flattened") or ref.get("flattened")
        if not flat:
            out.append("<%s>" % tag)
        for k, v in value.items():
            out.append("<%s>" % (tag if flat else "entry"))
            _xml_element(model, key, kname, k, out, ec2)
            _xml_element(model, val, vname, v, out, ec2)
            out.append("</%s>" % (tag if flat else "entry"))
        if not flat:
            out.append("</%s>" % tag)
    else:
        out.append("<%s>%s</%s>" % (tag, _xml_scalar(t, value), tag))


def serialize(model, protocol, operation, result, request_id):
    """The response body (bytes) for `result`, a dict in the AWS CLI's output shape."""
    out_ref = model.output(operation)
    if protocol in ("json", "rest-json"):
        return json.dumps(_json_value(model, out_ref, result) if out_ref else {}).encode()
    out = []
    shape = model.shape(out_ref) if out_ref else {"members": {}}
    if protocol == "ec2":
        out.append('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">'
                   "<requestId>%s</requestId>" % (operation, model.xmlns, request_id))
        _xml_members(model, shape, result, out, True)
        out.append("</%sResponse>" % operation)
    elif protocol == "query":
        wrapper = (out_ref or {}).get("resultWrapper") or operation + "Result"
        out.append('<%sResponse xmlns="%s"><%s>' % (operation, model.xmlns, wrapper))
        _xml_members(model, shape, result, out, False)
        out.append("</%s><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>"
                   % (wrapper, request_id, operation))
    elif operation == "GetBucketLocation":     # S3's one bare-root answer
        out.append('<LocationConstraint xmlns="%s">%s</LocationConstraint>'
                   % (model.xmlns, escape(result.get("LocationConstraint") or "")))
    else:   # rest-xml
        payload = shape.get("payload")
        if payload:
            member = shape["members"][payload]
            if payload in result:
                _xml_element(model, member, member.get("locationName") or payload,
                             result[payload], out, False)
        else:
            root = shape.get("locationName") or out_ref["shape"]
            out.append('<%s xmlns="%s">' % (root, model.xmlns))
            _xml_members(model, shape, result, out, False)
            out.append("</%s>" % root)
    return "".join(out).encode()
