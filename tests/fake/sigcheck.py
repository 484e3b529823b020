"""sigcheck.py -- verifies AWS SigV4 signed requests with botocore's signer.

The fake AWS endpoint uses this to check every request it receives. The
signature is recomputed by botocore.auth.SigV4Auth (S3SigV4Auth for s3), an
implementation independent of awstopo's C signer, from what arrived on the
wire: the method, the Host header, the raw path, the query string, the headers
named in SignedHeaders and the body, at the time given by X-Amz-Date.

Canonicalisation follows what AWS does, not what the client claims: the path
is used as received (botocore double-encodes it for every service but s3, as
AWS does); the query string is percent-decoded and re-encoded strictly
(RFC 3986 unreserved characters only), so a client that signs one encoding
and sends another is caught.

Secrets never leave this module: error messages name the access key id at
most, and the canonical request returned for debugging has the session token
value blanked.
"""

import datetime
import email.utils
import hashlib
import hmac
import re
import threading
from urllib.parse import unquote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class AuthError(Exception):
    """A request that fails authentication: HTTP status, AWS error code, message."""

    def __init__(self, status, code, message, detail=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail        # redacted canonical request, for --verbose only


class Identity:
    """Who signed a request, and for which scope (never holds the secret)."""

    def __init__(self, access_key, date, region, service):
        self.access_key = access_key
        self.date = date
        self.region = region
        self.service = service


class CredentialTable:
    """Access key id -> (secret key, session token or None); plus expired tokens.

    Thread-safe: the control endpoint may change it while requests run.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._creds = {}
        self._expired = set()

    def add(self, access_key, secret_key, token=None):
        with self._lock:
            self._creds[access_key] = (secret_key, token or None)

    def add_spec(self, spec):
        """Adds "AKID:SECRET[:TOKEN]" or {"access_key", "secret_key", "token"}."""
        if isinstance(spec, dict):
            self.add(spec["access_key"], spec["secret_key"], spec.get("token"))
            return
        parts = spec.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError("credentials must look like AKID:SECRET[:TOKEN]")
        self.add(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def remove(self, access_key):
        with self._lock:
            self._creds.pop(access_key, None)

    def expire_token(self, token):
        with self._lock:
            self._expired.add(token)

    def lookup(self, access_key):
        with self._lock:
            return self._creds.get(access_key)

    def is_expired(self, token):
        with self._lock:
            return token in self._expired

    def access_keys(self):
        with self._lock:
            return sorted(self._creds)


# --- parsing the Authorization header ---------------------------------------

def parse_authorization(value):
    """Splits an AWS4-HMAC-SHA256 Authorization header into its three parts.

    Returns {"credential": [akid, date, region, service, "aws4_request"],
    "signed_headers": [names], "signature": hex}; raises AuthError.
    """
    if not value.startswith(ALGORITHM + " "):
        raise AuthError(400, "IncompleteSignature",
                        "Authorization header must use " + ALGORITHM)
    fields = {}
    for part in value[len(ALGORITHM):].split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise AuthError(400, "IncompleteSignature",
                        "Authorization header is missing " + ", ".join(missing))
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise AuthError(400, "IncompleteSignature",
                        "Credential must be AKID/date/region/service/aws4_request")
    return {
        "credential": credential,
        "signed_headers": fields["SignedHeaders"].split(";"),
        "signature": fields["Signature"],
    }


def request_timestamp(headers):
    """The request time as YYYYMMDDTHHMMSSZ, from X-Amz-Date or else Date."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
            raise AuthError(400, "IncompleteSignature", "X-Amz-Date is malformed")
        return amz_date
    date = headers.get("date")
    if date is None:
        raise AuthError(400, "IncompleteSignature",
                        "Authorization header requires an X-Amz-Date or a Date header")
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise AuthError(400, "IncompleteSignature", "Date header is malformed") from None
    return when.astimezone(datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)


# --- botocore signers that take their inputs from the received request -------

class _FromWire:
    """Mixin: sign exactly the headers the client listed in SignedHeaders."""

    def __init__(self, credentials, service, region, signed_pairs):
        super().__init__(credentials, service, region)
        self._signed_pairs = signed_pairs

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name, value in self._signed_pairs:
            headers[name] = value       # HTTPHeaders appends: duplicates kept
        return headers


class _WireSigV4(_FromWire, SigV4Auth):
    pass


class _WireS3SigV4(_FromWire, S3SigV4Auth):
    pass


def _query_pairs(query):
    """Decoded (name, value) pairs of a raw query string, in order."""
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _signed_header_pairs(signed_names, header_pairs):
    """(name, value) of every signed header; AuthError if one is absent."""
    by_name = {}
    for name, value in header_pairs:
        by_name.setdefault(name.lower(), []).append(value)
    pairs = []
    for name in signed_names:
        if name not in by_name:
            raise AuthError(403, "SignatureDoesNotMatch",
                            "Signed header '%s' is not in the request" % name)
        pairs.extend((name, v) for v in by_name[name])
    return pairs


def _redact(canonical_request, token):
    if token:
        return canonical_request.replace(token, "<session-token>")
    return canonical_request


def compute_signature(method, target, header_pairs, body, identity, secret,
                      signed_names, timestamp, s3_style):
    """Signature botocore computes for this request; and the canonical request.

    s3_style selects S3's rules (path not normalised, payload hash header).
    """
    path, _, query = target.partition("?")
    headers = HTTPHeaders()
    for name, value in header_pairs:
        headers[name] = value
    host = headers.get("host", "")
    request = AWSRequest(method=method, url="http://%s%s" % (host, path),
                         headers=headers, data=body, params=_query_pairs(query))
    request.context["timestamp"] = timestamp
    signed = _signed_header_pairs(signed_names, header_pairs)
    cls = _WireS3SigV4 if s3_style else _WireSigV4
    signer = cls(Credentials(identity.access_key, secret), identity.service,
                 identity.region, signed)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request), canonical


