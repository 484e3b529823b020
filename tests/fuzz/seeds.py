#!/usr/bin/python3
"""seeds.py -- builds the fuzzers' seed corpus (docs/fuzzing.md).

    tests/fuzz/seeds.py OUTDIR

writes OUTDIR/<harness>/<hash> files, one input each, from what the project
already has: the AWS protocol test suite (tests/conformance/aws-protocols)
and the SigV4 suite (tests/conformance/sigv4), the demo account's recorded
responses (demo/, written in each service's wire protocol by the fake's
wire.py), the mappings' event fixtures, the configuration examples, and
intake payloads and spool entries made from the demo's components. The
output is the same on every run (names are content hashes).
"""

import glob
import gzip
import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))
import awsproto  # noqa: E402  (the fake's protocol helpers)
import wire      # noqa: E402

MAX_SEED = 64 * 1024     # larger inputs only slow the fuzzer down
PER_HARNESS = 600


class Corpus:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = {}

    def add(self, harness, data):
        if isinstance(data, str):
            data = data.encode()
        if len(data) > MAX_SEED or self.count.get(harness, 0) >= PER_HARNESS:
            return
        d = os.path.join(self.outdir, harness)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()[:16]
        path = os.path.join(d, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count[harness] = self.count.get(harness, 0) + 1
        if harness == "fuzz_parse_xml":     # the body alone, for the XML reader
            self.add("fuzz_xml_scan", data.split(b"\n\n", 1)[-1])


def load_models():
    """service -> (model dict, protocol) for every model under models/."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*", "*", "service-2.json"))):
        service = path.split(os.sep)[-3]
        with open(path) as f:
            data = json.load(f)
        meta = data.get("metadata", {})
        proto = (meta.get("protocols") or [meta.get("protocol")])[0]
        out[service] = (data, proto)
    return out


def response_text(first_line, headers, body):
    head = "".join("%s: %s\n" % (k, v) for k, v in sorted((headers or {}).items()))
    if isinstance(body, str):
        body = body.encode()
    return first_line.encode() + b"\n" + head.encode() + b"\n" + (body or b"")


def harness_for(proto):
    return "fuzz_parse_json" if proto in ("json", "rest-json") else "fuzz_parse_xml"


def demo_seeds(c, models):
    """Every recorded demo response, as its service sends it."""
    for path in sorted(glob.glob(os.path.join(ROOT, "demo", "*", "*.json"))):
        with open(path) as f:
            calls = json.load(f)
        for op, entries in sorted(calls.items()):
            services = [s for s, (d, _) in models.items() if op in d["operations"]]
            for service in services[:1]:
                data, proto = models[service]
                m = wire.Model(data)
                for e in entries if isinstance(entries, list) else []:
                    if "error" in e:
                        err = e["error"]
                        code = err.get("Code", "Error") if isinstance(err, dict) else str(err)
                        headers, body = awsproto.error_body(proto, service, code, "demo error", "req-1", 400)
                        c.add("fuzz_errors", response_text("%s %s 400" % (service, op), headers, body))
                    elif "response" in e:
                        body = wire.serialize(m, proto, op, e["response"], "req-1")
                        c.add(harness_for(proto), response_text("%s %s" % (service, op), {}, body))


def conformance_seeds(c, models):
    """The protocol suite's responses, against a real operation of a service
    of the same protocol (the bodies are for the suite's own shapes: they
    bring the wire forms, the models bring real shapes)."""
    by_proto = {}
    for service, (data, proto) in sorted(models.items()):
        ops = sorted(o for o, d in data["operations"].items() if d.get("output"))
        by_proto.setdefault(proto, []).extend("%s %s" % (service, o) for o in ops[:3])
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "aws-protocols", "output", "*.json"))):
        suite = os.path.basename(path)[:-5]
        proto = {"json_1_0": "json"}.get(suite, suite)
        targets = by_proto.get(proto) or []
        with open(path) as f:
            suites = json.load(f)
        i = 0
        for s in suites:
            for case in s["cases"]:
                if not targets:
                    continue
                r = case.get("response", {})
                status = r.get("status_code", 200)
                line = targets[i % len(targets)]
                i += 1
                if "error" in case or status >= 300:
                    c.add("fuzz_errors", response_text("%s %d" % (line, status), r.get("headers"), r.get("body", "")))
                else:
                    c.add(harness_for(proto), response_text(line, r.get("headers"), r.get("body", "")))


def fake_error_seeds(c, models):
    """The fake's errors of every protocol (throttling, 5xx, access denied)."""
    for service, (data, proto) in sorted(models.items()):
        op = sorted(data["operations"])[0]
        for code, status in (("ThrottlingException", 400), ("AccessDenied", 403), ("InternalError", 500)):
            headers, body = awsproto.error_body(proto, service, code, "Rate <exceeded> & \"more\"", "r-1", status)
            c.add("fuzz_errors", response_text("%s %s %d" % (service, op, status), headers, body))
        c.add("fuzz_errors", response_text("%s %s 503" % (service, op), {}, "<html>Service Unavailable</html>"))


def sigv4_seeds(c):
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "sigv4", "*", "request.txt"))):
        with open(path, "rb") as f:
            c.add("fuzz_sigv4", f.read())
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "sigv4", "*", "*", "request.txt"))):
        with open(path, "rb") as f:
            c.add("fuzz_sigv4", f.read())


