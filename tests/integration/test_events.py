"""test_events.py -- `awstopo events process` end to end.

The binary under test ($AWSTOPO_BIN) reads events in every input form, routes
them to the mappings' handlers, which call the fake AWS endpoint
(tests/fake/fake_aws.py), and writes or sends the topology update. What is
checked:

  a  every event fixture case of the bundled mappings (mappings/fixtures/*/
     cases with an "event"): its recorded responses are turned into wire
     fixtures (tests/fake/cases.py) and the event goes through `events process`
     against the fake; the update equals the case's golden file. The input
     form rotates over the cases: bare CloudTrail record, EventBridge event,
     CloudTrail log file (plain and gzipped), Firehose-concatenated EventBridge
     events (plain and gzipped), on standard input
  b  routing: ELB classic vs v2 by apiVersion; the event's own account (its
     [account] credentials) and region; an account without credentials fails
     that event only
  c  errorCode: nothing changes, no call is made
  d  newest event per resource: one describe; a delete after an update is
     never described; a later create wins over an earlier delete
  e  missing handler: counted, exit 0
  f  malformed input: the error names the file and record, the other events
     go through, exit 1
  g  EventBridge's "EC2 Instance State-change Notification": terminated
     deletes the instance, running describes it
  h  --stackstate-url: an incremental payload (no start/stop snapshot,
     delete_ids) reaches the receiver; --format intake the same on stdout

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes                                              # noqa: E402
import cases                                               # noqa: E402
import checklib  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
API_KEY = "awstopo-events-api-key-51c0ffee"

check = checklib.NamedChecks()
WORK = tempfile.mkdtemp(prefix="awstopo-events-test-")
MODELS = cases.ModelCache()


# --- input forms ------------------------------------------------------------------

def envelope(record):
    return {"version": "0", "id": record.get("eventID", "0"), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws." + record["eventSource"].split(".")[0], "account": record.get("recipientAccountId", ACCOUNT),
            "time": record.get("eventTime", "2024-01-01T00:00:00Z"), "region": record.get("awsRegion", "us-east-1"),
            "resources": [], "detail": record}


def form_bytes(form, records):
    """The bytes of records written in one of the input forms. EventBridge's
    own events (with a detail-type) have no CloudTrail form: they go as
    EventBridge events in the record and cloudtrail forms."""
    if any("detail-type" in r for r in records):
        form = {"record": "eventbridge", "cloudtrail": "eventbridge", "cloudtrail.gz": "firehose.gz"}.get(form, form)
        wrap = (lambda r: r)
    else:
        wrap = envelope
    if form == "record":
        text = "\n".join(json.dumps(r, indent=2) for r in records)
    elif form == "eventbridge":
        text = "\n".join(json.dumps(wrap(r)) for r in records)
    elif form in ("cloudtrail", "cloudtrail.gz"):
        text = json.dumps({"Records": records})
    elif form in ("firehose", "firehose.gz"):
        text = "".join(json.dumps(wrap(r), separators=(",", ":")) for r in records)
    else:
        raise ValueError(form)
    data = text.encode()
    return gzip.compress(data) if form.endswith(".gz") else data


FORMS = ["record", "eventbridge", "cloudtrail", "cloudtrail.gz", "firehose", "firehose.gz"]


# --- running ----------------------------------------------------------------------------

def run(aws, args, stdin=None, env_extra=None):
    env = dict(os.environ, **aws.env())
    env.pop("AWSTOPO_CONFIG", None)
    env.update(env_extra or {})
    p = subprocess.run([BIN, "events", "process"] + args, input=stdin, capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def update_of(out):
    doc = json.loads(out)
    return {k: doc.get(k, []) for k in ("components", "relations", "delete_ids")}


def sort_items(items):
    return sorted(items, key=lambda x: x["externalId"] if isinstance(x, dict) else x)


def mapping_service(name):
    out = subprocess.run([BIN, "mappings", "describe", name], capture_output=True, check=True).stdout
    return json.loads(out)["service"]


# --- a: every event case ---------------------------------------------------------------------

def event_cases():
    for path in sorted(glob.glob(os.path.join(ROOT, "mappings", "fixtures", "*", "*.case.json"))):
        with open(path) as f:
            case = json.load(f)
        if "event" in case:
            yield path, case


def test_cases(aws):
    services, handled, n = {}, {}, 0      # handled: (mapping, event name) -> the case that went through
    for path, case in event_cases():
        mapping = case.get("mapping") or os.path.basename(os.path.dirname(path))
        case = dict(case, _mapping=mapping, _path=path)
        if mapping not in services:
            services[mapping] = mapping_service(mapping)
        name = "%s/%s" % (mapping, os.path.basename(path)[:-len(".case.json")])
        form = FORMS[n % len(FORMS)]
        n += 1
        ok, detail = run_case(aws, name, case, services[mapping], form)
        if ok:
            handled.setdefault((mapping, case["event"].get("eventName") or case["event"]["detail-type"]), case)
        check("a %s (%s)" % (name, form), ok, detail)

    # every other event name, with a case of another name of the same handler
    groups = handler_groups()
    by_group = {}
    for key, case in handled.items():
        by_group.setdefault(groups.get(key), case)
    missing = []
    for key in sorted(groups):
        if key in handled:
            continue
        case = by_group.get(groups[key])
        if case is None:
            missing.append("%s %s" % key)
            continue
        event = dict(case["event"], eventName=key[1])
        form = FORMS[n % len(FORMS)]
        n += 1
        ok, detail = run_case(aws, "%s/as-%s" % key, case, services[key[0]], form, event)
        check("a %s %s (as %s, %s)" % (key[0], key[1], os.path.basename(case["_path"]), form), ok, detail)
    check("a every handler of the bundled mappings went through events process", not missing,
          "handlers without any fixture case: %s" % ", ".join(missing))


ZERO_FRACTION = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.0+(\+00:00|Z)$")


def normalize(value):
    """A golden file holds the case's timestamps as written ("...:00.000000+00:00");
    through the wire they come back as the AWS CLI prints them ("...:00+00:00")."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        return ZERO_FRACTION.sub(r"\1\2", value)
    return value


