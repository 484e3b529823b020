"""test_scan.py -- end-to-end tests of `awstopo scan` and `awstopo call`.

The binary under test ($AWSTOPO_BIN) scans a small, connected account served
by the fake AWS endpoint (tests/fake/fake_aws.py) from raw wire fixtures in
tests/integration/fixtures-scan/, and delivers to the recording StackState
receiver (tests/fake/fake_receiver.py). What is checked:

  a  a full scan arrives complete and well-formed (snapshot flags, unique
     ids, relation ends known), exit 0, the summary line
  b  payload chunking (--max-payload-items) keeps the snapshot intact
  c  receiver down: exit 1, payloads spooled; the next run delivers them
     first, in order, exactly once
  d  API key rejected (403 and 401); 413: cut until accepted, or moved to
     rejected/ when a single item is too large; 400 moved aside and the rest
     delivered; 500s then OK
  e  kill -9 during delivery, then a restart: nothing lost
  f  throttling / 5xx / resets on the AWS side change nothing in the topology,
     nor does tag:GetResources denied (the tags come one call per resource)
  g  a failing service: exit 1, the rest is sent, no stop_snapshot
  h  no secret (secret key, session token, API key) in any output or file
  i  `awstopo call` in the five protocols, timeouts, truncated bodies
  j  `awstopo scan --demo` (skipped until demo/ exists)
  k  a runaway mapping (a Lua loop that calls nothing) is stopped by the
     CPU-time limit, which a scan checks on CPU-time ticks, or by an
     instruction budget set by hand; the rest is sent, no stop_snapshot

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed"; the exit status is non-zero on failure.
"""

import datetime
import gzip
import json
import os
import re
import resource
import shutil
import signal
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
SERVICES = "ec2,vpc,sqs"            # the mappings the fixtures answer every call of
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Temporary credentials (the fake checks the session token on every request),
# and the receiver's API key. Test (h) looks for these in everything awstopo wrote.
AKID = "ASIAFAKESCANTEST0001"
SECRET = "scanTestSecret/Key+0123456789abcdefghijklm"
TOKEN = "IQoJb3JpZ2luX2VjEFAKE//////////scan+session/token=="
API_KEY = "awstopo-it-api-key-7f3c9a51e0"
WRONG_KEY = "wrong-api-key-d41d8cd98f00"
SECRETS = {"secret access key": SECRET, "session token": TOKEN, "API key": API_KEY,
           "rejected API key": WRONG_KEY}

SUMMARY = re.compile(r"^scan: (\d+) components, (\d+) relations; (\d+) runs, (\d+) failed; "
                     r"(\d+) API calls, (\d+) retries, (\d+) throttled; (\d+) warnings; "
                     r"[0-9.]+s", re.M)

check = checklib.NamedChecks(limit=1500)
WORK = tempfile.mkdtemp(prefix="awstopo-scan-test-")
TEXTS = []          # (what, text): every stdout/stderr awstopo produced, for test (h)
FILES = []          # every --output file written (spool files are read while they exist)


def tmpdir(name):
    path = tempfile.mkdtemp(prefix=name + "-", dir=WORK)
    return path


# --- running awstopo ---------------------------------------------------------------

class Result:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def summary(self):
        """The scan summary line's numbers as a dict, or None."""
        m = list(SUMMARY.finditer(self.err))
        if not m:
            return None
        keys = ("components", "relations", "runs", "failed", "calls", "retries", "throttled",
                "warnings")
        return dict(zip(keys, map(int, m[-1].groups())))

    def __repr__(self):
        return "rc=%s stderr=%r stdout=%r" % (self.rc, self.err[-800:], self.out[:300])