# --- the checks, in the order AWS applies them --------------------------------

def _check_token(table, identity, entry, token):
    _, expected = entry
    if token is not None and table.is_expired(token):
        raise AuthError(403, "ExpiredToken",
                        "The security token included in the request is expired")
    if token != expected:
        raise AuthError(403, "InvalidClientTokenId",
                        "The security token included in the request is invalid")


def _check_clock(timestamp, now, max_skew, service):
    if not max_skew:
        return
    when = datetime.datetime(int(timestamp[0:4]), int(timestamp[4:6]), int(timestamp[6:8]),
                             int(timestamp[9:11]), int(timestamp[11:13]),
                             int(timestamp[13:15]), tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if abs((now - when).total_seconds()) <= max_skew:
        return
    message = "Signature expired: %s is outside the allowed %d s window" % (timestamp, max_skew)
    if service == "ec2":
        raise AuthError(400, "RequestExpired", message)
    if service == "s3":
        raise AuthError(403, "RequestTimeTooSkewed", message)
    raise AuthError(403, "SignatureDoesNotMatch", message)


def _check_payload_hash(identity, headers, body):
    declared = headers.get("x-amz-content-sha256")
    if declared is None:
        if identity.service == "s3":
            raise AuthError(400, "InvalidRequest",
                            "Missing required header for this request: x-amz-content-sha256")
        return
    if declared == "UNSIGNED-PAYLOAD" or declared.startswith("STREAMING-"):
        return
    if declared != hashlib.sha256(body or b"").hexdigest():
        raise AuthError(400, "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match "
                        "what was computed")


def verify(method, target, header_pairs, body, table, now=None, max_skew=900,
           s3_style=None):
    """Checks a request's SigV4 signature; returns its Identity or raises AuthError.

    target is the raw request-target ("/path?query"); header_pairs the headers
    as received (duplicates allowed); body the raw bytes; table a
    CredentialTable. max_skew (seconds) bounds the clock difference; 0 = off.
    s3_style (default: service == "s3") picks S3's canonicalisation.
    """
    headers = {}
    for name, value in header_pairs:
        headers.setdefault(name.lower(), value)
    authorization = headers.get("authorization")
    if authorization is None:
        raise AuthError(403, "MissingAuthenticationToken",
                        "Request is missing Authentication Token")
    auth = parse_authorization(authorization)
    akid, date, region, service, _ = auth["credential"]
    identity = Identity(akid, date, region, service)
    entry = table.lookup(akid)
    if entry is None:
        raise AuthError(403, "InvalidClientTokenId",
                        "The security token included in the request is invalid "
                        "(unknown access key %s)" % akid)
    token = headers.get("x-amz-security-token")
    _check_token(table, identity, entry, token)
    timestamp = request_timestamp(headers)
    if timestamp[:8] != date:
        raise AuthError(403, "SignatureDoesNotMatch",
                        "Date in Credential scope does not match YYYYMMDD from the request date")
    if "host" not in auth["signed_headers"]:
        raise AuthError(403, "SignatureDoesNotMatch", "'Host' must be a signed header")
    _check_clock(timestamp, now, max_skew, service)
    if s3_style is None:
        s3_style = service == "s3"
    expected, canonical = compute_signature(method, target, header_pairs, body, identity,
                                            entry[0], auth["signed_headers"], timestamp,
                                            s3_style)
    if not hmac.compare_digest(expected, auth["signature"]):
        raise AuthError(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature "
                        "you provided. Check your AWS Secret Access Key and signing method.",
                        detail=_redact(canonical, token))
    _check_payload_hash(identity, headers, body)
    return identity