def _paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, "%s.%s" % (prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, "%s[%d]" % (prefix, i))
    else:
        yield prefix, value


def handler_groups():
    """{(mapping, event name): handler number}: names with one number share a handler."""
    mappings = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "mappings", "*.lua")))
    out = subprocess.run(["lua5.4", os.path.join("tests", "integration", "events", "handler_groups.lua")] + mappings,
                         capture_output=True, check=True, cwd=ROOT, text=True).stdout
    groups = {}
    for line in out.splitlines():
        mapping, event, number = line.split("\t")
        groups[(mapping, event)] = (mapping, int(number))
    return groups


def run_case(aws, name, case, service, form, event=None):
    """Runs a fixture case's event (or event instead) through events process
    against the fake; returns (ok, detail)."""
    fixtures = os.path.join(WORK, "cases", name)
    shutil.rmtree(fixtures, ignore_errors=True)
    cases.case_to_fixtures(case, service, fixtures, MODELS)
    aws.control(fixtures=fixtures, reset_stats=True, reset_fixtures=True)
    args = ["--services", case["_mapping"], "--account-id", case.get("account", ACCOUNT), "--format", "json", "-"]
    if case.get("regions"):
        args = ["--regions", ",".join(case["regions"])] + args
    region = case.get("region", "us-east-1")
    rc, out, err = run(aws, args, stdin=form_bytes(form, [event or case["event"]]),
                       env_extra={"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
    with open(case["_path"].replace(".case.json", ".golden.json")) as f:
        golden = json.load(f)
    if "error" in golden:
        return rc == 1 and "failed" in err, (rc, err)
    try:
        got = update_of(out)
    except ValueError:
        return False, (rc, out, err)
    want = {k: sort_items(normalize(golden.get(k, []))) for k in ("components", "relations", "delete_ids")}
    got = {k: sort_items(v) for k, v in got.items()}
    return got == want and rc == 0, "rc=%s\nstderr: %s\ndiff: %s" % (rc, err, diff(want, got))


def diff(want, got):
    out = []
    for k in want:
        by_id = {x["externalId"]: x for x in got[k] if isinstance(x, dict)}
        for w in want[k]:
            g = by_id.get(w["externalId"]) if isinstance(w, dict) else None
            if g is not None and g != w:
                wp, gp = dict(_paths(w)), dict(_paths(g))
                out += ["%s %s: want %r got %r" % (k, p, wp.get(p), gp.get(p))
                        for p in sorted(set(wp) | set(gp)) if wp.get(p) != gp.get(p)][:10]
        w = {json.dumps(x, sort_keys=True) for x in want[k]}
        g = {json.dumps(x, sort_keys=True) for x in got[k]}
        out += ["- %s %s" % (k, x[:300]) for x in sorted(w - g)] + ["+ %s %s" % (k, x[:300]) for x in sorted(g - w)]
    return "\n".join(out[:20])


# --- b-h: one small world -------------------------------------------------------------

ROLE = "arn:aws:iam::222222222222:role/StackStateAwsIntegration"
ROLE_KEY = "ASIAROLEFAKE00000002"
ROLE_SECRET = "roleSecretKey/For+Tests/00000000000000002"
ROLE_TOKEN = "FQoGZXIvYXdzRoleSessionToken000000000002"


def queue_url(name, region="us-east-1", account=ACCOUNT):
    return "https://sqs.%s.amazonaws.com/%s/%s" % (region, account, name)


def queue_arn(name, region="us-east-1", account=ACCOUNT):
    return "arn:aws:sqs:%s:%s:%s" % (region, account, name)


def queue_responses(*queues):
    attrs, tags = [], []
    for name, region, account in queues:
        url = queue_url(name, region, account)
        attrs.append({"params": {"QueueUrl": url}, "response": {"Attributes": {
            "QueueArn": queue_arn(name, region, account), "VisibilityTimeout": "30"}}})
        tags.append({"params": {"QueueUrl": url}, "response": {"Tags": {"team": "payments"}}})
    return {"GetQueueAttributes": attrs, "ListQueueTags": tags}


def make_world():
    """Wire fixtures for the tests below: a few queues and an instance."""
    world = os.path.join(WORK, "world")
    cases.case_to_fixtures({"responses": queue_responses(("orders", "us-east-1", ACCOUNT),
                                                        ("orders", "eu-west-1", ACCOUNT),
                                                        ("billing", "us-east-1", OTHER_ACCOUNT))},
                          "sqs", world, MODELS)
    with open(os.path.join(ROOT, "mappings", "fixtures", "ec2", "event-state-change-running.case.json")) as f:
        cases.case_to_fixtures(json.load(f), "ec2", world, MODELS)
    shutil.copytree(os.path.join(ROOT, "tests", "integration", "fixtures-scan", "sts"), os.path.join(world, "sts"))
    return world


def ct(name, params, time, source="sqs.amazonaws.com", region="us-east-1", account=ACCOUNT, **extra):
    """A CloudTrail record."""
    record = {"eventVersion": "1.09", "eventTime": time, "eventSource": source, "eventName": name,
              "awsRegion": region, "requestParameters": params, "responseElements": None,
              "recipientAccountId": account, "eventID": "%s-%s" % (name, time)}
    record.update(extra)
    return record


def write(name, data):
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def calls(aws, service, operation):
    return aws.stats()["requests"].get(service, {}).get(operation, 0)


def ids(items):
    return sorted(x["externalId"] if isinstance(x, dict) else x for x in items)


def test_routing(aws):
    aws.control(reset_stats=True)
    elb = [ct("DeleteLoadBalancer", {"loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                     "loadbalancer/app/web/50dc6c495c0c9188"}, "2024-06-01T10:00:00Z",
              source="elasticloadbalancing.amazonaws.com", apiVersion="2015-12-01"),
           ct("DeleteLoadBalancer", {"loadBalancerName": "classic-web"}, "2024-06-01T10:00:01Z",
              source="elasticloadbalancing.amazonaws.com", apiVersion="2012-06-01")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("elb.json", form_bytes("cloudtrail", elb))])
    check("b ELB v2 and classic events go to elbv2 and elb", rc == 0 and update_of(out)["delete_ids"] == [
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/classic-web"], (rc, out, err))
    rc, out, err = run(aws, ["--account-id", ACCOUNT, "--services", "elb", write("elb2.json", form_bytes("record", elb[:1]))])
    check("b a v2 event never reaches the classic mapping", rc == 0 and update_of(out)["delete_ids"] == []
          and "1 without a handler" in err, (rc, out, err))

    # the event's own region
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("region.json", form_bytes("eventbridge", [
        ct("TagQueue", {"queueUrl": queue_url("orders", "eu-west-1")}, "2024-06-01T10:00:00Z", region="eu-west-1")]))])
    comps = update_of(out)["components"] if rc == 0 else []
    check("b the event's region", rc == 0 and ids(comps) == [queue_arn("orders", "eu-west-1")]
          and comps[0]["data"]["Location"]["AwsRegion"] == "eu-west-1", (rc, out, err))

    # the event's own account, with that account's credentials; an unknown account fails that event only
    conf = write("accounts.conf", "[account main]\naccount_id = %s\n\n[account partner]\nrole_arn = %s\n"
                 "external_id = acme-7f3a\naccount_id = %s\n" % (ACCOUNT, ROLE, OTHER_ACCOUNT))
    aws.control(reset_stats=True, creds=["%s:%s:%s" % (ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)])
    events = [ct("TagQueue", {"queueUrl": queue_url("orders")}, "2024-06-01T10:00:00Z"),
              ct("TagQueue", {"queueUrl": queue_url("billing", account=OTHER_ACCOUNT)}, "2024-06-01T10:00:01Z",
                 account=OTHER_ACCOUNT),
              ct("TagQueue", {"queueUrl": queue_url("x", account="333333333333")}, "2024-06-01T10:00:02Z",
                 account="333333333333")]
    rc, out, err = run(aws, ["--config", conf, write("accounts.json", form_bytes("firehose", events))],
                       env_extra={"AWS_ENDPOINT_URL_STS": aws.url})
    keys = {q.get("access_key") for q in aws.requests() if q.get("service") == "sqs"}
    check("b each account's events use its own credentials", keys == {fakes.ACCESS_KEY, ROLE_KEY}, keys)
    check("b events of both configured accounts are handled", rc == 1 and ids(update_of(out)["components"]) == sorted([
        queue_arn("billing", account=OTHER_ACCOUNT), queue_arn("orders")]), (rc, out, err))
    check("b an account without credentials fails that event, named", "record 1[2]" not in err and
          "333333333333: no credentials" in err.replace("account 333333333333", "333333333333") and "1 failed" in err,
          err)


def test_failed_calls(aws):
    aws.control(reset_stats=True)
    events = [ct("DeleteQueue", {"queueUrl": queue_url("orders")}, "2024-06-01T10:00:00Z",
                 errorCode="AccessDenied", errorMessage="not allowed"),
              ct("TagQueue", {"queueUrl": queue_url("orders")}, "2024-06-01T10:00:01Z", errorCode="AccessDenied")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("failed.json", form_bytes("cloudtrail", events))])
    u = update_of(out) if rc == 0 else {}
    check("c a failed call (errorCode) changes nothing and calls nothing",
          rc == 0 and u == {"components": [], "relations": [], "delete_ids": []} and aws.stats()["total"] == 0
          and "2 failed calls skipped" in err, (rc, out, err))


def test_newest(aws):
    url = queue_url("orders")
    aws.control(reset_stats=True)
    events = [ct("TagQueue", {"queueUrl": url}, "2024-06-01T10:00:02Z"),       # newest first in the file:
              ct("SetQueueAttributes", {"queueUrl": url}, "2024-06-01T10:00:01Z"),   # time decides
              ct("UntagQueue", {"queueUrl": url}, "2024-06-01T10:00:00Z")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("newest.json", form_bytes("record", events))])
    check("d three events of one queue: described once", rc == 0 and calls(aws, "sqs", "GetQueueAttributes") == 1
          and ids(update_of(out)["components"]) == [queue_arn("orders")] and "2 superseded" in err, (rc, out, err))

    aws.control(reset_stats=True)
    events = [ct("SetQueueAttributes", {"queueUrl": url}, "2024-06-01T10:00:00Z"),
              ct("DeleteQueue", {"queueUrl": url}, "2024-06-01T10:00:01Z")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("deleted.json", form_bytes("eventbridge", events))])
    u = update_of(out) if rc == 0 else {}
    check("d a queue deleted after a change: deleted, never described",
          rc == 0 and aws.stats()["total"] == 0 and u["components"] == [] and u["delete_ids"] == [queue_arn("orders")],
          (rc, out, err))

    aws.control(reset_stats=True)
    events = [ct("DeleteQueue", {"queueUrl": url}, "2024-06-01T10:00:00Z"),
              ct("SetQueueAttributes", {"queueUrl": url}, "2024-06-01T10:00:05Z")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("recreated.json", form_bytes("cloudtrail", events))])
    u = update_of(out) if rc == 0 else {}
    check("d a queue made again after its delete: the later component wins",
          rc == 0 and ids(u["components"]) == [queue_arn("orders")] and u["delete_ids"] == [], (rc, out, err))

    # EC2: a CloudTrail StopInstances, then EventBridge says terminated
    aws.control(reset_stats=True)
    stop = ct("StopInstances", {"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60001"}]}},
              "2024-05-02T09:30:01Z", source="ec2.amazonaws.com", region="eu-west-1")
    terminated = {"version": "0", "id": "1", "detail-type": "EC2 Instance State-change Notification",
                  "source": "aws.ec2", "account": ACCOUNT, "time": "2024-05-02T09:31:00Z", "region": "eu-west-1",
                  "resources": [], "detail": {"instance-id": "i-0a1b2c3d4e5f60001", "state": "terminated"}}
    data = form_bytes("eventbridge", [stop]) + b"\n" + json.dumps(terminated).encode()
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("ec2.json", data)])
    u = update_of(out) if rc == 0 else {}
    check("g stopped, then terminated (EventBridge): deleted without a describe",
          rc == 0 and aws.stats()["total"] == 0 and u["components"] == []
          and u["delete_ids"] == ["arn:aws:ec2:eu-west-1:123456789012:instance/i-0a1b2c3d4e5f60001"], (rc, out, err))


