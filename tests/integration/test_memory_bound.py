"""test_memory_bound.py -- a huge account cannot push a scan past its memory bound.

A run's Lua heap is bounded (AWSTOPO_MEMORY_LIMIT_MB, default 1 GiB; the
allocator refuses past twice the limit) and the topology waits on disk, not in
the heap. Here the fake serves a synthetic account of a million resources
(tests/fake/synthetic_account.py makes its items on demand) and the ec2 and vpc
mappings scan it with an 11 MiB limit per run, which the ec2 run's first pages
(1000 instances each, parsed into Lua tables) pass, and the vpc run's 1000 VPCs
and 4000 subnets do not. The vpc run peaks between 7 and 8 MiB (more when its
responses arrive together), the ec2 run passes 11 MiB on its third page: the
8 MiB limit this test had left the vpc run too little room, and it failed once
in CI (981 VPCs written):

  a  with StackState delivery: exit 1, the ec2 run ends with "memory limit
     exceeded (11 MiB)", the process's peak RSS stays under the bound, what
     was produced is delivered and no stop_snapshot is sent (an incomplete
     snapshot must not delete anything in StackState)
  b  with --format json --output: exit 1, the same error, the same bound, and
     the file still written with what the finished runs produced

The bound checked is 100 MiB: the binary, libraries and models, plus at most
twice the limit for each of the two runs (what a 100,000-resource scan of all
19 mappings peaks under, bench/bench_full_scan.py). Without the limit the ec2
run alone would need gigabytes for this account.

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed"; the exit status is non-zero on failure.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import checklib                                           # noqa: E402
import fakes              # noqa: E402
import synthetic_account  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SANITIZED = False
RESOURCES = 1000000
LIMIT_MB = 11
BOUND_MB = 100
API_KEY = "memory-bound-test-api-key"

check = checklib.NamedChecks(limit=1500, tail=True)


def sanitized():
    """An AddressSanitizer build (make test-asan): its shadow memory and
    redzones, and Lua blocks from malloc instead of the pool, put its RSS far
    from a release build's, so the bound is checked on release builds only."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


def check_bound(name, rss):
    if SANITIZED:
        print("ok   %s: peak RSS %.1f MiB (sanitizer build: the %d MiB bound is checked without it)"
              % (name, rss, BOUND_MB))
        return
    check("%s: peak RSS %.1f MiB under %d MiB" % (name, rss, BOUND_MB), rss < BOUND_MB, rss)


# Linux keeps a process's peak RSS across exec: the scan is started from a
# small wrapper whose wait4 reports the scan's own peak.
WRAPPER = r"""
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([ru.ru_maxrss, os.waitstatus_to_exitcode(status)], f)
"""


def scan(fake, tmp, extra, env_extra=None):
    """Runs a bounded scan of ec2 and vpc; (exit code, peak RSS MiB, stderr)."""
    env = dict(os.environ, **fake.env())
    env.update(AWSTOPO_HOME=ROOT, AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWSTOPO_MEMORY_LIMIT_MB=str(LIMIT_MB), TMPDIR=tmp)
    env.update(env_extra or {})
    usage = os.path.join(tmp, "rusage.json")
    argv = [BIN, "scan", "--account-id", synthetic_account.OWNER, "--services", "ec2,vpc"] + extra
    p = subprocess.run([PYTHON, "-c", WRAPPER, usage] + argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    with open(usage) as f:
        maxrss, rc = json.load(f)
    return rc, maxrss / 1024.0, p.stderr.decode("utf-8", "replace")


def limit_error(err):
    return any("ec2" in ln and "memory limit exceeded (%d MiB" % LIMIT_MB in ln for ln in err.splitlines())


def vpc_errors(err):
    return [ln for ln in err.splitlines() if ln.startswith("error: mapping vpc")]


def test_delivery(fake, tmp):
    """(a) StackState delivery: bounded, what was produced sent, no stop_snapshot."""
    out = os.path.join(tmp, "payloads.jsonl")
    rx = fakes.start_receiver(api_key=API_KEY, out=out)
    try:
        rc, rss, err = scan(fake, tmp, ["--stackstate-url", rx.url, "--instance", "bound",
                                        "--spool", os.path.join(tmp, "spool")], {"AWSTOPO_API_KEY": API_KEY})
        payloads = [json.loads(line)["payload"] for line in open(out)]
    finally:
        rx.stop()
    topos = [t for p in payloads for t in p.get("topologies", [])]
    check("a: exit code 1", rc == 1, err)
    check("a: the ec2 run stops at the memory limit", limit_error(err), err)
    check_bound("a", rss)
    vpcs = [c for t in topos for c in t.get("components", []) if c["type"]["name"] == "aws.ec2.vpc"]
    check("a: the vpc run finished without error", not vpc_errors(err), err)
    check("a: the vpc run's VPCs delivered", len(vpcs) == RESOURCES // 1000, (len(vpcs), err))
    check("a: start_snapshot, and no stop_snapshot anywhere",
          topos and topos[0]["start_snapshot"] and not any(t["stop_snapshot"] for t in topos),
          [(t["start_snapshot"], t["stop_snapshot"]) for t in topos])


def test_json(fake, tmp):
    """(b) --format json: bounded, the finished runs' topology written."""
    path = os.path.join(tmp, "topology.json")
    rc, rss, err = scan(fake, tmp, ["--format", "json", "--output", path])
    check("b: exit code 1", rc == 1, err)
    check("b: the ec2 run stops at the memory limit", limit_error(err), err)
    check_bound("b", rss)
    with open(path) as f:
        doc = json.load(f)
    vpcs = [c for c in doc.get("components", []) if c["type"]["name"] == "aws.ec2.vpc"]
    check("b: the vpc run finished without error", not vpc_errors(err), err)
    check("b: the vpc run's VPCs written", len(vpcs) == RESOURCES // 1000, (len(vpcs), err))


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL no awstopo binary at %s (set AWSTOPO_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    global SANITIZED
    SANITIZED = sanitized()
    fake = fakes.start_fake_aws(None, synthetic_account=RESOURCES)
    tmp = tempfile.mkdtemp(prefix="awstopo-bound-")
    try:
        for t in (test_delivery, test_json):
            try:
                t(fake, tmp)
            except Exception:
                check(t.__name__, False, traceback.format_exc())
    finally:
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
