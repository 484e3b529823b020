"""bench_scan.py -- a full EC2 + VPC scan of a large synthetic account.

The fake AWS endpoint (tests/fake/fake_aws.py --synthetic N) generates an
account of N instances, N/100 VPCs, 4 subnets and 3 security groups per VPC,
all cross-referenced (tests/fake/synthetic.py), and answers the four calls the
ec2 and vpc mappings make: DescribeInstances, DescribeSecurityGroups,
DescribeVpcs, DescribeSubnets, 1000 items per page. For each size:

  awstopo     awstopo scan --services ec2,vpc --output /dev/null --format json
  botocore    the reference: a botocore client (what the old StackState Lambda
              used) paginating the same four operations, one after the other,
              keeping every resource in memory as the Lambda did; it builds no
              topology, so it is a lower bound for the Lambda's cost

each once without added latency and once with 50 ms on every call (the fake's
latency_ms), closer to a real AWS region. Measured per run: wall time, CPU
seconds (user + sys of the child, from os.wait4), peak RSS of the child, API
calls (the fake's /__stats), and the fake's own CPU seconds: the fake is one
Python process, so when its CPU is close to the wall time it was the
bottleneck, not the client.

Run with /usr/bin/python3 (bench/run does). Prints figures, never pass/fail.
BENCH_SIZES=10000,100000 (default) picks the sizes in instances.
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes          # noqa: E402
import synthetic      # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = synthetic.OWNER
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The reference client, run as its own process so that its CPU and RSS are
# measured like awstopo's. argv: endpoint, region. Credentials from the env.
BOTOCORE_SCAN = r"""
import sys, botocore.session
from botocore.config import Config
endpoint, region = sys.argv[1], sys.argv[2]
client = botocore.session.get_session().create_client(
    "ec2", region_name=region, endpoint_url=endpoint,
    config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=4))
kept = {}
for op, key in (("describe_instances", "Reservations"), ("describe_security_groups", "SecurityGroups"),
                ("describe_vpcs", "Vpcs"), ("describe_subnets", "Subnets")):
    items = kept.setdefault(key, [])
    for page in client.get_paginator(op).paginate(PaginationConfig={"PageSize": 1000}):
        items.extend(page.get(key, []))
n = sum(len(r["Instances"]) for r in kept["Reservations"]) + sum(
    len(kept[k]) for k in ("SecurityGroups", "Vpcs", "Subnets"))
print(n)
"""


def proc_cpu(pid):
    """User + sys CPU seconds of a running process (from /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def measure(argv, env, fake):
    """Runs argv to completion: wall s, CPU s, peak RSS MiB, API calls, fake CPU s, stdout, rc."""
    fake.control(reset_stats=True)
    fake_cpu0 = proc_cpu(fake.proc.pid)
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    fake_cpu = proc_cpu(fake.proc.pid) - fake_cpu0
    calls = fake.stats()["total"]
    out.seek(0)
    err.seek(0)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss / 1024.0,
            "calls": calls, "fake_cpu": fake_cpu, "rc": p.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")}


def run_awstopo(fake):
    env = dict(os.environ, **fake.env())
    env.update(AWSTOPO_HOME=ROOT, AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    argv = [BIN, "scan", "--services", "ec2,vpc", "--account-id", ACCOUNT,
            "--format", "json", "--output", "/dev/null"]     # --format names the --output after it
    r = measure(argv, env, fake)
    summary = [ln for ln in r["stderr"].splitlines() if ln.startswith("scan:")]
    r["note"] = summary[-1] if summary else r["stderr"].strip()[-200:]
    return r


def run_botocore(fake):
    env = dict(os.environ, **fake.env())
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    r = measure([PYTHON, "-c", BOTOCORE_SCAN, fake.url, fakes.REGION], env, fake)
    r["note"] = "%s resources" % r["stdout"].strip() if r["rc"] == 0 else r["stderr"].strip()[-300:]
    return r


def row(size, resources, latency, client, r):
    return ("%8d %9d %6d ms  %-9s %8.2f %8.2f %8.1f %6d %8.2f   %s"
            % (size, resources, latency, client, r["wall"], r["cpu"], r["rss"], r["calls"],
               r["fake_cpu"], "" if r["rc"] == 0 else "exit %d: " % r["rc"]))


def main():
    if not os.access(BIN, os.X_OK):
        print("no awstopo binary at %s (set AWSTOPO_BIN)" % BIN)
        return 0
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",") if s]
    print("synthetic EC2 account, scan of ec2 + vpc (4 paginated calls, 1000 per page)")
    print("wall/CPU in seconds, RSS = peak resident MiB of the client, fake CPU = the fake's own")
    print()
    header = ("%8s %9s %9s  %-9s %8s %8s %8s %6s %8s" %
              ("instances", "resources", "latency", "client", "wall s", "CPU s", "RSS MiB", "calls",
               "fake CPU"))
    print(header)
    print("-" * len(header))
    notes, ratios = [], []
    t_start = time.monotonic()
    for size in sizes:
        acct = synthetic.Account(size)
        resources = acct.instances + acct.vpcs + acct.subnets + acct.groups
        repeat = 3 if size <= 20000 else 1        # small runs are noisy: median of 3
        fake = fakes.start_fake_aws(None, synthetic=size)
        try:
            for latency in (0, 50):
                fake.control(latency_ms=latency)
                got = {}
                for name, runner in (("awstopo", run_awstopo), ("botocore", run_botocore)):
                    runs = sorted((runner(fake) for _ in range(repeat)), key=lambda r: r["wall"])
                    r = got[name] = runs[len(runs) // 2]
                    print(row(size, resources, latency, name, r) + (r["note"] if r["rc"] else ""),
                          flush=True)
                    notes.append("%s %d/%dms: %s" % (name, size, latency, r["note"]))
                a, b = got["awstopo"], got["botocore"]
                ratios.append("%6d instances, %2d ms: botocore/awstopo  wall %.1fx  CPU %.1fx  RSS %.2fx"
                              % (size, latency, b["wall"] / a["wall"], b["cpu"] / max(a["cpu"], 1e-3),
                                 b["rss"] / a["rss"]))
        finally:
            fake.stop()
    print()
    for line in ratios:
        print(line)
    print()
    for n in notes:
        print("  " + n)
    print("(bench took %.0f s)" % (time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