def test_no_handler(aws):
    aws.control(reset_stats=True)
    events = [ct("DescribeInstances", {}, "2024-06-01T10:00:00Z", source="ec2.amazonaws.com", readOnly=True),
              ct("PutMetricData", {}, "2024-06-01T10:00:01Z", source="monitoring.amazonaws.com"),
              ct("Frobnicate", {}, "2024-06-01T10:00:02Z", source="nosuchservice.amazonaws.com")]
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("nohandler.json", form_bytes("cloudtrail.gz", events))])
    check("e events without a handler are counted, not errors",
          rc == 0 and "3 without a handler" in err and "awstopo:" not in err and aws.stats()["total"] == 0,
          (rc, out, err))


def test_malformed(aws):
    aws.control(reset_stats=True)
    good1 = envelope(ct("DeleteQueue", {"queueUrl": queue_url("a")}, "2024-06-01T10:00:00Z"))
    good2 = envelope(ct("DeleteQueue", {"queueUrl": queue_url("b")}, "2024-06-01T10:00:01Z"))
    broken = json.dumps(good1)[:-40]     # cut short, as a damaged object would be
    data = json.dumps(good1) + broken + json.dumps(good2) + json.dumps({"hello": "world"})
    path = write("firehose-broken", gzip.compress(data.encode()))
    missing = os.path.join(WORK, "no-such-file.json")
    rc, out, err = run(aws, ["--account-id", ACCOUNT, path, missing])
    u = update_of(out) if out.strip() else {}
    check("f malformed input: the error names the file and the record",
          "%s record 2: not valid JSON" % path in err and "%s record 4: a CloudTrail record without" % path in err
          and "no-such-file.json: cannot read it" in err, err)
    check("f ... and the other events still go through, exit 1",
          rc == 1 and u.get("delete_ids") == [queue_arn("a"), queue_arn("b")] and "2 handled" in err, (rc, out, err))
    rc, out, err = run(aws, ["--account-id", ACCOUNT, write("notgzip.gz", b"\x1f\x8b\x08\x00garbage")])
    check("f a damaged gzip file is an error naming it", rc != 0 and "notgzip.gz: cannot read it" in err, (rc, err))


