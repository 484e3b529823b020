#!/usr/bin/python3
"""fake_creds.py -- loopback stand-ins for the credential services awstopo calls.

Run with /usr/bin/python3 (Debian's, which has botocore). Listens on
127.0.0.1 on a free port, prints the port on stdout, and exits when its stdin
closes (so it never outlives the test that started it).

Serves
  PUT /latest/api/token                          IMDSv2 session token (needs the
                                                 X-aws-ec2-metadata-token-ttl-seconds header)
  GET /latest/meta-data/iam/security-credentials/[ROLE]
                                                 role name / credentials JSON (needs
                                                 X-aws-ec2-metadata-token)
  GET /ecs/...                                   ECS container credentials (needs
                                                 Authorization == $FAKE_ECS_AUTH)
  POST / Action=AssumeRole                       STS: verifies the SigV4 signature with
                                                 botocore's own SigV4Auth
  POST / Action=AssumeRoleWithWebIdentity        STS: must be unsigned
  GET /_ctl?expire_in=N|default&fail_sts=0|1&reset=1   test knobs
  GET /_last                                     JSON: the last STS call (params, signer, region)
  GET /_stats                                    JSON: call counters

Keys the fake knows: every key it issued, plus $FAKE_CREDS_KEYS
("AKID:secret,AKID2:secret2"). Issued secrets and tokens contain "sEcReT" and
"tOkEn" so tests can check that none leaks into an error message.

STS rules for tests: a role ARN ending in "denied" gets AccessDenied; a role
named "ext-XYZ" demands ExternalId XYZ; a web identity token starting with
"bad" gets InvalidIdentityToken.
"""
import datetime
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

IMDS_ROLE = "awstopo-test-role"
ECS_AUTH = os.environ.get("FAKE_ECS_AUTH", "ecs-tOkEn-auth")
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

lock = threading.Lock()
state = {}


def reset():
    keys = {}
    for pair in filter(None, os.environ.get("FAKE_CREDS_KEYS", "").split(",")):
        ak, _, sk = pair.partition(":")
        keys[ak] = (sk, None)
    state.clear()
    state.update(keys=keys, serial=0, expire_in=None, fail_sts=False, imds_tokens=set(),
                 last={}, stats={"imds_token": 0, "imds_role": 0, "imds_creds": 0, "ecs": 0,
                                 "assume_role": 0, "web_identity": 0, "sts_errors": 0})


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(duration=None):
    """New temporary credentials, remembered so they can sign later calls."""
    with lock:
        state["serial"] += 1
        n = state["serial"]
        life = state["expire_in"] or duration or 3600
        ak = "ASIAFAKE%012d" % n
        sk = "sEcReT-fake-%d-%s" % (n, secrets.token_hex(8))
        token = "tOkEn-fake-%d-%s" % (n, secrets.token_hex(16))
        state["keys"][ak] = (sk, token)
    return {"AccessKeyId": ak, "SecretAccessKey": sk, "Token": token,
            "Expiration": iso(time.time() + life)}


AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class StsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def verify_sigv4(h, body):
    """Recomputes the signature of the request with botocore. Returns (akid, region)."""
    m = AUTH_RE.match(h.headers.get("Authorization", ""))
    if not m:
        raise StsError(403, "IncompleteSignature", "Authorization header missing or malformed")
    ak, date, region, service, signed, signature = m.groups()
    with lock:
        known = state["keys"].get(ak)
    if not known:
        raise StsError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    secret, token = known
    if service != "sts":
        raise StsError(403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'.")
    amz_date = h.headers.get("X-Amz-Date", "")
    if amz_date[:8] != date:
        raise StsError(403, "SignatureDoesNotMatch", "Date in Credential scope does not match X-Amz-Date")
    signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs(time.time() - signed_at.timestamp()) > 900:
        raise StsError(403, "SignatureDoesNotMatch", "Signature expired")
    if token is not None and h.headers.get("X-Amz-Security-Token") != token:
        raise StsError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        raise StsError(403, "SignatureDoesNotMatch", "host and x-amz-date must be signed")
    if token is not None and "x-amz-security-token" not in names:
        raise StsError(403, "SignatureDoesNotMatch", "x-amz-security-token must be signed")
    headers = {}
    for name in names:
        if name == "host":
            continue   # botocore derives it from the URL below
        if h.headers.get(name) is None:
            raise StsError(403, "SignatureDoesNotMatch", "signed header %s is missing" % name)
        headers[name] = h.headers.get(name)
    url = "http://%s%s" % (h.headers["Host"], h.path)
    req = AWSRequest(method=h.command, url=url, data=body, headers=headers)
    req.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(ak, secret, token), service, region)
    if auth.signed_headers(auth.headers_to_sign(req)) != signed:
        raise StsError(403, "SignatureDoesNotMatch", "SignedHeaders differ")
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    if expected != signature:
        raise StsError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided.")
    return ak, region


def sts_xml(action, creds, role_arn, session):
    return ("<{a}Response xmlns=\"{ns}\">\n  <{a}Result>\n"
            "    <AssumedRoleUser><AssumedRoleId>AROAFAKE:{s}</AssumedRoleId>"
            "<Arn>{r}/{s}</Arn></AssumedRoleUser>\n"
            "    <Credentials>\n"
            "      <AccessKeyId>{ak}</AccessKeyId>\n"
            "      <SecretAccessKey>{sk}</SecretAccessKey>\n"
            "      <SessionToken>{tok}</SessionToken>\n"
            "      <Expiration>{exp}</Expiration>\n"
            "    </Credentials>\n  </{a}Result>\n"
            "  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>\n"
            "</{a}Response>\n").format(a=action, ns=STS_NS, r=role_arn, s=session, ak=creds["AccessKeyId"],
                                        sk=creds["SecretAccessKey"], tok=creds["Token"],
                                        exp=creds["Expiration"])


