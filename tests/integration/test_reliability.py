"""test_reliability.py -- a snapshot is complete only when it is (issue 8).

StackState deletes whatever a snapshot with stop_snapshot lacks, so a scan
that is not sure of every component must not claim to be complete. Against
the fake AWS endpoint's synthetic account (tests/fake/synthetic_account.py)
and the recording receiver:

  a  a scan that runs no mapping (a typo in --services) is a usage error:
     exit 64, nothing sent, no output written
  b  ctx.aws.try swallows refusals only: AccessDenied on a per-resource call
     is a warning and a complete snapshot; a transient failure that outlasts
     the retries fails the run (no stop_snapshot)
  c  the defaults pass, with no retry setting at all: 20% throttling + 5% 5xx
     + 2% resets; 10% truncated bodies (and 2xx bodies cut short with a
     matching Content-Length, which only the parser notices); 1% stalls past
     the read timeout (a 1 s read timeout keeps it quick): each gives the
     fault-free topology, components, data and relations, with stop_snapshot

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

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

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
API_KEY = "awstopo-reliability-key-51c0"
SIZE = 120              # resources of the synthetic account: every mapping has something

passed = failed = 0
WORK = tempfile.mkdtemp(prefix="awstopo-reliability-")


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, str(detail)[:1500]))
    return cond


class Result:
    def __init__(self, rc, err, seconds, out_path):
        self.rc, self.err, self.seconds, self.out_path = rc, err, seconds, out_path

    def topology(self):
        if not self.out_path or not os.path.exists(self.out_path):
            return None
        with open(self.out_path, encoding="utf-8") as f:
            return json.load(f)

    def __repr__(self):
        return "rc=%s %.1fs stderr=%r" % (self.rc, self.seconds, self.err[-1500:])


def env_for(aws, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    if aws:
        env.update(aws.env())
    env.update(HOME=WORK, AWSTOPO_HOME=ROOT, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
               NO_PROXY="127.0.0.1,localhost")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def scan(aws, name, rx=None, args=(), timeout=120, **extra):
    """awstopo scan of the fake's account, the topology also as json to a file."""
    out = os.path.join(WORK, name + ".json")
    if os.path.exists(out):
        os.remove(out)
    argv = [BIN, "scan", "--account-id", ACCOUNT, "--format", "json", "--output", out] + list(args)
    if rx:
        argv += ["--stackstate-url", rx.url, "--instance", "reliability",
                 "--spool", os.path.join(WORK, "spool")]
        extra.setdefault("AWSTOPO_API_KEY", API_KEY)
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env_for(aws, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return Result(p.returncode, p.stderr.decode("utf-8", "replace"), time.monotonic() - t0, out)


def flags(rx, since=0):
    """(start_snapshot, stop_snapshot, components) of each payload received."""
    out = []
    for p in rx.payloads(since):
        t = p["payload"]["topologies"][0]
        out.append((t["start_snapshot"], t["stop_snapshot"], len(t["components"])))
    return out


def stop_sent(rx, since=0):
    return any(stop for _, stop, _ in flags(rx, since))


# --- a: no mapping ran ---------------------------------------------------------------

def test_no_mapping(aws, rx):
    n0 = len(rx.payloads())
    r = scan(aws, "nosuch", rx, ["--services", "no-such-service"])
    check("a: --services naming no mapping: exit 64", r.rc == 64, r)
    check("a: ... says no mapping ran and that nothing was sent",
          "no mapping ran" in r.err and "nothing sent" in r.err, r)
    check("a: ... nothing reaches StackState", len(rx.payloads()) == n0, flags(rx, n0))
    check("a: ... no output file written", not os.path.exists(r.out_path))
    r = subprocess.run([BIN, "scan", "--demo", "--regions", "xx-nowhere-1", "--output",
                        os.path.join(WORK, "demo-none.json")], env=env_for(None),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check("a: --demo with a region nothing was recorded for: exit 64, no output",
          r.returncode == 64 and not os.path.exists(os.path.join(WORK, "demo-none.json")),
          r.stderr.decode()[-500:])


# --- b: try swallows refusals, not transient failures --------------------------------

def test_try(aws, rx, clean):
    aws.control(clear_rules=True, fail=["sqs.GetQueueAttributes:1:status:403:AccessDenied"])
    n0 = len(rx.payloads())
    r = scan(aws, "denied", rx)
    aws.control(clear_rules=True)
    t = r.topology() or {}
    check("b: AccessDenied on one GetQueueAttributes: exit 0, one warning",
          r.rc == 0 and "; 1 warnings;" in r.err, r)
    check("b: ... every component is still there",
          sorted(c["externalId"] for c in t.get("components", [])) ==
          sorted(c["externalId"] for c in clean["components"]), r)
    check("b: ... the snapshot is complete (stop_snapshot sent)", stop_sent(rx, n0), flags(rx, n0))

    # The same call failing with 500s past every retry: the queue would go out
    # without its attributes; the run fails instead and nothing is deleted.
    aws.control(clear_rules=True, fail=["sqs.GetQueueAttributes:1000:status:500:InternalError"])
    n0 = len(rx.payloads())
    r = scan(aws, "transient", rx, AWS_MAX_ATTEMPTS=2, AWSTOPO_RETRY_BASE_MS=1)
    aws.control(clear_rules=True)
    check("b: 500s outlasting the retries in ctx.aws.try: exit 1, the sqs run failed",
          r.rc == 1 and "error: mapping sqs" in r.err and "InternalError" in r.err, r)
    check("b: ... no stop_snapshot sent", flags(rx, n0) and not stop_sent(rx, n0), flags(rx, n0))

    aws.control(clear_rules=True, fail=["sqs.GetQueueAttributes:1000:truncate"])
    n0 = len(rx.payloads())
    r = scan(aws, "truncated", rx, AWS_MAX_ATTEMPTS=2, AWSTOPO_RETRY_BASE_MS=1)
    aws.control(clear_rules=True)
    check("b: truncated bodies outlasting the retries in ctx.aws.try: exit 1, no stop_snapshot",
          r.rc == 1 and "error: mapping sqs" in r.err and not stop_sent(rx, n0), (r, flags(rx, n0)))


# --- c: the defaults pass ---------------------------------------------------------------

PROFILES = [
    ("20% throttling + 5% 5xx + 2% resets", dict(throttle_rate=0.2, error_rate=0.05, reset_rate=0.02), {}),
    ("10% truncated bodies, 3% cut bodies", dict(truncate_rate=0.1, cut_rate=0.03,
                                                  fail=["sqs.GetQueueAttributes:2:cut"]), {}),
    ("1% stalls past the read timeout", dict(stall_rate=0.01, stall_seconds=2.5,
                                             fail=["ec2.DescribeInstances:1:stall"]),
     {"AWS_CLI_READ_TIMEOUT": "1"}),
]


def test_defaults_pass(aws, rx, clean):
    for i, (name, faults, env) in enumerate(PROFILES):
        aws.control(clear_rules=True, reset_stats=True, seed=100 + i, **faults)
        n0 = len(rx.payloads())
        r = scan(aws, "profile%d" % i, rx, **env)
        st = aws.stats()
        aws.control(clear_rules=True, throttle_rate=0, error_rate=0, reset_rate=0, truncate_rate=0,
                    cut_rate=0, stall_rate=0)
        got = r.topology()
        print("     %s: %s, %.1fs" % (name, st["faults"], r.seconds))
        check("c: %s: faults were injected" % name, sum(st["faults"].values()) > 0, st["faults"])
        check("c: %s: exit 0" % name, r.rc == 0, r)
        check("c: %s: the fault-free topology, data and relations included" % name, got == clean,
              "%s vs %s components" % (len((got or {}).get("components", [])), len(clean["components"])))
        check("c: %s: one complete snapshot sent" % name,
              flags(rx, n0) == [(True, True, len(clean["components"]))], flags(rx, n0))


def main():
    aws = rx = None
    try:
        aws = fakes.start_fake_aws(None, synthetic_account=SIZE, log=os.path.join(WORK, "fake.log"))
        rx = fakes.start_receiver(api_key=API_KEY, log=os.path.join(WORK, "receiver.log"))
        r = scan(aws, "clean")
        clean = r.topology()
        if check("fault-free scan of the synthetic account: exit 0", r.rc == 0 and clean, r):
            test_no_mapping(aws, rx)
            test_try(aws, rx, clean)
            test_defaults_pass(aws, rx, clean)
    except Exception:
        traceback.print_exc()
        check("no exception", False)
    finally:
        for f in (aws, rx):
            if f:
                f.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
