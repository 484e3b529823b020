"""test_fakes.py -- tests of the test doubles in tests/fake/ themselves.

Requests are signed by botocore (its clients, or SigV4Auth on a raw request)
and sent to fake_aws.py; the fake must accept good signatures in all five
protocols, reject bad ones with the protocol's error shape (checked by letting
botocore parse them), route rest calls, replay fixtures and inject faults.
The signature checker is also run over AWS's SigV4 test suite. Then the
fake StackState receiver: API key, gzip, injected statuses, down mode,
restart on the same port.

Run with /usr/bin/python3 (Debian's, which has botocore). The last line is
"N passed, N failed"; the exit status is non-zero on failure.
"""

import gzip
import http.client
import json
import os
import socket
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import botocore.session                                   # noqa: E402
from botocore.auth import S3SigV4Auth, SigV4Auth          # noqa: E402
from botocore.awsrequest import AWSRequest                # noqa: E402
from botocore.config import Config                        # noqa: E402
from botocore.credentials import Credentials              # noqa: E402
from botocore.exceptions import ClientError               # noqa: E402

import awsproto                                           # noqa: E402
import checklib                                           # noqa: E402
import fakes                                              # noqa: E402
import sigcheck                                           # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fake", "fixtures-selftest")
SIGV4_SUITE = os.path.join(ROOT, "tests", "conformance", "sigv4")   # the project's copy

AKID, SECRET = fakes.ACCESS_KEY, fakes.SECRET_KEY
TOKEN_AKID, TOKEN_SECRET, TOKEN = "ASIAFAKETEST00000002", "tokenSecret/0000", "session-token-abc"
OLD_AKID, OLD_SECRET, OLD_TOKEN = "ASIAFAKETEST00000003", "oldSecret/0000", "old-token-xyz"
CREDS = ["%s:%s" % (AKID, SECRET), "%s:%s:%s" % (TOKEN_AKID, TOKEN_SECRET, TOKEN),
         "%s:%s:%s" % (OLD_AKID, OLD_SECRET, OLD_TOKEN)]

check = checklib.NamedChecks(limit=None)


def client(fake, service, akid=AKID, secret=SECRET, token=None):
    session = botocore.session.get_session()
    return session.create_client(
        service, region_name="us-east-1", endpoint_url=fake.url,
        aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10))


def error_of(call):
    """(HTTP status, error code) of a botocore call expected to fail."""
    try:
        call()
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return 200, None