def test_sinks(aws):
    events = [ct("DeleteQueue", {"queueUrl": queue_url("gone")}, "2024-06-01T10:00:00Z"),
              ct("TagQueue", {"queueUrl": queue_url("orders")}, "2024-06-01T10:00:01Z")]
    path = write("sinks.json", form_bytes("cloudtrail", events))
    rc, out, err = run(aws, ["--account-id", ACCOUNT, "--format", "intake", path])
    try:
        payloads = json.loads(out)
    except ValueError:
        payloads = []
    topo = payloads[0]["topologies"][0] if payloads else {}
    check("h --format intake: an incremental payload, no snapshot, with delete_ids",
          rc == 0 and len(payloads) == 1 and topo.get("start_snapshot") is False
          and topo.get("stop_snapshot") is False and topo.get("delete_ids") == [queue_arn("gone")]
          and ids(topo.get("components", [])) == [queue_arn("orders")], (rc, out, err))
    with fakes.start_receiver(api_key=API_KEY) as rx:
        spool = os.path.join(WORK, "spool")
        rc, out, err = run(aws, ["--account-id", ACCOUNT, "--stackstate-url", rx.url, "--spool", spool,
                                 "--instance", "acme", path], env_extra={"AWSTOPO_API_KEY": API_KEY})
        got = [e["payload"] for e in rx.payloads()]
        topo = got[0]["topologies"][0] if got else {}
        check("h --stackstate-url: the receiver gets the incremental update",
              rc == 0 and len(got) == 1 and topo.get("start_snapshot") is False and topo.get("stop_snapshot") is False
              and topo.get("instance", {}).get("url") == "acme" and topo.get("delete_ids") == [queue_arn("gone")],
              (rc, err, got))
        check("h the API key appears in no output", API_KEY not in out + err, "")


def main():
    aws = fakes.start_fake_aws(None)
    try:
        for test in (test_cases,):
            try:
                test(aws)
            except Exception:
                traceback.print_exc()
                check(test.__name__, False, "raised")
        aws.control(fixtures=make_world(), reset_fixtures=True)
        for test in (test_routing, test_failed_calls, test_newest, test_no_handler, test_malformed, test_sinks):
            try:
                test(aws)
            except Exception:
                traceback.print_exc()
                check(test.__name__, False, "raised")
    finally:
        aws.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