CONFIGS = [
    "[stackstate]\nurl = https://stackstate.example.com/receiver\napi_key = ${STS_API_KEY}\n"
    "instance = production-aws\nspool = /var/lib/awstopo/spool\nspool_max_mb = 256\n\n"
    "[scan]\nregions = eu-west-1, us-east-1\nservices = ec2, vpc, elbv2, s3\n\n"
    "[metrics]\nmax_metrics_per_hour = 100000\naws.ec2.instance = CPUUtilization, StatusCheckFailed\n\n"
    "[account production]\nprofile = prod\nrole_arn = arn:aws:iam::111122223333:role/StackStateAwsIntegration\n"
    "external_id = 8f2c0b7e\nsession_name = awstopo\naccount_id = 111122223333\nregions = eu-west-1\n\n"
    "[account staging]\nprofile = staging ; trailing comment\n",
    "# comment\n; comment\n[scan]\nregions = all\n[account]\n",
    "[stackstate\nurl\n= x\n[nope]\nkey = value\n[scan]\nspool_max_mb = -3\n",
]

AWS_CONFIGS = [
    "[default]\nregion = eu-west-1\nmax_attempts = 5\nretry_mode = adaptive\n\n"
    "[profile prod]\nrole_arn = arn:aws:iam::111122223333:role/Scan\nsource_profile = base\n"
    "external_id = ext\nrole_session_name = awstopo\n\n[profile base]\nregion = us-east-1\n"
    "\0[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = SECRETVALUE1\n\n"
    "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = SECRETVALUE2\n"
    "aws_session_token = SECRETVALUE3\n",
    "[profile web]\nweb_identity_token_file = /tmp/token\nrole_arn = arn:aws:iam::1:role/x\n"
    "[sso-session s]\nsso_region = us-east-1\n[profile nested]\ns3 =\n  max_concurrent_requests = 20\n"
    "\0# comment\n; also\n[default]\naws_access_key_id=AKID\naws_secret_access_key=SECRETVALUE4\n",
    "[profile broken\nregion = x\n\0key without section = SECRETVALUE5\n",
]


def config_seeds(c):
    for text in CONFIGS:
        c.add("fuzz_config", text)
        c.add("fuzz_config", gzip.compress(text.encode(), mtime=0))
    for text in AWS_CONFIGS:
        c.add("fuzz_aws_config", text)


def event_seeds(c):
    records = []
    for path in sorted(glob.glob(os.path.join(ROOT, "mappings", "fixtures", "*", "*.case.json"))):
        with open(path) as f:
            case = json.load(f)
        ev = case.get("event")
        if ev is None:
            continue
        records.append(ev)
        c.add("fuzz_events", json.dumps(ev))
    # the other forms: a CloudTrail log file, an EventBridge envelope, an
    # array, a Firehose-style concatenation
    trail = [r for r in records if isinstance(r, dict) and "eventSource" in r][:5]
    c.add("fuzz_events", json.dumps({"Records": trail}))
    for r in trail[:3]:
        c.add("fuzz_events", json.dumps({"version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail",
                                         "source": "aws." + r["eventSource"].split(".")[0], "account": "123456789012",
                                         "time": r.get("eventTime", ""), "region": r.get("awsRegion", ""),
                                         "detail": r}))
    c.add("fuzz_events", json.dumps(trail[:3]))
    c.add("fuzz_events", "".join(json.dumps(r) for r in trail[:3]))
    c.add("fuzz_events", "\n".join(json.dumps(r) for r in trail[:3]) + "\n")


