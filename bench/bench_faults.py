#!/usr/bin/python3
"""bench_faults.py -- what AWS faults cost a scan with the default settings.

Issue 8's fault table, re-measured: the fake AWS endpoint's synthetic account
(tests/fake/synthetic_account.py) is scanned once fault-free, then RUNS times
under each fault profile, with no retry setting at all (no AWS_MAX_ATTEMPTS,
AWS_RETRY_MODE or AWSTOPO_RETRY_*). For each profile: how many runs came out
complete (exit 0: stop_snapshot would be sent), how many components and
relations were lost or differ from the fault-free run in a complete run (the
number that must be 0), the faults injected, and the wall and CPU time the
faults added to the scan. Stalls use a 2 s read timeout (AWS_CLI_READ_TIMEOUT)
and 3 s stalls so that a run takes seconds, not minutes.

    /usr/bin/python3 bench/bench_faults.py            # RUNS=3 SIZE=1000 by default
    RUNS=1 SIZE=300 /usr/bin/python3 bench/bench_faults.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
RUNS = int(os.environ.get("RUNS", "3"))
SIZE = int(os.environ.get("SIZE", "1000"))
NO_FAULTS = dict(throttle_rate=0, error_rate=0, reset_rate=0, truncate_rate=0, stall_rate=0, cut_rate=0)

# name, regions, fault settings, extra environment
PROFILES = [
    ("20% throttling + 5% 5xx + 2% resets", "us-east-1,eu-west-1",
     dict(throttle_rate=0.2, error_rate=0.05, reset_rate=0.02), {}),
    ("15% truncated bodies", "us-east-1", dict(truncate_rate=0.15), {}),
    ("10% truncated bodies + 1% stalls past the read timeout", "us-east-1",
     dict(truncate_rate=0.1, stall_rate=0.01, stall_seconds=3), {"AWS_CLI_READ_TIMEOUT": "2"}),
    ("10% truncated bodies", "us-east-1", dict(truncate_rate=0.1), {}),
    ("1% stalls past the read timeout", "us-east-1", dict(stall_rate=0.01, stall_seconds=3),
     {"AWS_CLI_READ_TIMEOUT": "2"}),
    ("3% 2xx bodies cut short (Content-Length matching)", "us-east-1", dict(cut_rate=0.03), {}),
]


def env_for(fake, extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    env.update(fake.env())
    env.update(AWSTOPO_HOME=ROOT, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def scan(fake, regions, extra, tmp):
    """One scan to a json file: (exit code, topology or None, wall s, cpu s, summary line)."""
    out = os.path.join(tmp, "topology.json")
    if os.path.exists(out):
        os.remove(out)
    argv = [BIN, "scan", "--account-id", "123456789012", "--regions", regions, "--format", "json",
            "--output", out]
    t0, c0 = time.monotonic(), os.times()
    p = subprocess.run(argv, env=env_for(fake, extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    c1 = os.times()
    cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
    topo = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            topo = json.load(f)
    lines = p.stderr.decode("utf-8", "replace").splitlines()
    summary = next((ln for ln in reversed(lines) if ln.startswith("scan:")), "")
    return p.returncode, topo, time.monotonic() - t0, cpu, summary


def lost(clean, got):
    """(components missing, components differing, relations missing) of got against clean."""
    if not got:
        return len(clean["components"]), 0, len(clean["relations"])
    want = {c["externalId"]: c for c in clean["components"]}
    have = {c["externalId"]: c for c in got["components"]}
    differ = sum(1 for k in have if k in want and have[k] != want[k])
    rels = {r["externalId"] for r in got["relations"]}
    return len(set(want) - set(have)), differ, sum(1 for r in clean["relations"] if r["externalId"] not in rels)


def main():
    print("synthetic account of %d resources per region, %d faulty run(s) per profile, default retry settings"
          % (SIZE, RUNS))
    print("%-55s %-9s %-7s %-22s %-22s %8s %8s  %s" % ("profile", "complete", "clean", "lost when complete",
                                                        "lost when incomplete", "+wall s", "+cpu s",
                                                        "faults injected (last run)"))
    fake = fakes.start_fake_aws(None, synthetic_account=SIZE)
    tmp = tempfile.mkdtemp(prefix="bench-faults-")
    try:
        baselines = {}
        for name, regions, faults, extra in PROFILES:
            fake.control(clear_rules=True, **NO_FAULTS)
            if regions not in baselines:
                scan(fake, regions, {}, tmp)                       # warm the fake's caches
                rc, clean, wall, cpu, _ = scan(fake, regions, {}, tmp)
                if rc != 0 or not clean:
                    print("fault-free scan of %s failed (exit %d)" % (regions, rc))
                    return 1
                baselines[regions] = (clean, wall, cpu)
            clean, wall0, cpu0 = baselines[regions]
            complete, lost_ok, lost_bad, walls, cpus = 0, [0, 0, 0], [0, 0, 0], [], []
            st = {}
            for i in range(RUNS):
                fake.control(reset_stats=True, seed=1000 + i, **faults)
                rc, got, wall, cpu, _ = scan(fake, regions, extra, tmp)
                st = fake.stats()["faults"]
                fake.control(**NO_FAULTS)
                walls.append(wall - wall0)
                cpus.append(cpu - cpu0)
                counts = lost(clean, got)
                target = lost_ok if rc == 0 else lost_bad
                for k in range(3):
                    target[k] += counts[k]
                complete += rc == 0
            print("%-55s %3d/%-5d %-7s %-22s %-22s %8.1f %8.2f  %s" % (
                name, complete, RUNS, "%dc" % len(clean["components"]),
                "%d/%d/%d" % tuple(lost_ok), "%d/%d/%d" % tuple(lost_bad),
                sum(walls) / len(walls), sum(cpus) / len(cpus), json.dumps(st, sort_keys=True)))
        print("lost: components missing / components with other data / relations missing, summed over the runs;"
              " +wall/+cpu: mean over the faulty runs minus the fault-free run (%s)"
              % ", ".join("%s %.1fs wall %.2fs cpu" % (r, b[1], b[2]) for r, b in baselines.items()))
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