def base_env(aws, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AWSTOPO_")) and k not in ("HTTP_PROXY", "HTTPS_PROXY",
                                                                  "http_proxy", "https_proxy")}
    env.update(aws.env(token=TOKEN) if aws else {})
    env.update(HOME=WORK, AWSTOPO_HOME=ROOT, AWSTOPO_RETRY_BASE_MS="5", AWS_MAX_ATTEMPTS="5",
               AWS_CONFIG_FILE=os.path.join(WORK, "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(WORK, "no-credentials"),
               AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def awstopo(args, env, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([BIN] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    r = Result(p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)
    TEXTS.append(("%s stdout" % " ".join(args[:2]), r.out))
    TEXTS.append(("%s stderr" % " ".join(args[:2]), r.err))
    return r


def scan(aws, rx=None, spool=None, extra=(), env=None, services=SERVICES, **env_extra):
    args = ["scan", "--services", services, "--regions", REGION]
    if rx:
        args += ["--stackstate-url", rx.url, "--spool", spool or tmpdir("spool")]
    args += list(extra)
    for i, a in enumerate(args):
        if a == "--output" and args[i + 1] != "-":
            FILES.append(args[i + 1])
    e = env or base_env(aws, AWSTOPO_API_KEY=API_KEY, **env_extra)
    return awstopo(args, e)


def receiver():
    """A fresh recording receiver; its stderr (tracebacks of requests the
    killed client abandoned) goes to a log file, not into the test output."""
    return fakes.start_receiver(api_key=API_KEY, log=os.path.join(WORK, "receiver.log"))


def spooled(spool):
    """The spool's entries (sorted, oldest first) as (name, raw bytes)."""
    names = sorted(n for n in os.listdir(spool) if n.endswith(".json.gz"))
    out = []
    for n in names:
        with open(os.path.join(spool, n), "rb") as f:
            out.append((n, f.read()))
    for n, raw in out:
        TEXTS.append(("spool file %s" % n, raw.decode("latin-1")))
        try:
            TEXTS.append(("spool file %s (gunzipped)" % n,
                          gzip.decompress(raw).decode("utf-8", "replace")))
        except OSError:
            pass
    return out


def spooled_payloads(spool):
    return [json.loads(gzip.decompress(raw)) for _, raw in spooled(spool)]


# --- payloads and topologies --------------------------------------------------------

def topo(payload):
    return payload["topologies"][0]


def items_of(payloads):
    """{externalId: canonical JSON} of components and relations over all payloads."""
    comps, rels = {}, {}
    for p in payloads:
        for c in topo(p)["components"]:
            comps[c["externalId"]] = json.dumps(c, sort_keys=True)
        for r in topo(p)["relations"]:
            rels[r["externalId"]] = json.dumps(r, sort_keys=True)
    return comps, rels


def snapshot_flags_ok(payloads, complete=True):
    """start_snapshot on the first only; stop_snapshot on the last only (or nowhere)."""
    flags = [(topo(p)["start_snapshot"], topo(p)["stop_snapshot"]) for p in payloads]
    n = len(flags)
    want = [(i == 0, complete and i == n - 1) for i in range(n)]
    return flags == want, flags


def well_formed(payload):
    """A list of problems with one intake payload ([] = fine)."""
    problems = []
    for key in ("internalHostname", "collection_timestamp", "topologies", "health", "metrics"):
        if key not in payload:
            problems.append("no %s" % key)
    if not isinstance(payload.get("collection_timestamp"), (int, float)):
        problems.append("collection_timestamp is not a number")
    tops = payload.get("topologies")
    if not (isinstance(tops, list) and len(tops) == 1):
        return problems + ["topologies is not a list of one"]
    t = tops[0]
    if t.get("instance") != {"type": "aws", "url": t.get("instance", {}).get("url")} or \
            not t["instance"].get("url"):
        problems.append("bad instance %r" % t.get("instance"))
    for flag in ("start_snapshot", "stop_snapshot"):
        if not isinstance(t.get(flag), bool):
            problems.append("%s is not a boolean" % flag)
    for c in t.get("components", []):
        if not (isinstance(c.get("externalId"), str) and c["externalId"]
                and isinstance(c.get("type"), dict) and c["type"].get("name")
                and isinstance(c.get("data"), dict) and c["data"].get("name")):
            problems.append("bad component %.200s" % json.dumps(c))
    for r in t.get("relations", []):
        if not all(isinstance(r.get(k), str) and r[k] for k in ("externalId", "sourceId", "targetId")) \
                or not (isinstance(r.get("type"), dict) and r["type"].get("name")):
            problems.append("bad relation %.200s" % json.dumps(r))
    return problems


# Relation ends that need not be components of this scan. A relation may point
# at a resource another mapping emits; when that mapping or that region was
# not part of the scan, the end is legitimately absent. The rule: the end is an
# ARN  arn:aws:<service>:<region>:<account>:<resource>  and either its region
# was not scanned, or the mapping that emits that kind of resource (OWNER
# below) was not among --services. Anything else that dangles is a bug (a
# mapping building an id its peer does not emit). Kinds not listed are never
# allowed, so the rule cannot hide a typo.
OWNER = {("ec2", "instance"): "ec2", ("ec2", "security-group"): "ec2",
         ("ec2", "vpc"): "vpc", ("ec2", "subnet"): "vpc", ("sqs", None): "sqs"}


def allowed_external_end(end, services, regions):
    m = re.match(r"^arn:aws:([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$", end)
    if not m:
        return False
    service, region, _, resource = m.groups()
    kind = resource.split("/")[0] if "/" in resource else None
    owner = OWNER.get((service, kind))
    if owner is None:
        return False
    return region not in regions or owner not in services


def dangling_ends(payloads, services, regions):
    """(not allowed, allowed) relation ends that are not emitted components."""
    comps, rels = items_of(payloads)
    bad, ok = set(), set()
    for r in rels.values():
        r = json.loads(r)
        for end in (r["sourceId"], r["targetId"]):
            if end in comps:
                continue
            (ok if allowed_external_end(end, services, regions) else bad).add(end)
    return bad, ok


def arn(kind, rid, account=ACCOUNT):
    return "arn:aws:ec2:%s:%s:%s/%s" % (REGION, account, kind, rid)


# The account in fixtures-scan/: what a complete scan must contain.
EXPECTED_COMPONENTS = {
    arn("instance", "i-0aa0000000000a001"), arn("instance", "i-0aa0000000000a002"),
    arn("instance", "i-0aa0000000000a003"), arn("instance", "i-0aa0000000000a005"),
    arn("security-group", "sg-0dd0000000000d001"), arn("security-group", "sg-0dd0000000000d002"),
    arn("security-group", "sg-0dd0000000000d003"), arn("security-group", "sg-0dd0000000000d004"),
    arn("vpc", "vpc-0cc0000000000c001"), arn("vpc", "vpc-0cc0000000000c002"),
    arn("vpc", "vpc-0cc0000000000c003"),
    arn("subnet", "subnet-0bb0000000000b001"), arn("subnet", "subnet-0bb0000000000b002"),
    arn("subnet", "subnet-0bb0000000000b003"), arn("subnet", "subnet-0bb0000000000b004"),
    "arn:aws:sqs:us-east-1:123456789012:orders", "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
    "arn:aws:sqs:us-east-1:123456789012:events.fifo",
}
EXPECTED_RELATIONS = {   # (source, type, target)
    (arn("instance", "i-0aa0000000000a001"), "runs-in", arn("subnet", "subnet-0bb0000000000b001")),
    (arn("instance", "i-0aa0000000000a001"), "uses", arn("security-group", "sg-0dd0000000000d001")),
    (arn("instance", "i-0aa0000000000a002"), "runs-in", arn("subnet", "subnet-0bb0000000000b002")),
    (arn("instance", "i-0aa0000000000a002"), "uses", arn("security-group", "sg-0dd0000000000d001")),
    (arn("instance", "i-0aa0000000000a002"), "uses", arn("security-group", "sg-0dd0000000000d002")),
    (arn("instance", "i-0aa0000000000a003"), "runs-in", arn("subnet", "subnet-0bb0000000000b003")),
    (arn("instance", "i-0aa0000000000a003"), "uses", arn("security-group", "sg-0dd0000000000d003")),
    (arn("instance", "i-0aa0000000000a005"), "runs-in", arn("subnet", "subnet-0bb0000000000b004")),
    (arn("instance", "i-0aa0000000000a005"), "uses", arn("security-group", "sg-0dd0000000000d004")),
    (arn("security-group", "sg-0dd0000000000d001"), "runs-in", arn("vpc", "vpc-0cc0000000000c001")),
    (arn("security-group", "sg-0dd0000000000d002"), "runs-in", arn("vpc", "vpc-0cc0000000000c001")),
    (arn("security-group", "sg-0dd0000000000d003"), "runs-in", arn("vpc", "vpc-0cc0000000000c002")),
    (arn("security-group", "sg-0dd0000000000d004"), "runs-in", arn("vpc", "vpc-0cc0000000000c003")),
    (arn("subnet", "subnet-0bb0000000000b001"), "runs-in", arn("vpc", "vpc-0cc0000000000c001")),
    (arn("subnet", "subnet-0bb0000000000b002"), "runs-in", arn("vpc", "vpc-0cc0000000000c001")),
    (arn("subnet", "subnet-0bb0000000000b003"), "runs-in", arn("vpc", "vpc-0cc0000000000c002")),
    (arn("subnet", "subnet-0bb0000000000b004"), "runs-in", arn("vpc", "vpc-0cc0000000000c003")),
    ("arn:aws:sqs:us-east-1:123456789012:orders", "uses",
     "arn:aws:sqs:us-east-1:123456789012:orders-dlq"),
}
N_ITEMS = len(EXPECTED_COMPONENTS) + len(EXPECTED_RELATIONS)


def relation_triples(payloads):
    _, rels = items_of(payloads)
    return {(r["sourceId"], r["type"]["name"], r["targetId"]) for r in map(json.loads, rels.values())}


def received(rx, since=0):
    return [p["payload"] for p in rx.payloads(since)]


def spool_empty(spool):
    return [n for n in os.listdir(spool) if not n.startswith(".")] == []


def wait_for(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# --- the tests ---------------------------------------------------------------------------

BASELINE = {}       # the fault-free scan: payloads (a), topology json (f)


def test_full_scan(aws):
    """(a) A full scan to the receiver: complete, well-formed, exit 0, summary."""
    rx = receiver()
    spool = tmpdir("spool-a")
    aws.control(reset_stats=True)
    r = scan(aws, rx, spool)
    check("a: exit code 0", r.rc == 0, r)
    payloads = received(rx)
    BASELINE["payloads"] = payloads
    check("a: one payload (2500 items per payload by default)", len(payloads) == 1, len(payloads))
    if not payloads:
        return rx.stop()
    problems = [p for pl in payloads for p in well_formed(pl)]
    check("a: payloads well-formed", not problems, problems[:5])
    ok, flags = snapshot_flags_ok(payloads)
    check("a: start_snapshot on the first, stop_snapshot on the last", ok, flags)
    check("a: instance url is the default 'aws'", topo(payloads[0])["instance"]["url"] == "aws",
          topo(payloads[0])["instance"])

    all_comp_ids = [c["externalId"] for p in payloads for c in topo(p)["components"]]
    all_rel_ids = [x["externalId"] for p in payloads for x in topo(p)["relations"]]
    check("a: component externalIds unique", len(all_comp_ids) == len(set(all_comp_ids)),
          sorted(all_comp_ids))
    check("a: relation externalIds unique", len(all_rel_ids) == len(set(all_rel_ids)))
    check("a: exactly the account's components (terminated instance left out)",
          set(all_comp_ids) == EXPECTED_COMPONENTS,
          (sorted(set(all_comp_ids) - EXPECTED_COMPONENTS), sorted(EXPECTED_COMPONENTS - set(all_comp_ids))))
    triples = relation_triples(payloads)
    check("a: exactly the expected relations", triples == EXPECTED_RELATIONS,
          (sorted(triples - EXPECTED_RELATIONS), sorted(EXPECTED_RELATIONS - triples)))
    bad, allowed = dangling_ends(payloads, SERVICES.split(","), [REGION])
    check("a: every relation end is an emitted component", not bad and not allowed, (bad, allowed))

    comps = {c["externalId"]: c for p in payloads for c in topo(p)["components"]}
    web2 = comps.get(arn("instance", "i-0aa0000000000a002"), {}).get("data", {})
    check("a: XML entities decoded in names", web2.get("name") == "web-2 & worker <blue>", web2.get("name"))
    check("a: host identifiers for agent merge",
          "urn:host:/ip-10-0-2-20.ec2.internal" in web2.get("identifiers", []), web2.get("identifiers"))
    shared = comps.get(arn("subnet", "subnet-0bb0000000000b004"), {}).get("data", {})
    check("a: shared subnet carries the owner's ARN",
          "arn:aws:ec2:us-east-1:210987654321:subnet/subnet-0bb0000000000b004"
          in shared.get("identifiers", []), shared.get("identifiers"))
    orders = comps.get("arn:aws:sqs:us-east-1:123456789012:orders", {}).get("data", {})
    check("a: sqs attributes and tags (json protocol)",
          orders.get("ApproximateNumberOfMessages") == "12" and "team:payments" in orders.get("labels", []),
          orders)

    s = r.summary()
    check("a: summary line on stderr", s is not None, r.err)
    st = aws.stats()
    if s:
        check("a: summary counts", (s["components"], s["relations"], s["runs"], s["failed"]) ==
              (len(EXPECTED_COMPONENTS), len(EXPECTED_RELATIONS), 3, 0), s)
        check("a: summary API calls = calls the fake served", s["calls"] == st["total"], (s, st["total"]))
    req = st["requests"]
    check("a: both DescribeInstances pages and both ListQueues pages fetched",
          req.get("ec2", {}).get("DescribeInstances") == 2 and req.get("sqs", {}).get("ListQueues") == 2, req)
    check("a: account id looked up once", req.get("sts", {}).get("GetCallerIdentity") == 1, req)
    check("a: queue tags from one GetResources listing, no ListQueueTags",
          req.get("resourcegroupstaggingapi", {}).get("GetResources") == 1
          and not req.get("sqs", {}).get("ListQueueTags"), req)
    check("a: no unmatched request, no signature failure",
          st["unmatched"] == 0 and st["signature_failures"] == 0 and not st["auth_failures"], st)
    keys = {q["access_key"] for q in aws.requests() if q["service"] != "unknown"}
    check("a: signed with the temporary credentials", keys == {AKID}, keys)
    check("a: spool empty after delivery", spool_empty(spool), os.listdir(spool))

    # The allow-list rule in action: scanning ec2 alone leaves the subnet and
    # VPC ends to the vpc mapping, which was not run; they are allowed, and
    # nothing else dangles.
    rx.control(clear=True)
    r = scan(aws, rx, tmpdir("spool-a2"), services="ec2")
    only = received(rx)
    bad, allowed = dangling_ends(only, ["ec2"], [REGION])
    want = {t for src, _, t in EXPECTED_RELATIONS if ":subnet/" not in src and (":subnet/" in t or ":vpc/" in t)}
    check("a: ec2 alone: the dangling ends are exactly the vpc mapping's (allowed)",
          r.rc == 0 and not bad and allowed == want, (r, bad, allowed ^ want))
    check("a: the allow-list rejects an unknown end",
          not allowed_external_end("arn:aws:ec2:us-east-1:123456789012:volume/vol-1", ["ec2"], [REGION])
          and not allowed_external_end("urn:host:/x", [], [REGION])
          and not allowed_external_end(arn("subnet", "subnet-1"), ["vpc"], [REGION])
          and allowed_external_end(arn("subnet", "subnet-1").replace(REGION, "eu-west-1"),
                                   ["vpc"], [REGION]))
    rx.stop()


def test_chunking(aws):
    """(b) --max-payload-items 3: many payloads, flags right, same items."""
    rx = receiver()
    r = scan(aws, rx, extra=["--max-payload-items", "3"])
    payloads = received(rx)
    check("b: exit code 0", r.rc == 0, r)
    check("b: %d items in payloads of 3" % N_ITEMS, len(payloads) == -(-N_ITEMS // 3), len(payloads))
    sizes = [len(topo(p)["components"]) + len(topo(p)["relations"]) + len(topo(p)["delete_ids"])
             for p in payloads]
    check("b: no payload over 3 items", sizes and max(sizes) <= 3, sizes)
    ok, flags = snapshot_flags_ok(payloads)
    check("b: start only on the first, stop only on the last", ok, flags)
    check("b: every payload well-formed", all(not well_formed(p) for p in payloads))
    base = BASELINE.get("payloads") or []
    check("b: union of items equals the unchunked scan", items_of(payloads) == items_of(base))
    # Order: a relation never arrives before the payload holding its endpoints.
    seen, early = set(), []
    for p in payloads:
        seen |= {c["externalId"] for c in topo(p)["components"]}
        early += [x["externalId"] for x in topo(p)["relations"]
                  if x["sourceId"] not in seen or x["targetId"] not in seen]
    check("b: relations come after their endpoints", not early, early)
    for bad in ("abc", "0", "-3", "5x"):
        r = scan(aws, rx, extra=["--max-payload-items", bad])
        check("b: --max-payload-items %s: usage error (64)" % bad, r.rc == 64 and "max-payload-items" in r.err, r)
    rx.stop()


def test_receiver_down(aws):
    """(c) Receiver down: exit 1, spooled; back up: the old payloads go first, once."""
    rx = receiver()
    spool = tmpdir("spool-c")
    rx.control(down=True)
    r = scan(aws, rx, spool, extra=["--max-payload-items", "5"])
    check("c: receiver down: exit code 1", r.rc == 1, r)
    check("c: stderr says the payloads stay spooled", "spool" in r.err and spool in r.err, r.err)
    old = spooled_payloads(spool)
    n = -(-N_ITEMS // 5)
    check("c: all %d payloads spooled" % n, len(old) == n, len(old))
    check("c: nothing reached the receiver", rx.stats().get("accepted", 0) == 0, rx.stats())
    check("c: spooled snapshot complete and in order",
          snapshot_flags_ok(old)[0] and items_of(old) == items_of(BASELINE.get("payloads") or []),
          snapshot_flags_ok(old)[1])

    rx.control(down=False)
    # The second run names another instance, so that its payloads differ from
    # the first run's (the same account otherwise gives the same payloads).
    r = scan(aws, rx, spool, extra=["--max-payload-items", "5", "--instance", "second-run"])
    got = received(rx)
    check("c: receiver back: exit code 0", r.rc == 0, r)
    check("c: old payloads first, in order, then the new snapshot",
          len(got) == 2 * n and got[:n] == old, [topo(p)["start_snapshot"] for p in got])
    new = got[n:]
    check("c: new snapshot complete", snapshot_flags_ok(new)[0] and
          all(topo(p)["instance"]["url"] == "second-run" for p in new) and
          items_of(new) == items_of(old), snapshot_flags_ok(new)[1])
    bodies = [json.dumps(p, sort_keys=True) for p in got]
    check("c: no payload delivered twice", len(set(bodies)) == len(bodies))
    check("c: spool empty", spool_empty(spool), os.listdir(spool))

    # A receiver that is really gone (connection refused), then restarted on
    # the same port: the spooled payloads are delivered by the next run.
    rx.stop()
    r = scan(aws, rx, spool)
    check("c: receiver stopped: exit 1, spooled", r.rc == 1 and len(spooled(spool)) == 1, r)
    pending = spooled_payloads(spool)
    rx.start(rx.port)
    before = len(rx.payloads())
    r = scan(aws, rx, spool)
    got = received(rx, before)
    check("c: restarted receiver gets the spooled payload first, then the new one",
          r.rc == 0 and len(got) == 2 and got[0] == pending[0] and spool_empty(spool), (r, len(got)))
    rx.stop()


def test_delivery_errors(aws):
    """(d) 403/401 wrong key -> exit 2, stays spooled; 413 -> cut until accepted (a single
    item too large, or a 400: moved to rejected/, exit 2, the rest delivered); 500s -> retried."""
    rx = receiver()
    spool = tmpdir("spool-d")
    r = scan(aws, rx, spool, env=base_env(aws, AWSTOPO_API_KEY=WRONG_KEY))
    check("d: wrong API key (403): exit code 2", r.rc == 2, r)
    check("d: wrong key: clear message", re.search(r"API key", r.err) and "403" in r.err, r.err)
    check("d: wrong key: the key is not in the message", WRONG_KEY not in r.err + r.out)
    check("d: wrong key: payload stays spooled", len(spooled(spool)) == 1, os.listdir(spool))

    rx.control(status=401, count=1)
    r = scan(aws, rx, spool)
    check("d: 401: exit code 2, clear message without the key",
          r.rc == 2 and "401" in r.err and "API key" in r.err and API_KEY not in r.err, r)
    check("d: 401: both payloads still spooled", len(spooled(spool)) == 2, os.listdir(spool))
    r = scan(aws, rx, spool)
    got = received(rx)
    check("d: key accepted again: the 2 waiting + the new payload delivered, in order",
          r.rc == 0 and len(got) == 3 and spool_empty(spool), (r, len(got)))

    # 413: the receiver takes payloads of a few items at most (its limit: the
    # largest item alone, with room to spare); the snapshot is cut until the
    # parts fit, and arrives whole, in order, once.
    base = BASELINE.get("payloads") or []
    size = lambda v: len(json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode())
    largest = max([size(c) for p in base for c in topo(p)["components"] + topo(p)["relations"]] or [0])
    limit = largest + 1000
    rx.control(clear=True, max_bytes=limit)
    r = scan(aws, rx, spool)
    got = received(rx)
    rx.control(max_bytes=0)
    check("d: 413: cut until accepted (limit %d bytes): exit 0, several payloads" % limit,
          r.rc == 0 and len(got) > 2 and sum(map(size, base)) > limit, (r, len(got)))
    check("d: 413: the snapshot complete and in order, flags right",
          snapshot_flags_ok(got)[0] and items_of(got) == items_of(base), snapshot_flags_ok(got)[1])
    check("d: 413: stderr counts the cuts", re.search(r"%d payloads delivered, 0 spooled, 0 retries, %d cut in two "
                                                      r"\(HTTP 413\)" % (len(got), len(got) - 1), r.err), r.err)
    check("d: 413: spool empty", spool_empty(spool), os.listdir(spool))

    # Too large even as single items: each is moved to rejected/, exit 2, and
    # nothing blocks the spool.
    rx.control(clear=True, max_bytes=200)
    r = scan(aws, rx, spool)
    rx.control(max_bytes=0)
    rejected = os.path.join(spool, "rejected")
    names = sorted(os.listdir(rejected)) if os.path.isdir(rejected) else []
    check("d: 413 on single items: exit code 2", r.rc == 2, r)
    check("d: 413 on single items: clear message naming the file",
          "HTTP 413" in r.err and "too large even as a single item" in r.err
          and re.search(re.escape(rejected) + r"/\d{20}\.item-0\.json\.gz", r.err), r.err)
    check("d: 413 on single items: each item in rejected/, none in the spool",
          len(names) == N_ITEMS and not spooled(spool) and not received(rx), (len(names), os.listdir(spool)))
    raws = []
    for n in names:
        with open(os.path.join(rejected, n), "rb") as f:
            raws.append(gzip.decompress(f.read()).decode("utf-8"))
    TEXTS.extend(("rejected file %s" % n, raw) for n, raw in zip(names, raws))   # for (h)
    parts = [json.loads(raw) for raw in raws]
    check("d: 413 on single items: the files hold the snapshot's items",
          items_of(parts) == items_of(BASELINE.get("payloads") or []))
    shutil.rmtree(rejected)

    # 400 on the first payload: moved aside, the others delivered.
    rx.control(clear=True, status=400, count=1)
    r = scan(aws, rx, spool, extra=["--max-payload-items", "5"])
    got = received(rx)
    names = os.listdir(rejected) if os.path.isdir(rejected) else []
    check("d: 400: exit code 2, message with the status, the answer and the file",
          r.rc == 2 and "HTTP 400" in r.err and "injected status 400" in r.err and rejected in r.err, r)
    check("d: 400: that payload in rejected/, the rest delivered",
          len(names) == 1 and re.match(r"^\d{20}\.json\.gz$", names[0]) and len(got) == -(-N_ITEMS // 5) - 1
          and not spooled(spool), (names, len(got)))
    shutil.rmtree(rejected)

    rx.control(clear=True)
    rx.control(status=500, count=3)
    r = scan(aws, rx, spool)
    got = received(rx)
    st = rx.stats()
    check("d: 500 x3 then OK: exit code 0, delivered once",
          r.rc == 0 and len(got) == 1 and st["injected"].get("500") == 3, (r, len(got), st))
    check("d: 500 x3: stderr reports 3 retries", re.search(r"1 payloads? delivered, 0 spooled, 3 retries", r.err),
          r.err)
    check("d: spool empty", spool_empty(spool), os.listdir(spool))

    rx.control(status=429, count=1, retry_after=1)
    t0 = time.monotonic()
    r = scan(aws, rx, spool)
    check("d: 429 with Retry-After: 1 is honoured, then delivered",
          r.rc == 0 and time.monotonic() - t0 >= 1.0 and len(received(rx)) == 2, (r, time.monotonic() - t0))
    rx.stop()


def test_kill_during_delivery(aws):
    """(e) kill -9 during delivery, restart: everything arrives, in order."""
    rx = receiver()
    n = -(-N_ITEMS // 5)

    # 1. Killed during the retry backoff (receiver down): nothing in flight, so
    # the restart must deliver every payload exactly once.
    spool = tmpdir("spool-e1")
    rx.control(down=True)
    args = [BIN, "scan", "--services", SERVICES, "--regions", REGION, "--stackstate-url", rx.url,
            "--spool", spool, "--max-payload-items", "5"]
    env = base_env(aws, AWSTOPO_API_KEY=API_KEY, AWSTOPO_RETRY_BASE_MS="3000")
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok = wait_for(lambda: rx.stats().get("refused", 0) >= 1 and len(spooled(spool)) == n, 20)
    time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    out, err = p.communicate()
    TEXTS.append(("killed scan", (out + err).decode("utf-8", "replace")))
    before = spooled_payloads(spool)
    check("e: killed in backoff: all %d payloads on disk" % n, ok and len(before) == n and p.returncode == -9,
          (ok, len(before), p.returncode))
    check("e: no temp files left that the next run would trip on",
          all(x.endswith(".json.gz") or x in (".lock", ".commit.lock") or x.endswith(".tmp")
              for x in os.listdir(spool)))
    rx.control(down=False)
    r = scan(aws, rx, spool, extra=["--max-payload-items", "5", "--instance", "second-run"])
    got = received(rx)
    new = got[n:]
    check("e: restarted: spooled payloads first, in order, exactly once; then the new snapshot",
          r.rc == 0 and len(got) == 2 * n and got[:n] == before and snapshot_flags_ok(new)[0]
          and all(topo(p)["instance"]["url"] == "second-run" for p in new)
          and items_of(new) == items_of(before), (r, len(got)))
    check("e: spool empty", spool_empty(spool), os.listdir(spool))

    # 2. Killed while a request is in flight (receiver answers slowly). The
    # receiver records a payload as soon as it has read it; the killed process
    # never learns that, so that one payload is sent again by the next run:
    # delivery is at-least-once, and at most the payload in flight repeats.
    spool = tmpdir("spool-e2")
    rx.control(clear=True, delay_ms=400)
    assert not rx.payloads()
    p = subprocess.Popen(args[:args.index("--spool") + 1] + [spool, "--max-payload-items", "5"],
                         env=base_env(aws, AWSTOPO_API_KEY=API_KEY), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    ok = wait_for(lambda: len(rx.payloads()) >= 2, 20)
    p.send_signal(signal.SIGKILL)
    out, err = p.communicate()
    TEXTS.append(("killed scan", (out + err).decode("utf-8", "replace")))
    left = spooled_payloads(spool)
    time.sleep(0.5)                     # the receiver finishes the request in flight
    first = received(rx)
    check("e: killed in flight: delivered + spooled covers the snapshot",
          ok and 0 < len(left) < n and len(first) + len(left) in (n, n + 1), (ok, len(first), len(left)))
    rx.control(delay_ms=0)
    r = scan(aws, rx, spool, extra=["--max-payload-items", "5"])
    got = received(rx)
    dedup = [x for i, x in enumerate(got) if i == 0 or x != got[i - 1]]
    repeats = len(got) - len(dedup)
    check("e: restarted: the old snapshot complete and in order, then the new one",
          r.rc == 0 and len(dedup) == 2 * n and snapshot_flags_ok(dedup[:n])[0]
          and snapshot_flags_ok(dedup[n:])[0] and dedup[len(first):n] == left[-(n - len(first)):],
          (r, len(got), len(dedup)))
    check("e: at most the payload in flight arrived twice (at-least-once)", repeats <= 1, repeats)
    print("     (in-flight kill: %d delivered before the kill, %d spooled, %d repeated)"
          % (len(first), len(left), repeats))
    check("e: spool empty", spool_empty(spool), os.listdir(spool))

    # 3. Three scans at once sharing one spool (the delivery lock): one of them
    # delivers for all; every payload arrives once, each run's in its order.
    spool = tmpdir("spool-e3")
    rx.control(clear=True, delay_ms=30)
    procs = [subprocess.Popen(args[:args.index("--spool") + 1] +
                              [spool, "--max-payload-items", "5", "--instance", "run%d" % i],
                              env=base_env(aws, AWSTOPO_API_KEY=API_KEY), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(3)]
    codes = []
    for p in procs:
        out, err = p.communicate()
        codes.append(p.returncode)
        TEXTS.append(("concurrent scan", (out + err).decode("utf-8", "replace")))
    rx.control(delay_ms=0)
    got = received(rx)
    per_run = {}
    for p in got:
        per_run.setdefault(topo(p)["instance"]["url"], []).append(p)
    bodies = [json.dumps(p, sort_keys=True) for p in got]
    check("e: concurrent scans: exit 0 for the one that delivered, 1 for those that left it",
          sorted(codes) in ([0, 0, 0], [0, 0, 1], [0, 1, 1]), codes)
    check("e: concurrent scans: every payload once, each run's snapshot whole and in order",
          len(got) == 3 * n and len(set(bodies)) == len(bodies) and sorted(per_run) == ["run0", "run1", "run2"]
          and all(snapshot_flags_ok(v)[0] and items_of(v) == items_of(BASELINE.get("payloads") or [])
                  for v in per_run.values()), (len(got), {k: len(v) for k, v in per_run.items()}))
    check("e: concurrent scans: spool empty", spool_empty(spool), os.listdir(spool))
    rx.stop()


def topology_json(aws, name, **env_extra):
    out = os.path.join(tmpdir("out"), name + ".json")
    r = scan(aws, extra=["--format", "json", "--output", out], **env_extra)
    data = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except ValueError:
                pass
    return r, data


def test_aws_faults(aws):
    """(f) Throttling, 5xx and resets: the same topology, retries counted."""
    aws.control(reset_stats=True)
    r, clean = topology_json(aws, "clean")
    check("f: fault-free json output", r.rc == 0 and isinstance(clean, dict) and
          len(clean.get("components", [])) == len(EXPECTED_COMPONENTS), (r, str(clean)[:300]))
    BASELINE["json"] = clean
    aws.control(reset_stats=True, throttle_rate=0.2, error_rate=0.05, reset_rate=0.02, seed=11)
    results = []
    for i in range(2):
        results.append(topology_json(aws, "faulty%d" % i, AWS_MAX_ATTEMPTS=10))
    st = aws.stats()
    aws.control(throttle_rate=0, error_rate=0, reset_rate=0)
    for i, (r, data) in enumerate(results):
        check("f: run %d with faults: exit 0" % i, r.rc == 0, r)
        check("f: run %d with faults: topology equals the fault-free run" % i, data == clean,
              "%d vs %d components" % (len((data or {}).get("components", [])), len(clean.get("components", []))))
    sums = [r.summary() or {} for r, _ in results]
    check("f: summary shows retries > 0 and throttles > 0",
          sum(s.get("retries", 0) for s in sums) > 0 and sum(s.get("throttled", 0) for s in sums) > 0, sums)
    check("f: summary throttles match the fake's",
          sum(s.get("throttled", 0) for s in sums) == st["faults"].get("throttle", -1), (sums, st["faults"]))
    check("f: every fault kind was injected", all(st["faults"].get(k) for k in ("throttle", "reset")) and
          (st["faults"].get("error") or st["faults"].get("unavailable")), st["faults"])

    # tag:GetResources denied (a role from before mappings/lib/tagging.lua): one warning,
    # the tags come from ListQueueTags, one call per queue, and the topology is the same.
    aws.control(reset_stats=True, fail=["resourcegroupstaggingapi.GetResources:1:status:400:AccessDeniedException"])
    r, data = topology_json(aws, "no-tagging")
    aws.control(clear_rules=True)
    req = aws.stats()["requests"]
    check("f: GetResources denied: exit 0, the topology equals the fault-free run", r.rc == 0 and data == clean, r)
    check("f: GetResources denied: one warning, one ListQueueTags per queue",
          (r.summary() or {}).get("warnings") == 1 and req.get("sqs", {}).get("ListQueueTags") == 3,
          (r.summary(), req))


def test_failing_service(aws):
    """(g) sqs ListQueues AccessDenied: exit 1, the rest sent, no stop_snapshot."""
    rx = receiver()
    aws.control(fail=["sqs.ListQueues:1000:status:403:AccessDenied"])
    r = scan(aws, rx)
    aws.control(clear_rules=True)
    payloads = received(rx)
    check("g: exit code 1", r.rc == 1, r)
    comps, _ = items_of(payloads)
    want = {c for c in EXPECTED_COMPONENTS if ":sqs:" not in c}
    check("g: the other services' topology is sent", set(comps) == want,
          sorted(set(comps) ^ want))
    check("g: start_snapshot, and no stop_snapshot anywhere",
          payloads and topo(payloads[0])["start_snapshot"] and
          not any(topo(p)["stop_snapshot"] for p in payloads), [topo(p)["stop_snapshot"] for p in payloads])
    lines = [ln for ln in r.err.splitlines() if "AccessDenied" in ln or "error" in ln.lower()]
    check("g: stderr names the failing mapping and region",
          any("sqs" in ln and REGION in ln for ln in lines), r.err)
    s = r.summary() or {}
    check("g: summary: 1 failed run, incomplete", s.get("failed") == 1 and "incomplete" in r.err, r.err)

    # The account itself cannot be scanned (no account id): exit 2, and no
    # stop_snapshot either.
    rx.control(clear=True)
    aws.control(fail=["sts.GetCallerIdentity:1000:status:403:AccessDenied"])
    r = scan(aws, rx)
    aws.control(clear_rules=True)
    check("g: no account id (sts AccessDenied): exit code 2, clear message",
          r.rc == 2 and "GetCallerIdentity" in r.err and "AccessDenied" in r.err, r)
    check("g: no account scanned: nothing with stop_snapshot sent",
          not any(topo(p)["stop_snapshot"] or topo(p)["components"] for p in received(rx)))
    rx.stop()


RUNAWAY = """-- a mapping that never ends: only an interruption stops it
return { service = "sqs", scope = "regional", calls = {}, types = {},
  scan = function(ctx) local n = 0 while true do n = n + 1 end end }
"""


def test_runaway_mapping(aws):
    """(k) A scan checks its runs' limits on CPU-time ticks, not by counting
    Lua instructions: a runaway loop that calls nothing (so never returns to
    C) is stopped by the CPU-time limit, the rest is sent, no stop_snapshot.
    An instruction budget set by hand is still counted and applies."""
    d = tmpdir("runaway-mappings")
    with open(os.path.join(d, "loop.lua"), "w") as f:
        f.write(RUNAWAY)
    for what, env_extra, message in (
            ("AWSTOPO_CPU_LIMIT_SECONDS=1", {"AWSTOPO_CPU_LIMIT_SECONDS": "1"},
             "CPU time limit exceeded (1 s; a mapping that needs more: raise AWSTOPO_CPU_LIMIT_SECONDS)"),
            ("AWSTOPO_INSTRUCTION_BUDGET=20000000", {"AWSTOPO_INSTRUCTION_BUDGET": "20000000"},
             "instruction budget exceeded (20000000 instructions")):
        rx = receiver()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = scan(aws, rx, extra=["--mappings", d], services=SERVICES + ",loop", **env_extra)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        payloads = received(rx)
        rx.stop()
        check("k: %s: exit 1, the loop run stopped with a clear message" % what,
              r.rc == 1 and "mapping loop" in r.err and message in r.err, r)
        check("k: %s: stopped soon (%.1f s CPU)" % (what, cpu), cpu < 10, cpu)
        comps, _ = items_of(payloads)
        check("k: %s: the other runs' topology sent in full" % what, set(comps) == set(EXPECTED_COMPONENTS),
              sorted(set(comps) ^ set(EXPECTED_COMPONENTS)))
        check("k: %s: no stop_snapshot" % what,
              payloads and not any(topo(p)["stop_snapshot"] for p in payloads))
        s = r.summary() or {}
        check("k: %s: summary: 1 failed run of 4" % what, s.get("failed") == 1 and s.get("runs") == 4, r.err)


def test_secrets():
    """(h) No secret in any stdout, stderr, spool file or --output file."""
    # A verbose scan with every kind of output, a failing service and a
    # rejected delivery adds the most text to look through.
    aws = fakes.start_fake_aws(FIXTURES, creds=["%s:%s:%s" % (AKID, SECRET, TOKEN)])
    rx = receiver()
    d = tmpdir("out-h")
    spool = tmpdir("spool-h")
    aws.control(fail=["sqs.GetQueueAttributes:1:status:403:AccessDenied",
                      "ec2.DescribeVpcs:1:throttle"])
    rx.control(status=401, count=1)
    scan(aws, rx, spool, extra=["-v", "--format", "intake", "--output", os.path.join(d, "i.json"),
                                "--format", "json", "--output", os.path.join(d, "t.json"),
                                "--format", "dot", "--output", os.path.join(d, "t.dot"),
                                "--output", "-"])
    spooled(spool)
    awstopo(["call", "sts", "GetCallerIdentity", "-v"], base_env(aws))
    aws.stop()
    rx.stop()
    for path in FILES:
        if os.path.exists(path):
            with open(path, "rb") as f:
                TEXTS.append((path, f.read().decode("utf-8", "replace")))
    leaks = [(what, name) for what, text in TEXTS for name, secret in SECRETS.items()
             if secret in text]
    # A secret could also leak in part or encoded: the token's distinctive middle,
    # the secret's URL-encoded form.
    parts = ["scan+session/token", "scanTestSecret", "7f3c9a51e0", "scanTestSecret%2FKey"]
    leaks += [(what, part) for what, text in TEXTS for part in parts if part in text]
    check("h: %d outputs and files free of secrets" % len(TEXTS), not leaks, leaks[:10])
    sanitizer = [(w, t[:300]) for w, t in TEXTS if "Sanitizer" in t or "runtime error:" in t]
    check("no AddressSanitizer / UBSan report in any run", not sanitizer, sanitizer[:3])
    check("h: the check saw spool files and every output format",
          any(w.startswith("spool file") for w, _ in TEXTS) and
          all(any(w.endswith(x) for w, _ in TEXTS) for x in ("i.json", "t.json", "t.dot")))


def aws_cli_shape(value):
    """botocore's parsed output as the AWS CLI prints it (--output json)."""
    if isinstance(value, dict):
        return {k: aws_cli_shape(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [aws_cli_shape(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def botocore_reference(aws, service, operation, params=None):
    import botocore.session
    from botocore.config import Config
    session = botocore.session.get_session()
    c = session.create_client(service, region_name=REGION, endpoint_url=aws.url,
                              aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                              aws_session_token=TOKEN,
                              config=Config(retries={"total_max_attempts": 1}))
    method = getattr(c, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
    return aws_cli_shape(method(**(params or {})))


# Members newer than Debian's botocore (1.29): awstopo's models have them, that
# reference client drops them (a newer botocore keeps them). They are left out
# of the comparison on both sides.
NEWER_THAN_BOTOCORE = {"lambda": {"LoggingConfig"}}

# Debian's botocore still speaks query to SQS, so its output cannot be the
# reference for the json protocol: this is what `aws sqs list-queues` prints.
SQS_LIST_QUEUES = {"QueueUrls": ["https://sqs.us-east-1.amazonaws.com/123456789012/orders",
                                 "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq"],
                   "NextToken": "AQEBnGRSoxG2+k/5fZVcm2Qsvw=="}


def without(value, keys):
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


def test_call(aws):
    """(i) awstopo call in the five protocols; stalls and truncated bodies."""
    cases = [("ec2", "DescribeVpcs", "ec2"), ("sqs", "ListQueues", "json"),
             ("elbv2", "DescribeLoadBalancers", "query"), ("lambda", "ListFunctions", "rest-json"),
             ("route53", "ListHostedZones", "rest-xml")]
    env = base_env(aws)
    for service, op, protocol in cases:
        r = awstopo(["call", service, op], env)
        try:
            got = without(json.loads(r.out), NEWER_THAN_BOTOCORE.get(service, ()))
        except ValueError:
            got = None
        try:
            want = SQS_LIST_QUEUES if service == "sqs" else botocore_reference(aws, service, op)
            want = without(want, NEWER_THAN_BOTOCORE.get(service, ()))
        except Exception as e:            # botocore unavailable or failing: say so
            want = "botocore: %s" % e
        check("i: call %s %s (%s) prints what the AWS CLI would" % (service, op, protocol),
              r.rc == 0 and got == want, (r, json.dumps(got)[:600], json.dumps(want)[:600]))
    r = awstopo(["call", "ec2", "DescribeVpcs"], env)
    vpcs = (json.loads(r.out) if r.rc == 0 else {}).get("Vpcs", [])
    check("i: DescribeVpcs spot check", [v.get("VpcId") for v in vpcs] ==
          ["vpc-0cc0000000000c001", "vpc-0cc0000000000c002", "vpc-0cc0000000000c003"]
          and vpcs[1].get("IsDefault") is True, vpcs)
    r = awstopo(["call", "elbv2", "DescribeLoadBalancers"], env)
    lbs = (json.loads(r.out) if r.rc == 0 else {}).get("LoadBalancers", [])
    check("i: DescribeLoadBalancers timestamps in the CLI's format",
          [lb.get("CreatedTime") for lb in lbs] == ["2023-05-01T12:00:00.120000+00:00",
                                                    "2023-07-14T03:20:45+00:00"], [lb.get("CreatedTime") for lb in lbs])

    # A stall longer than the read timeout: retried, and when every attempt
    # stalls, a clear timeout error.
    aws.control(reset_stats=True, stall_seconds=1.5, fail=["ec2.DescribeVpcs:1:stall"])
    r = awstopo(["call", "ec2", "DescribeVpcs"], base_env(aws, AWS_CLI_READ_TIMEOUT="0.5"))
    n = aws.stats()["requests"].get("ec2", {}).get("DescribeVpcs")
    check("i: one stalled response: retried, then success", r.rc == 0 and n == 2 and
          json.loads(r.out).get("Vpcs"), (r, n))
    aws.control(reset_stats=True, clear_rules=True, fail=["ec2.DescribeVpcs:3:stall"])
    t0 = time.monotonic()
    r = awstopo(["call", "ec2", "DescribeVpcs"], base_env(aws, AWS_CLI_READ_TIMEOUT="0.5",
                                                          AWS_MAX_ATTEMPTS="3"))
    n = aws.stats()["requests"].get("ec2", {}).get("DescribeVpcs")
    check("i: every attempt stalls: exit 2 after 3 attempts", r.rc == 2 and n == 3, (r, n))
    check("i: the error says timeout", re.search(r"time(d)?[ -]?out", r.err, re.I), r.err)
    check("i: each attempt gave up after ~0.5 s, not the stall's 1.5 s",
          time.monotonic() - t0 < 3 * 1.5, time.monotonic() - t0)

    aws.control(reset_stats=True, clear_rules=True, fail=["sqs.ListQueues:2:truncate"])
    r = awstopo(["call", "sqs", "ListQueues"], env)
    n = aws.stats()["requests"].get("sqs", {}).get("ListQueues")
    check("i: truncated bodies are retried", r.rc == 0 and n == 3 and
          len(json.loads(r.out).get("QueueUrls", [])) == 2, (r, n))
    aws.control(reset_stats=True, clear_rules=True, fail=["route53.ListHostedZones:1:truncate"])
    r = awstopo(["call", "route53", "ListHostedZones"], env)
    check("i: truncated rest-xml body retried", r.rc == 0 and
          len(json.loads(r.out).get("HostedZones", [])) == 2, r)
    aws.control(clear_rules=True)

    # missing: "empty" answers unrecorded operations with an empty success:
    # it must parse in every protocol.
    empty = fakes.start_fake_aws(tmpdir("no-fixtures"), creds=["%s:%s:%s" % (AKID, SECRET, TOKEN)],
                                 missing="empty")
    for service, op, protocol in cases + [("sts", "GetCallerIdentity", "query")]:
        r = awstopo(["call", service, op], base_env(empty))
        try:
            ok = r.rc == 0 and isinstance(json.loads(r.out), dict)
        except ValueError:
            ok = False
        check("i: missing=empty: %s %s (%s) parses" % (service, op, protocol), ok, r)
    empty.stop()


def test_demo():
    """(j) scan --demo, once demo/ exists."""
    if not os.path.isdir(os.path.join(ROOT, "demo")):
        print("skip j: demo/ does not exist yet")
        return
    out = os.path.join(tmpdir("demo"), "demo.json")
    r = awstopo(["scan", "--demo", "--format", "json", "--output", out], base_env(None), timeout=120)
    FILES.append(out)
    data = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
    check("j: scan --demo exits 0 and writes a topology", r.rc == 0 and isinstance(data, dict)
          and data.get("components"), r)


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL no awstopo binary at %s (set AWSTOPO_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    t0 = time.monotonic()
    aws = fakes.start_fake_aws(FIXTURES, creds=["%s:%s:%s" % (AKID, SECRET, TOKEN)])
    tests = [lambda: test_full_scan(aws), lambda: test_chunking(aws),
             lambda: test_receiver_down(aws), lambda: test_delivery_errors(aws),
             lambda: test_kill_during_delivery(aws), lambda: test_aws_faults(aws),
             lambda: test_failing_service(aws), lambda: test_runaway_mapping(aws), lambda: test_call(aws), test_demo, test_secrets]
    for test in tests:
        t = time.monotonic()
        try:
            test()
        except Exception:
            check("no exception", False, traceback.format_exc())
        print("     (%.1fs)" % (time.monotonic() - t))
    aws.stop()
    shutil.rmtree(WORK, ignore_errors=True)
    print("total %.1fs" % (time.monotonic() - t0))
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