def signed(fake, service, method, path, body=b"", headers=None, akid=AKID, secret=SECRET):
    """A raw request signed by botocore: (method, path, headers dict, body)."""
    request = AWSRequest(method=method, url=fake.url + path, data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(akid, secret), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    return method, path, dict(prepared.headers), prepared.body or b""


def send(fake, request, timeout=5, conn=None):
    """Sends a signed() request; returns (status, headers, body)."""
    method, path, headers, body = request
    conn = conn or http.client.HTTPConnection("127.0.0.1", fake.port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def ec2_request(fake, action="DescribeVpcs", **extra):
    params = "Action=%s&Version=2016-11-15" % action
    params += "".join("&%s=%s" % kv for kv in extra.items())
    return signed(fake, "ec2", "POST", "/", params.encode(),
                  {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


# --- signatures accepted in every protocol -----------------------------------------

def test_accepts_all_protocols(fake):
    vpcs = client(fake, "ec2").describe_vpcs()["Vpcs"]
    check("ec2 DescribeVpcs accepted and parsed",
          vpcs and vpcs[0]["VpcId"] == "vpc-0a1b2c3d4e5f60001")
    pages = client(fake, "ec2").get_paginator("describe_instances").paginate()
    ids = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    check("ec2 pagination by NextToken fixture", len(ids) == 3, ids)
    tables = client(fake, "dynamodb").list_tables()["TableNames"]
    check("json dynamodb ListTables", tables == ["orders", "users"], tables)
    table = client(fake, "dynamodb").describe_table(TableName="users")["Table"]
    check("json params matched (TableName)", table["ItemCount"] == 42)
    fns = client(fake, "lambda").list_functions()["Functions"]
    check("rest-json lambda ListFunctions", fns[0]["FunctionName"] == "fn-a", fns)
    tags = client(fake, "lambda").get_function(FunctionName="fn-a")["Tags"]
    check("rest-json path label matched (FunctionName)", tags == {"team": "core"})
    buckets = client(fake, "s3").list_buckets()["Buckets"]
    check("rest-xml s3 ListBuckets", [b["Name"] for b in buckets] == ["bucket-one", "bucket-two"])
    objects = client(fake, "s3").list_objects_v2(Bucket="bucket-one")["Contents"]
    check("rest-xml s3 ListObjectsV2 routed by ?list-type=2", objects[0]["Key"] == "a/b.txt")
    zones = client(fake, "route53").list_hosted_zones()["HostedZones"]
    check("rest-xml route53 ListHostedZones", zones[0]["Name"] == "example.com.")
    topics = client(fake, "sns").list_topics()["Topics"]
    check("query sns ListTopics", len(topics) == 1)


def test_service_aliases(fake):
    classic = client(fake, "elb").describe_load_balancers()["LoadBalancerDescriptions"]
    v2 = client(fake, "elbv2").describe_load_balancers()["LoadBalancers"]
    check("elasticloadbalancing Version picks elb vs elbv2",
          classic[0]["LoadBalancerName"] == "classic-lb" and v2[0]["LoadBalancerName"] == "app-lb")
    metrics = client(fake, "cloudwatch").list_metrics()["Metrics"]
    check("monitoring -> cloudwatch (protocol-specific fixture entry)",
          metrics[0]["MetricName"] == "CPUUtilization")
    res = client(fake, "resourcegroupstaggingapi").get_resources()["ResourceTagMappingList"]
    check("tagging -> resourcegroupstaggingapi", len(res) == 1)


def test_fixture_features(fake):
    first = client(fake, "kinesis").list_streams()["StreamNames"]
    second = client(fake, "kinesis").list_streams()["StreamNames"]
    check("'times' limits an entry", first == ["s1"] and second == ["s1", "s2"], (first, second))
    status, code = error_of(lambda: client(fake, "lambda").get_function(FunctionName="gone"))
    check("recorded error response replayed", (status, code) == (404, "ResourceNotFoundException"))
    try:
        client(fake, "dynamodb").describe_table(TableName="nope")
        msg = ""
    except ClientError as e:
        msg = e.response["Error"]["Message"]
        code = e.response["Error"]["Code"]
    check("no match -> 400 naming the operation",
          code == "FakeNoRecordedResponse" and "DescribeTable" in msg, msg)
    ident = client(fake, "sts", TOKEN_AKID, TOKEN_SECRET, TOKEN).get_caller_identity()
    check("session-token credentials accepted", ident["Account"] == "123456789012")


# --- signatures rejected ----------------------------------------------------------------

def test_rejects_bad_signatures(fake):
    calls = {
        "ec2": lambda c: c.describe_vpcs(),
        "dynamodb": lambda c: c.list_tables(),
        "lambda": lambda c: c.list_functions(),
        "s3": lambda c: c.list_buckets(),
        "route53": lambda c: c.list_hosted_zones(),
        "sns": lambda c: c.list_topics(),
    }
    for service, call in calls.items():
        got = error_of(lambda: call(client(fake, service, secret="wrong-secret")))
        check("%s wrong secret -> 403 SignatureDoesNotMatch" % service,
              got == (403, "SignatureDoesNotMatch"), got)
    got = error_of(lambda: client(fake, "dynamodb", akid="AKIDUNKNOWN").list_tables())
    check("unknown key -> InvalidClientTokenId", got == (403, "InvalidClientTokenId"), got)
    sts = client(fake, "sts", TOKEN_AKID, TOKEN_SECRET, "bad")
    got = error_of(sts.get_caller_identity)
    check("wrong session token -> InvalidClientTokenId", got == (403, "InvalidClientTokenId"), got)
    got = error_of(lambda: client(fake, "sts", TOKEN_AKID, TOKEN_SECRET).get_caller_identity())
    check("missing session token -> InvalidClientTokenId",
          got == (403, "InvalidClientTokenId"), got)
    got = error_of(client(fake, "sts", OLD_AKID, OLD_SECRET, OLD_TOKEN).get_caller_identity)
    check("expired token -> ExpiredToken", got == (403, "ExpiredToken"), got)


def test_tampering(fake):
    method, path, headers, body = ec2_request(fake)
    headers["Authorization"] = headers["Authorization"][:-1] + (
        "0" if headers["Authorization"][-1] != "0" else "1")
    status, _, text = send(fake, (method, path, headers, body))
    check("tampered signature -> 403 ec2-shaped SignatureDoesNotMatch",
          status == 403 and b"<Response><Errors><Error><Code>SignatureDoesNotMatch" in text, text)
    method, path, headers, body = ec2_request(fake)
    status, _, _ = send(fake, (method, path, headers, body.replace(b"Vpcs", b"Tags")))
    check("tampered body -> 403", status == 403)
    method, path, headers, body = signed(fake, "dynamodb", "POST", "/", b"{}",
                                         {"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                          "Content-Type": "application/x-amz-json-1.0"})
    headers["X-Amz-Target"] = "DynamoDB_20120810.DeleteTable"
    status, hdrs, text = send(fake, (method, path, headers, body))
    check("tampered signed header -> 403 json __type",
          status == 403 and json.loads(text).get("__type") == "SignatureDoesNotMatch"
          and "x-amzn-RequestId" in hdrs, text)
    method, path, headers, body = signed(fake, "lambda", "GET", "/2015-03-31/functions/")
    status, hdrs, text = send(fake, (method, "/2015-03-31/functions/?Marker=x", headers, body))
    check("tampered query -> 403 rest-json x-amzn-ErrorType",
          status == 403 and hdrs.get("x-amzn-ErrorType") == "SignatureDoesNotMatch", hdrs)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("POST", "/", body=b"Action=DescribeVpcs&Version=2016-11-15",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    check("unsigned request -> 403 MissingAuthenticationToken",
          response.status == 403 and b"MissingAuthenticationToken" in response.read())
    stats = fake.stats()
    check("/__stats counts signature failures", stats["signature_failures"] >= 10, stats)


def test_clock_skew(fake):
    method, path, headers, body = ec2_request(fake)
    stale = time.gmtime(time.time() - 3600)
    request = AWSRequest(method="POST", url=fake.url + "/", data=body,
                         headers={"Content-Type": headers["Content-Type"]})
    signer = SigV4Auth(Credentials(AKID, SECRET), "ec2", "us-east-1")
    request.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", stale)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    prepared = request.prepare()
    status, _, text = send(fake, ("POST", "/", dict(prepared.headers), prepared.body))
    check("request signed an hour ago -> ec2 RequestExpired",
          status == 400 and b"RequestExpired" in text, text)


def test_sigv4_suite():
    """The checker accepts every signed request of AWS's SigV4 test suite."""
    if not os.path.isdir(SIGV4_SUITE):
        check("sigv4 suite present", False, SIGV4_SUITE)
        return
    ok, total, bad = 0, 0, []
    for case in sorted(os.listdir(SIGV4_SUITE)):
        directory = os.path.join(SIGV4_SUITE, case)
        if not os.path.isfile(os.path.join(directory, "header-signed-request.txt")):
            continue
        total += 1
        try:
            verify_suite_case(directory)
            ok += 1
        except sigcheck.AuthError as e:
            bad.append("%s: %s" % (case, e.code))
    check("sigv4 suite: %d/%d signed requests verify" % (ok, total), total > 30 and not bad, bad)


def verify_suite_case(directory):
    with open(os.path.join(directory, "context.json")) as f:
        ctx = json.load(f)
    with open(os.path.join(directory, "header-signed-request.txt"), "rb") as f:
        head, _, body = f.read().decode().partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    if not ctx["normalize"]:
        target = target.replace(" ", "%20")    # the wire form of an S3-style path
    pairs = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            pairs.append((name, value))
    table = sigcheck.CredentialTable()
    creds = ctx["credentials"]
    table.add(creds["access_key_id"], creds["secret_access_key"], creds.get("token"))
    sigcheck.verify(method, target, pairs, body.encode(), table, max_skew=0,
                    s3_style=not ctx["normalize"])


def test_routing_unit():
    routes = awsproto.Models().get("s3").routes
    cases = [("GET", "/", {}, "ListBuckets"), ("GET", "/b", {}, "ListObjects"),
             ("GET", "/b", {"list-type": "2"}, "ListObjectsV2"),
             ("GET", "/b", {"tagging": ""}, "GetBucketTagging"),
             ("GET", "/b/k/x.txt", {}, "GetObject"), ("HEAD", "/b", {}, "HeadBucket")]
    got = [awsproto.route_rest(routes, m, p, q)[0] for m, p, q, _ in cases]
    check("s3 routes by method, path and query keys", got == [c[3] for c in cases], got)
    extra = awsproto.fixture_routes([{"method": "GET", "path": r"^/custom/(?P<Id>\w+)$",
                                      "operation": "CustomOp"}])
    op, labels = awsproto.route_rest(extra + routes, "GET", "/custom/abc", {})
    check("_routes.json routes win and name their groups",
          (op, labels) == ("CustomOp", {"Id": "abc"}))


# --- fault injection ---------------------------------------------------------------------

def test_throttling(fake):
    fake.control(throttle_rate=1.0)
    expected = {
        "ec2": (lambda: client(fake, "ec2").describe_vpcs(), (503, "RequestLimitExceeded")),
        "sns": (lambda: client(fake, "sns").list_topics(), (400, "Throttling")),
        "dynamodb": (lambda: client(fake, "dynamodb").list_tables(), (400, "ThrottlingException")),
        "lambda": (lambda: client(fake, "lambda").list_functions(), (400, "ThrottlingException")),
        "s3": (lambda: client(fake, "s3").list_buckets(), (503, "SlowDown")),
        "route53": (lambda: client(fake, "route53").list_hosted_zones(), (400, "Throttling")),
    }
    for service, (call, want) in expected.items():
        got = error_of(call)
        check("throttle_rate 1.0: %s -> %s" % (service, want[1]), got == want, got)
    fake.control(throttle_rate=0.0)
    check("throttling counted in /__stats", fake.stats()["faults"].get("throttle", 0) >= 6)


def test_fail_first_n(fake):
    fake.control(fail=[{"service": "dynamodb", "operation": "ListTables", "count": 2,
                        "kind": "error"}])
    ddb = client(fake, "dynamodb")
    results = [error_of(ddb.list_tables)[0] for _ in range(3)]
    check("fail first 2 ListTables with 5xx, then succeed",
          results[0] >= 500 and results[1] >= 500 and results[2] == 200, results)
    fake.control(fail=["ec2.DescribeVpcs:1:status:400:UnauthorizedOperation"])
    got = error_of(client(fake, "ec2").describe_vpcs)
    check("custom status rule via --fail syntax", got == (400, "UnauthorizedOperation"), got)


def test_transport_faults(fake):
    fake.control(fail=["ec2.DescribeVpcs:1:reset"])
    try:
        send(fake, ec2_request(fake))
        outcome = "answered"
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as e:
        outcome = type(e).__name__
    check("reset closes the connection without a response", outcome != "answered", outcome)

    fake.control(fail=["ec2.DescribeVpcs:1:stall"], stall_seconds=2)
    start = time.monotonic()
    try:
        send(fake, ec2_request(fake), timeout=0.5)
        outcome = "answered"
    except socket.timeout:
        outcome = "timeout"
    except (ConnectionError, http.client.HTTPException) as e:
        outcome = "%s; recent: %s; rules: %s" % (type(e).__name__, fake.requests()[-3:],
                                                 fake.control()["faults"]["rules"])
    check("stall: client read timeout fires", outcome == "timeout" and
          time.monotonic() - start < 1.5, outcome)
    fake.control(fail=["ec2.DescribeVpcs:1:stall"], stall_seconds=0.3)
    start = time.monotonic()
    status, _, _ = send(fake, ec2_request(fake), timeout=5)
    check("short stall: answered late", status == 200 and time.monotonic() - start >= 0.3)

    fake.control(fail=["ec2.DescribeVpcs:1:truncate"])
    try:
        send(fake, ec2_request(fake))
        outcome = "complete"
    except http.client.IncompleteRead:
        outcome = "incomplete"
    check("truncate: body shorter than Content-Length", outcome == "incomplete", outcome)

    fake.control(latency_ms=200)
    start = time.monotonic()
    status, _, _ = send(fake, ec2_request(fake))
    check("latency_ms delays the response", status == 200 and time.monotonic() - start >= 0.2)
    fake.control(latency_ms=0)


def test_random_rates_seeded(fake):
    def run():
        fake.control(seed=7, error_rate=0.5, clear_rules=True)
        outcome = [error_of(client(fake, "dynamodb").list_tables)[0] for _ in range(12)]
        fake.control(error_rate=0.0)
        return outcome
    first, second = run(), run()
    check("seeded error_rate is reproducible and mixes 200 and 5xx",
          first == second and 200 in first and any(s >= 500 for s in first), (first, second))


def test_keepalive_and_stats(fake):
    fake.control(reset_stats=True)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    statuses = [send(fake, ec2_request(fake), conn=conn)[0] for _ in range(3)]
    stats = fake.stats()
    check("keep-alive: 3 requests on one connection",
          statuses == [200] * 3 and stats["connections"] == 1, (statuses, stats["connections"]))
    check("/__stats counts per service/operation", stats["requests"]["ec2"]["DescribeVpcs"] == 3)
    last = fake.requests()[-1]
    check("/__requests records operation and access key",
          last["operation"] == "DescribeVpcs" and last["access_key"] == AKID, last)


def test_wire_details(fake):
    method, path, headers, body = signed(fake, "dynamodb", "POST", "/", b'{"TableName":"users"}',
                                         {"X-Amz-Target": "DynamoDB_20120810.DescribeTable",
                                          "Content-Type": "application/x-amz-json-1.0"})
    del headers["Content-Length"]
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request(method, path, body=iter([body[:5], body[5:]]), headers=headers,
                 encode_chunked=True)
    response = conn.getresponse()
    check("chunked request body is read and verified",
          response.status == 200 and b"ACTIVE" in response.read())
    try:
        fake.control(throttle_rat=1)
        outcome = "accepted"
    except RuntimeError as e:
        outcome = str(e)
    check("unknown control key -> 400 naming it", "throttle_rat" in outcome, outcome)
    fake.control(missing="empty")
    queues = client(fake, "sqs").list_queues()
    fake.control(missing="error")
    check("missing=empty answers unrecorded calls with an empty result",
          queues["ResponseMetadata"]["HTTPStatusCode"] == 200 and not queues.get("QueueUrls"))


def test_synthetic():
    with fakes.start_fake_aws(synthetic=250) as fake:
        ec2 = client(fake, "ec2")
        pages = list(ec2.get_paginator("describe_instances").paginate(
            PaginationConfig={"PageSize": 100}))
        instances = [i for p in pages for r in p["Reservations"] for i in r["Instances"]]
        check("synthetic: 250 instances in 3 pages", len(instances) == 250 and len(pages) == 3,
              (len(instances), len(pages)))
        subnets = {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
        vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        groups = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
        refs_ok = all(i["SubnetId"] in subnets and i["VpcId"] in vpcs
                      and i["SecurityGroups"][0]["GroupId"] in groups for i in instances)
        check("synthetic: every instance references existing subnet/vpc/sg",
              refs_ok and len(vpcs) == 2 and len(subnets) == 8, (len(vpcs), len(subnets)))
        one = ec2.describe_instances(InstanceIds=[instances[42]["InstanceId"]])["Reservations"]
        check("synthetic: InstanceId filter", len(one) == 1)


def test_no_secrets_in_log():
    log = tempfile.mktemp(prefix="fake-aws-", suffix=".log")
    with fakes.start_fake_aws(FIXTURES, creds=CREDS, verbose=True, log=log) as fake:
        client(fake, "sts", TOKEN_AKID, TOKEN_SECRET, TOKEN).get_caller_identity()
        error_of(client(fake, "sts", TOKEN_AKID, "wrong", TOKEN).get_caller_identity)
    with open(log) as f:
        text = f.read()
    os.unlink(log)
    check("verbose log shows the calls", "sts.GetCallerIdentity 200" in text, text[:300])
    check("verbose log holds no secret, token or Authorization",
          all(s not in text for s in (TOKEN_SECRET, TOKEN, SECRET, "Signature=")), text)


# --- the receiver ----------------------------------------------------------------------------

def post(url, body, headers=None, timeout=5):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_receiver():
    out = tempfile.mktemp(prefix="fake-receiver-", suffix=".jsonl")
    rx = fakes.start_receiver(out=out, max_body=100000)
    key = rx.api_key
    payload = {"collection_timestamp": 1, "topologies": [{"components": [{"externalId": "a"}]}]}
    status, _ = post(rx.intake_url + "?api_key=" + key, gzip.compress(json.dumps(payload).encode()),
                     {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    check("receiver accepts gzip with ?api_key", status == 200, status)
    status, _ = post(rx.url + "/receiver/stsAgent/intake", json.dumps({"n": 2}).encode(),
                     {"Content-Type": "application/json", "sts-api-key": key})
    check("receiver accepts plain JSON with sts-api-key header", status == 200, status)
    status, body = post(rx.intake_url + "?api_key=wrong", b"{}")
    check("wrong API key -> 403 with a message", status == 403 and "API key" in body["error"], body)
    status, _ = post(rx.intake_url + "?api_key=" + key, b"{not json")
    check("invalid JSON -> 400", status == 400)
    status, _ = post(rx.intake_url + "?api_key=" + key, b"not gzip", {"Content-Encoding": "gzip"})
    check("bad gzip -> 400", status == 400)
    status, _ = post(rx.intake_url + "?api_key=" + key, b"[" + b"1," * 60000 + b"1]")
    check("max_body -> 413", status == 413, status)
    payloads = rx.payloads()
    check("payloads recorded in order", [p["payload"] for p in payloads] == [payload, {"n": 2}],
          payloads)
    with open(out) as f:
        lines = [json.loads(line) for line in f]
    check("payloads written to --out", [p["seq"] for p in lines] == [1, 2] and
          key not in open(out).read())

    rx.control(status=500, count=2)
    statuses = [post(rx.intake_url + "?api_key=" + key, b"{}")[0] for _ in range(3)]
    check("control status 500 x2 then 200", statuses == [500, 500, 200], statuses)
    for code in (401, 413, 503):
        rx.control(status=code, count=1)
        check("control status %d" % code, post(rx.intake_url + "?api_key=" + key, b"{}")[0] == code)

    rx.control(down=True)
    try:
        post(rx.intake_url + "?api_key=" + key, b"{}")
        outcome = "answered"
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as e:
        outcome = type(e).__name__
    check("down: connection closed without answer", outcome != "answered", outcome)
    rx.control(down=False)
    check("up again: accepted", post(rx.intake_url + "?api_key=" + key, b"{}")[0] == 200)
    stats = rx.stats()
    check("receiver /__stats", stats["accepted"] == 4 and stats["rejected_auth"] == 1
          and stats["refused"] == 1 and stats["injected"].get("500") == 2, stats)

    port = rx.port
    rx.restart()
    check("restart on the same port", rx.port == port)
    status, body = post(rx.intake_url + "?api_key=" + key, b"{\"after\": true}")
    check("restarted receiver keeps earlier payloads and seq",
          status == 200 and body["seq"] == 5 and len(rx.payloads()) == 5, body)
    rx.stop()
    os.unlink(out)


def run(test, *args):
    """Runs one test group; an unexpected exception counts as one failure."""
    try:
        test(*args)
    except Exception:
        check(test.__name__ + " raised", False, "\n" + traceback.format_exc())


def main():
    run(test_sigv4_suite)
    run(test_routing_unit)
    with fakes.start_fake_aws(FIXTURES, creds=CREDS, expired_tokens=[OLD_TOKEN]) as fake:
        for test in (test_accepts_all_protocols, test_service_aliases, test_fixture_features,
                     test_rejects_bad_signatures, test_tampering, test_clock_skew,
                     test_throttling, test_fail_first_n, test_transport_faults,
                     test_random_rates_seeded, test_keepalive_and_stats, test_wire_details):
            run(test, fake)
            fake.control(clear_rules=True, throttle_rate=0, error_rate=0, latency_ms=0)
    run(test_synthetic)
    run(test_no_secrets_in_log)
    run(test_receiver)
    sys.exit(check.report())


if __name__ == "__main__":
    main()