def sts_error_xml(code, message):
    return ("<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>Sender</Type>\n"
            "    <Code>{c}</Code>\n    <Message>{m}</Message>\n  </Error>\n"
            "  <RequestId>4f1d6a5e-0000-0000-0000-000000000000</RequestId>\n</ErrorResponse>\n"
            ).format(ns=STS_NS, c=code, m=message.replace("&", "&amp;").replace("<", "&lt;"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_VERBOSE"):
            sys.stderr.write("fake_creds: " + fmt % args + "\n")

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---- IMDS ----
    def imds_token_ok(self):
        with lock:
            return self.headers.get("X-aws-ec2-metadata-token") in state["imds_tokens"]

    def do_PUT(self):
        self.body()
        if self.path != "/latest/api/token":
            return self.reply(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600 or self.headers.get("X-Forwarded-For"):
            return self.reply(400, "bad token request")
        token = "imds-tOkEn-" + secrets.token_hex(16)
        with lock:
            state["imds_tokens"].add(token)
            state["stats"]["imds_token"] += 1
        self.reply(200, token)

    def imds_get(self, path):
        if not self.imds_token_ok():
            return self.reply(401, "")
        prefix = "/latest/meta-data/iam/security-credentials/"
        role = path[len(prefix):]
        if role == "":
            with lock:
                state["stats"]["imds_role"] += 1
            return self.reply(200, IMDS_ROLE)
        if role != IMDS_ROLE:
            return self.reply(404, "not found")
        creds = issue()
        with lock:
            state["stats"]["imds_creds"] += 1
        doc = dict(Code="Success", LastUpdated=iso(time.time()), Type="AWS-HMAC", **creds)
        self.reply(200, json.dumps(doc, indent=2), "application/json")

    # ---- ECS ----
    def ecs_get(self):
        if self.headers.get("Authorization") != ECS_AUTH:
            return self.reply(401, json.dumps({"message": "unauthorized"}), "application/json")
        with lock:
            state["stats"]["ecs"] += 1
        creds = issue()
        doc = dict(RoleArn="arn:aws:iam::123456789012:role/ecs-task", **creds)
        self.reply(200, json.dumps(doc), "application/json")

    # ---- control ----
    def ctl(self, query):
        q = urllib.parse.parse_qs(query)
        with lock:
            if q.get("reset"):
                reset()
            if "expire_in" in q:
                v = q["expire_in"][0]
                state["expire_in"] = None if v == "default" else int(v)
            if "fail_sts" in q:
                state["fail_sts"] = q["fail_sts"][0] == "1"
        self.reply(200, "ok")

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/_ctl":
            return self.ctl(u.query)
        if u.path in ("/_last", "/_stats"):
            with lock:
                doc = state["last"] if u.path == "/_last" else state["stats"]
                text = json.dumps(doc)
            return self.reply(200, text, "application/json")
        if u.path.startswith("/latest/meta-data/iam/security-credentials/"):
            return self.imds_get(u.path)
        if u.path.startswith("/ecs/"):
            return self.ecs_get()
        self.reply(404, "not found")

    # ---- STS ----
    def do_POST(self):
        body = self.body()
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        action = params.get("Action", "")
        try:
            creds = self.sts(action, params, body)
        except StsError as e:
            with lock:
                state["stats"]["sts_errors"] += 1
            return self.reply(e.status, sts_error_xml(e.code, e.message), "text/xml")
        self.reply(200, sts_xml(action, creds, params["RoleArn"], params["RoleSessionName"]), "text/xml")

    def sts(self, action, params, body):
        if action not in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            raise StsError(400, "InvalidAction", "Could not find operation %s" % action)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            raise StsError(400, "InvalidParameterValue", "wrong Content-Type")
        if params.get("Version") != "2011-06-15":
            raise StsError(400, "InvalidParameterValue", "wrong Version")
        signer, region = None, None
        if action == "AssumeRole":
            signer, region = verify_sigv4(self, body)
        elif self.headers.get("Authorization"):
            raise StsError(400, "InvalidParameterValue", "AssumeRoleWithWebIdentity must not be signed")
        with lock:
            state["stats"]["assume_role" if action == "AssumeRole" else "web_identity"] += 1
            state["last"] = dict(action=action, params=params, signer=signer, region=region,
                                 path=self.path, host=self.headers.get("Host"))
            failing = state["fail_sts"]
        if failing:
            raise StsError(400, "Throttling", "Rate exceeded")
        role, session = params.get("RoleArn", ""), params.get("RoleSessionName", "")
        if not role or not re.match(r"^[\w+=,.@-]{2,64}$", session):
            raise StsError(400, "ValidationError", "RoleArn and a valid RoleSessionName are required")
        if role.endswith("denied"):
            raise StsError(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/tester is not "
                           "authorized to perform: sts:%s on resource: %s" % (action, role))
        m = re.search(r":role/ext-(.+)$", role)
        if m and params.get("ExternalId") != m.group(1):
            raise StsError(403, "AccessDenied", "ExternalId does not match the role's trust policy")
        if action == "AssumeRoleWithWebIdentity":
            token = params.get("WebIdentityToken", "")
            if not token or token.startswith("bad"):
                raise StsError(400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
        duration = int(params["DurationSeconds"]) if params.get("DurationSeconds") else None
        return issue(duration)


def main():
    reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
