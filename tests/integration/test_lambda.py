"""test_lambda.py -- `awstopo lambda`, the Lambda custom runtime, end to end.

A fake Lambda Runtime API (tests/fake/fake_lambda_runtime.py) queues
invocations; the runtime runs as Lambda would start it (AWS_LAMBDA_RUNTIME_API,
_HANDLER, no HOME, configuration in the environment) against the fake AWS
endpoint, kinesalite and the recording StackState receiver. Checked:

  a  an unknown _HANDLER is reported through /init/error
  b  publisher: a Kinesis batch reaches StackState, a bad record is skipped
     and not reported as a failure (batchItemFailures empty); StackState down:
     batchItemFailures names the batch's first record; back up: delivered;
     an event that is not a Kinesis batch is reported through /error; one
     process serves all these invocations; the API key comes from an SSM
     SecureString parameter and appears in no output
  c  cron: a scan, sent as a snapshot; a scan slower than the deadline is
     stopped and reported through /error before the deadline
  d  cwevents: an EventBridge event becomes records in a Kinesis stream
  e  `make lambda`'s zip: bootstrap starts the runtime from the unpacked zip

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes                                              # noqa: E402
import checklib  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
FIXTURES = os.path.join(ROOT, "tests", "integration", "fixtures-scan")
API_KEY = "awstopo-lambda-api-key-9d41c2"
PARAM = "/awstopo/stackstate-api-key"

check = checklib.NamedChecks()
WORK = tempfile.mkdtemp(prefix="awstopo-lambda-test-")


def start_runtime_api():
    return fakes.FakeProcess([fakes.PYTHON, os.path.join(ROOT, "tests", "fake", "fake_lambda_runtime.py")]).start()


def lambda_env(api, handler, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWSTOPO_", "AWS_"))}
    env.pop("HOME", None)                            # Lambda has no HOME
    env.update(AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % api.port, _HANDLER=handler, LAMBDA_TASK_ROOT=ROOT,
               AWSTOPO_RETRY_BASE_MS="5", AWS_MAX_ATTEMPTS="2")
    env.update(extra)
    return env


def start_runtime(api, handler, log, **extra):
    return subprocess.Popen([BIN, "lambda"], env=lambda_env(api, handler, **extra), stdout=log, stderr=log)


def invoke(api, event, deadline_in_ms=30000):
    return api.post_json("/__invoke", {"event": event, "deadline_in_ms": deadline_in_ms})["id"]


def result_of(api, id_, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in api.get_json("/__results"):
            if r["id"] == id_:
                return r
        time.sleep(0.05)
    return None


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def record(kind, id_, version="v"):
    r = {"awstopo": 1, "instance": "aws", "kind": kind, "id": id_, "time": 0}
    if kind != "delete":
        r["item"] = {"externalId": id_, "type": {"name": "test.thing"}, "data": {"version": version}}
    return json.dumps(r).encode()


def kinesis_event(records):
    out = []
    for i, data in enumerate(records):
        seq = "4960000000000000000000000000000000000000000000000000%04d" % i
        out.append({"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "k%d" % i, "sequenceNumber": seq,
                                "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": 1.7e9},
                    "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:" + seq,
                    "eventName": "aws:kinesis:record", "awsRegion": "us-east-1",
                    "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/topo"})
    return {"Records": out}


def ids_received(rx, since=0):
    out = []
    for e in rx.payloads(since):
        t = e["payload"]["topologies"][0]
        out += [c["externalId"] for c in t.get("components", [])] + list(t.get("delete_ids", []))
    return sorted(out)


def last_seq(rx):
    p = rx.payloads()
    return p[-1]["seq"] if p else 0


# --- a ---------------------------------------------------------------------------------------

def test_unknown_handler(api):
    log = open(os.path.join(WORK, "unknown.log"), "wb")
    proc = start_runtime(api, "nonsense", log)
    proc.wait(20)
    inits = [r for r in api.get_json("/__results") if r["kind"] == "init_error"]
    check("a an unknown _HANDLER goes to /init/error", proc.returncode != 0 and inits and
          inits[-1]["error_type"] == "Awstopo.UnknownHandler" and "nonsense" in inits[-1]["body"]["errorMessage"],
          (proc.returncode, inits))


# --- b ---------------------------------------------------------------------------------------

def test_publisher(api, aws, rx):
    fakes.write_fixtures(os.path.join(WORK, "ssm-fixtures"), {
        "ssm/GetParameter": [{"match": {"Name": PARAM, "WithDecryption": True},
                              "json": {"Parameter": {"Name": PARAM, "Type": "SecureString", "Value": API_KEY,
                                                     "Version": 1}}}]})
    aws.control(fixtures=os.path.join(WORK, "ssm-fixtures"))
    logpath = os.path.join(WORK, "publisher.log")
    log = open(logpath, "wb")
    env = dict(aws.env(), AWS_ENDPOINT_URL_SSM=aws.url, AWSTOPO_STACKSTATE_URL=rx.url,
               AWSTOPO_API_KEY_PARAMETER=PARAM, AWSTOPO_INSTANCE="acme")
    env.pop("AWS_ENDPOINT_URL", None)
    proc = start_runtime(api, "publisher", log, **env)
    try:
        since = last_seq(rx)
        id1 = invoke(api, kinesis_event([record("component", "urn:t:1"), b"garbage", record("delete", "urn:t:2")]))
        r = result_of(api, id1)
        check("b publisher: the batch reaches StackState, the bad record skipped, no failure reported",
              r and r["kind"] == "response" and r["body"] == {"batchItemFailures": []}
              and ids_received(rx, since) == ["urn:t:1", "urn:t:2"], (r, ids_received(rx, since)))
        check("b the API key came from SSM", aws.stats()["requests"].get("ssm", {}).get("GetParameter") == 1,
              aws.stats()["requests"])

        rx.control(down=True)
        ev = kinesis_event([record("component", "urn:t:3"), record("component", "urn:t:4")])
        id2 = invoke(api, ev)
        r = result_of(api, id2)
        first = ev["Records"][0]["kinesis"]["sequenceNumber"]
        check("b StackState down: batchItemFailures names the batch's first record",
              r and r["kind"] == "response" and r["body"] == {"batchItemFailures": [{"itemIdentifier": first}]}, r)
        rx.control(down=False)
        since = last_seq(rx)
        id3 = invoke(api, ev)                       # Lambda hands the batch again
        r = result_of(api, id3)
        check("b back up: the batch is delivered", r and r["body"] == {"batchItemFailures": []}
              and {"urn:t:3", "urn:t:4"} <= set(ids_received(rx, since)), (r, ids_received(rx, since)))

        id4 = invoke(api, {"not": "a kinesis batch"})
        r = result_of(api, id4)
        check("b an error in the handler goes to /error", r and r["kind"] == "error"
              and r["error_type"] == "Awstopo.HandlerFailed", r)
        # the runtime asks /next again only after posting a result: give it a moment
        deadline = time.time() + 10
        stats = api.get_json("/__stats")
        while stats["next"] < 5 and time.time() < deadline:
            time.sleep(0.05)
            stats = api.get_json("/__stats")
        check("b one process serves every invocation", proc.poll() is None and stats["next"] >= 5, stats["next"])
    finally:
        stop(proc)
        log.close()
    with open(logpath, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    check("b the API key appears in no output", API_KEY not in text, "")


# --- c ---------------------------------------------------------------------------------------

def test_cron(api, aws, rx):
    aws.control(fixtures=FIXTURES, latency_ms=0)
    env = dict(aws.env(), AWSTOPO_STACKSTATE_URL=rx.url, AWSTOPO_API_KEY=API_KEY, AWSTOPO_SERVICES="sqs",
               AWSTOPO_REGIONS="us-east-1", AWSTOPO_INSTANCE="acme")
    log = open(os.path.join(WORK, "cron.log"), "wb")
    proc = start_runtime(api, "cron", log, **env)
    try:
        since = last_seq(rx)
        r = result_of(api, invoke(api, {"source": "aws.events", "detail-type": "Scheduled Event"}))
        got = [e["payload"]["topologies"][0] for e in rx.payloads(since)]
        check("c cron: a scan, sent as one snapshot", r and r["kind"] == "response"
              and r["body"] == {"handler": "cron", "exit": 0} and got and got[0]["start_snapshot"]
              and got[-1]["stop_snapshot"], (r, len(got)))

        aws.control(latency_ms=4000)
        id2 = invoke(api, {}, deadline_in_ms=2500)
        r = result_of(api, id2)
        d = [x for x in api.get_json("/__stats")["dispatched"] if x["id"] == id2]
        check("c a scan slower than the deadline is stopped and reported before it",
              r and r["kind"] == "error" and r["error_type"] == "Awstopo.DeadlineExceeded" and d
              and r["at_ms"] < d[0]["deadline_ms"], (r, d))
        aws.control(latency_ms=0)
        r = result_of(api, invoke(api, {}))
        check("c ... and the next invocation runs as usual", r and r["body"] == {"handler": "cron", "exit": 0}, r)
    finally:
        stop(proc)
        log.close()


# --- d ---------------------------------------------------------------------------------------

def test_cwevents(api, aws):
    try:
        kinesis = fakes.start_kinesalite()
    except RuntimeError as e:
        check("d kinesalite starts", False, e)
        return
    import botocore.session
    kc = botocore.session.get_session().create_client(
        "kinesis", region_name="us-east-1", endpoint_url=kinesis.url,
        aws_access_key_id=fakes.ACCESS_KEY, aws_secret_access_key=fakes.SECRET_KEY)
    kc.create_stream(StreamName="topo", ShardCount=1)
    time.sleep(0.2)
    aws.control(fixtures=FIXTURES, latency_ms=0)
    env = dict(aws.env(), AWS_ENDPOINT_URL_KINESIS=kinesis.url, AWSTOPO_KINESIS_STREAM="topo",
               AWSTOPO_INSTANCE="acme")
    log = open(os.path.join(WORK, "cwevents.log"), "wb")
    proc = start_runtime(api, "cwevents", log, **env)
    try:
        event = {"version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sqs",
                 "account": "123456789012", "time": "2024-06-01T10:00:00Z", "region": "us-east-1", "resources": [],
                 "detail": {"eventVersion": "1.09", "eventSource": "sqs.amazonaws.com", "eventName": "DeleteQueue",
                            "awsRegion": "us-east-1", "eventTime": "2024-06-01T10:00:00Z",
                            "recipientAccountId": "123456789012",
                            "requestParameters": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/gone"}}}
        r = result_of(api, invoke(api, event))
        shard = kc.list_shards(StreamName="topo")["Shards"][0]["ShardId"]
        it = kc.get_shard_iterator(StreamName="topo", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = [json.loads(x["Data"]) for x in kc.get_records(ShardIterator=it)["Records"]]
        check("d cwevents: an EventBridge event becomes a record in the stream",
              r and r["body"] == {"handler": "cwevents", "exit": 0}
              and [(x["kind"], x["id"], x["instance"]) for x in recs] ==
              [("delete", "arn:aws:sqs:us-east-1:123456789012:gone", "acme")], (r, recs))
    finally:
        stop(proc)
        log.close()
        kinesis.stop()


# --- e ---------------------------------------------------------------------------------------

def unzip(path, into):
    import zipfile
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            z.extract(info, into)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(os.path.join(into, info.filename), mode)


def test_zip(api, rx):
    out = os.path.join(WORK, "awstopo-lambda.zip")
    p = subprocess.run(["sh", os.path.join(ROOT, "tools", "make-lambda.sh"), BIN, out], capture_output=True,
                       cwd=ROOT, timeout=120)
    if not check("e the zip is built", p.returncode == 0 and os.path.isfile(out), p.stderr.decode()):
        return
    root = os.path.join(WORK, "task")
    unzip(out, root)
    check("e the zip holds bootstrap, the binary, mappings, models and lib/",
          all(os.path.exists(os.path.join(root, x)) for x in ("bootstrap", "awstopo", "mappings/sqs.lua", "models",
                                                               "lib")) and os.access(os.path.join(root, "bootstrap"),
                                                                                     os.X_OK), os.listdir(root))
    env = lambda_env(api, "publisher", LAMBDA_TASK_ROOT=root, AWSTOPO_STACKSTATE_URL=rx.url, AWSTOPO_API_KEY=API_KEY)
    log = open(os.path.join(WORK, "zip.log"), "wb")
    proc = subprocess.Popen([os.path.join(root, "bootstrap")], env=env, stdout=log, stderr=log, cwd=WORK)
    try:
        since = last_seq(rx)
        r = result_of(api, invoke(api, kinesis_event([record("component", "urn:t:zip")])))
        check("e bootstrap from the unpacked zip serves an invocation",
              r and r["body"] == {"batchItemFailures": []} and ids_received(rx, since) == ["urn:t:zip"], r)
    finally:
        stop(proc)
        log.close()


# --- f ---------------------------------------------------------------------------------------

def test_secret(api, aws, rx):
    """The StackSet install's functions read the key from a Secrets Manager secret."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ApiKeySecret-AbCdEf"
    fakes.write_fixtures(os.path.join(WORK, "secret-fixtures"), {
        "secretsmanager/GetSecretValue": [{"match": {"SecretId": arn},
                                           "json": {"ARN": arn, "Name": "ApiKeySecret-AbCdEf",
                                                    "SecretString": API_KEY, "VersionId": "v1"}}]})
    aws.control(fixtures=os.path.join(WORK, "secret-fixtures"))
    logpath = os.path.join(WORK, "secret.log")
    log = open(logpath, "wb")
    env = dict(aws.env(), AWS_ENDPOINT_URL_SECRETS_MANAGER=aws.url, AWSTOPO_STACKSTATE_URL=rx.url,
               AWSTOPO_API_KEY_SECRET=arn, AWSTOPO_INSTANCE="acme")
    env.pop("AWS_ENDPOINT_URL", None)
    before = aws.stats()["requests"].get("secretsmanager", {}).get("GetSecretValue", 0)
    proc = start_runtime(api, "publisher", log, **env)
    try:
        since = last_seq(rx)
        r = result_of(api, invoke(api, kinesis_event([record("component", "urn:t:secret")])))
        check("f publisher with AWSTOPO_API_KEY_SECRET: delivered with the secret's key",
              r and r["body"] == {"batchItemFailures": []} and ids_received(rx, since) == ["urn:t:secret"], r)
        check("f the key came from Secrets Manager, once",
              aws.stats()["requests"].get("secretsmanager", {}).get("GetSecretValue", 0) == before + 1,
              aws.stats()["requests"])
    finally:
        stop(proc)
        log.close()
    with open(logpath, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    check("f the API key appears in no output", API_KEY not in text, "")


def main():
    api = start_runtime_api()
    try:
        with fakes.start_fake_aws(FIXTURES) as aws, fakes.start_receiver(api_key=API_KEY) as rx:
            for test, args in ((test_unknown_handler, (api,)), (test_publisher, (api, aws, rx)),
                               (test_cron, (api, aws, rx)), (test_cwevents, (api, aws)), (test_zip, (api, rx)),
                               (test_secret, (api, aws, rx))):
                try:
                    test(*args)
                except Exception:
                    traceback.print_exc()
                    check(test.__name__, False, "raised")
    finally:
        api.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