def demo_components():
    """Components and relations shaped as intake items, from the demo's
    responses (ids and names only: the splitter does not look inside)."""
    comps = []
    with open(os.path.join(ROOT, "demo", "eu-west-1", "ec2.json")) as f:
        calls = json.load(f)
    for e in calls.get("DescribeInstances", []):
        for res in e.get("response", {}).get("Reservations", []):
            for inst in res.get("Instances", []):
                comps.append({"externalId": inst["InstanceId"], "type": {"name": "aws.ec2.instance"},
                              "data": {"name": inst.get("PrivateDnsName", ""), "labels": ["é\"\\\n"],
                                       "tags": {k: v for k, v in (("k", "v"), ("empty", ""))}}})
    return comps


def intake_payloads():
    comps = demo_components()
    rels = [{"externalId": "%s->%s" % (a["externalId"], b["externalId"]), "type": {"name": "uses"},
             "sourceId": a["externalId"], "targetId": b["externalId"], "data": {}}
            for a, b in zip(comps, comps[1:])]
    out = []
    for nc, nr, nd, start, stop in ((len(comps), len(rels), 0, True, True), (2, 0, 0, True, False),
                                    (1, 1, 1, False, True), (0, 0, 3, False, False), (1, 0, 0, True, True)):
        out.append(json.dumps({
            "internalHostname": "awstopo-host", "collection_timestamp": 1733400000,
            "topologies": [{"start_snapshot": start, "stop_snapshot": stop,
                            "instance": {"type": "aws", "url": "production-aws"},
                            "components": comps[:nc], "relations": rels[:nr],
                            "delete_ids": ["urn:gone:%d" % i for i in range(nd)]}],
            "health": [], "metrics": []}, indent=None if nc != 1 else 1))
    return out


def intake_seeds(c):
    for p in intake_payloads():
        c.add("fuzz_intake_split", p)
        gz = gzip.compress(p.encode(), mtime=0)
        c.add("fuzz_spool", gz)
        c.add("fuzz_spool", gz[: len(gz) // 2])               # torn write
        c.add("fuzz_spool", gz + gz)                          # two members
        flipped = bytearray(gz)
        flipped[len(gz) // 3] ^= 0x10                        # a flipped bit
        c.add("fuzz_spool", bytes(flipped))
    c.add("fuzz_spool", b"")
    c.add("fuzz_spool", b"{\"not\": \"gzip\"}")


def luajson_seeds(c):
    for path in sorted(glob.glob(os.path.join(ROOT, "demo", "*", "*.json")))[:20]:
        with open(path, "rb") as f:
            c.add("fuzz_luajson", f.read())
    for text in ('{"a": [1, 2.5, -0.0, 1e308, true, false, null], "b": {}, "c": []}',
                 '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/"', "9223372036854775807", "-9223372036854775808",
                 "18446744073709551616", "0.1", "[[[[[[[[[[]]]]]]]]]]", '{"x": null}'):
        c.add("fuzz_luajson", text)
        c.add("fuzz_luajson", b"\x01" + text.encode())    # keep_null


def xml_seeds(c):
    """What the XML reader must get right beyond what AWS usually sends."""
    for text in ('<?xml version="1.0" encoding="UTF-8"?>\n<a xmlns="urn:x" b=\'1\'><c>t &amp; &lt;&#x20AC;&#65;</c></a>',
                 "\xef\xbb\xbf<a><![CDATA[<x> & ]] >]]><!-- c --><?pi x?></a>\r\n",
                 "<a x=\"&#9;1\r\n2\t3\">l1\r\nl2\rl3</a>", "<p:a p:b='\xc3\xa9'><p:c/></p:a>",
                 '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "<a>\xf0\x9f\x98\x80</a>", "<a></b>"):
        c.add("fuzz_xml_scan", text.encode("latin-1"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seeds.py OUTDIR")
    outdir = sys.argv[1]
    shutil.rmtree(outdir, ignore_errors=True)
    c = Corpus(outdir)
    models = load_models()
    demo_seeds(c, models)
    conformance_seeds(c, models)
    fake_error_seeds(c, models)
    sigv4_seeds(c)
    config_seeds(c)
    event_seeds(c)
    intake_seeds(c)
    luajson_seeds(c)
    xml_seeds(c)
    for h in sorted(c.count):
        print("seeds: %-20s %d" % (h, c.count[h]))


if __name__ == "__main__":
    main()
