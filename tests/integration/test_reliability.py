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
  d  the shrink guard: a complete snapshot with fewer than half the
     components of the last one sent for the instance goes without
     stop_snapshot (exit 1, a warning), unless --allow-shrink or
     allow_shrink = true; shrink_fraction sets the fraction (0 = off); the
     remembered size lives beside the spool (dir 0700, file 0600)
  e  spool faults: a truncated, an empty and a bit-flipped entry are moved to
     <spool>/corrupt/ with a message naming the file, the other entries are
     delivered in order and the damaged snapshot goes without stop_snapshot;
     a full disk (a 64 KiB tmpfs) while spooling: a clear error, no entry
     committed, and the next run delivers everything; spool dir 0700, files
     0600. Across processes: a scan that stops delivering after moving an
     entry aside leaves <spool>/.broken-snapshot (0600), and the next scan
     sends the rest of that snapshot without stop_snapshot, its own snapshot
     complete, and removes the mark
  g  retry settings: a 2xx that never parses is tried 5 times, not for the
     whole budget, and the error names service, operation and why; [scan]
     retry_budget in the config file bounds throttling retries, and
     AWSTOPO_RETRY_BUDGET wins over it
  f  hostile responses (10k-deep nesting in JSON and XML, XML entity
     expansion, numbers out of range, invalid UTF-8, a 100 MB string, a body
     past AWSTOPO_MAX_RESPONSE_MB): a clear error for that call within a
     bounded RSS; in a scan, only that mapping's run fails (no stop_snapshot)

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

import checklib                                           # noqa: E402
import fakes                                              # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
API_KEY = "awstopo-reliability-key-51c0"
SIZE = 120              # resources of the synthetic account: every mapping has something

check = checklib.NamedChecks(limit=1500)
WORK = tempfile.mkdtemp(prefix="awstopo-reliability-")


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


def scan(aws, name, rx=None, args=(), timeout=120, spool=None, **extra):
    """awstopo scan of the fake's account, the topology also as json to a file."""
    out = os.path.join(WORK, name + ".json")
    if os.path.exists(out):
        os.remove(out)
    argv = [BIN, "scan", "--account-id", ACCOUNT, "--format", "json", "--output", out] + list(args)
    if rx:
        argv += ["--stackstate-url", rx.url, "--instance", "reliability",
                 "--spool", spool or os.path.join(WORK, "spool")]
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


# --- d: the shrink guard ----------------------------------------------------------

def write_config(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_shrink(aws, rx, clean):
    full = len(clean["components"])
    n0 = len(rx.payloads())
    r = scan(aws, "full", rx)
    check("d: a full scan is sent complete", r.rc == 0 and stop_sent(rx, n0), (r, flags(rx, n0)))
    state = os.path.join(WORK, "spool", ".snapshots", "reliability")
    mode = lambda p: oct(os.stat(p).st_mode & 0o777) if os.path.exists(p) else None  # noqa: E731
    check("d: its size is remembered beside the spool, 0600 in a 0700 directory",
          open(state).read() == "components %d\n" % full and mode(state) == "0o600" and
          mode(os.path.dirname(state)) == "0o700", (mode(state), mode(os.path.dirname(state))))

    n0 = len(rx.payloads())
    r = scan(aws, "shrunk", rx, ["--services", "sqs"])
    sent = flags(rx, n0)
    check("d: a scan of sqs alone (< 50%): exit 1, a warning naming --allow-shrink",
          r.rc == 1 and "--allow-shrink" in r.err and "fewer than 50%" in r.err, r)
    check("d: ... its components are sent, without stop_snapshot",
          sent and not stop_sent(rx, n0) and sum(c for _, _, c in sent) > 0, sent)
    check("d: ... the remembered size stays", open(state).read() == "components %d\n" % full)

    cfg = write_config("fraction.conf", "[scan]\nshrink_fraction = 0\n")
    n0 = len(rx.payloads())
    r = scan(aws, "fraction0", rx, ["--services", "sqs", "--config", cfg])
    check("d: shrink_fraction = 0 turns the guard off", r.rc == 0 and stop_sent(rx, n0), (r, flags(rx, n0)))
    r = scan(aws, "full2", rx)
    cfg = write_config("allow.conf", "[scan]\nallow_shrink = true\n")
    n0 = len(rx.payloads())
    r = scan(aws, "allowed-conf", rx, ["--services", "sqs", "--config", cfg])
    check("d: allow_shrink = true: sent complete", r.rc == 0 and stop_sent(rx, n0), (r, flags(rx, n0)))
    r = scan(aws, "full3", rx)
    n0 = len(rx.payloads())
    r = scan(aws, "allowed", rx, ["--services", "sqs", "--allow-shrink"])
    small = int(open(state).read().split()[1])
    check("d: --allow-shrink: sent complete, and the new size remembered",
          r.rc == 0 and stop_sent(rx, n0) and 0 < small < full / 2, (r, flags(rx, n0), small))
    n0 = len(rx.payloads())
    r = scan(aws, "grown", rx)
    check("d: growing back is never held", r.rc == 0 and stop_sent(rx, n0), (r, flags(rx, n0)))
    bad = write_config("bad.conf", "[scan]\nshrink_fraction = 2\nallow_shrink = maybe\n")
    p = subprocess.run([BIN, "config", "check", bad], env=env_for(None), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    out = p.stdout.decode()
    check("d: config check explains a bad shrink_fraction and allow_shrink",
          "number from 0 to 1" in out and "true or false" in out, out)


# --- e: spool faults ------------------------------------------------------------------

def entries(spool):
    return sorted(n for n in os.listdir(spool) if n.endswith(".json.gz"))


def damage(path, how):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    else:
        data[len(data) // 2] ^= 0x10
    with open(path, "wb") as f:
        f.write(bytes(data))


def test_spool_faults(aws, rx, clean):
    spool = os.path.join(WORK, "spool-faults")
    rx.stop()
    r = scan(aws, "spooled", rx, ["--max-payload-items", "40"], spool=spool, AWSTOPO_RETRY_BASE_MS=1)
    names = entries(spool)
    check("e: receiver down: exit 1, the snapshot spooled in several entries", r.rc == 1 and len(names) >= 6,
          (r, names))
    modes = {oct(os.stat(os.path.join(spool, n)).st_mode & 0o777) for n in names}
    check("e: spool dir 0700, entries 0600",
          oct(os.stat(spool).st_mode & 0o777) == "0o700" and modes == {"0o600"}, modes)
    bad = {names[1]: "truncated", names[3]: "empty", names[4]: "bit-flipped"}
    for n, how in bad.items():
        damage(os.path.join(spool, n), how)
    rx.start(rx.port)
    n0 = len(rx.payloads())
    r = scan(aws, "after-damage", rx, ["--max-payload-items", "40"], spool=spool)
    got = flags(rx, n0)
    corrupt = os.path.join(spool, "corrupt")
    check("e: the three damaged entries are in corrupt/",
          os.path.isdir(corrupt) and sorted(os.listdir(corrupt)) == sorted(bad), os.listdir(spool))
    check("e: a clear message names the file, exit 2",
          r.rc == 2 and "unreadable" in r.err and os.path.join(corrupt, names[1]) in r.err and
          "3 unreadable and moved to" in r.err, r)
    old = len(names) - len(bad)
    check("e: every other entry delivered, the spool empty", len(got) > old and entries(spool) == [],
          (len(got), old, entries(spool)))
    check("e: the damaged snapshot is sent without stop_snapshot; the new one complete",
          [f[1] for f in got[:old]] == [False] * old and got[old][0] and got[-1][1], got)


def test_broken_across_processes(aws, rx):
    spool = os.path.join(WORK, "spool-broken")
    mark = os.path.join(spool, ".broken-snapshot")
    rx.stop()
    r = scan(aws, "spooled-b", rx, ["--max-payload-items", "40"], spool=spool, AWSTOPO_RETRY_BASE_MS=1)
    names = entries(spool)
    check("e: receiver down: the snapshot spooled in several entries", r.rc == 1 and len(names) >= 6, (r, names))
    damage(os.path.join(spool, names[1]), "truncated")
    rx.start(rx.port)
    # The receiver takes two payloads, then refuses the key: delivery stops
    # after the damaged entry, in the middle of its snapshot.
    rx.control(status=401, count=1, skip=2)
    n0 = len(rx.payloads())
    r = scan(aws, "stopped-b", rx, ["--max-payload-items", "40"], spool=spool)
    rx.control(status=None)
    got = flags(rx, n0)
    check("e: delivery stopped after the damaged entry, the mark left (0600)",
          r.rc != 0 and len(got) == 2 and not any(f[1] for f in got) and os.path.exists(mark) and
          oct(os.stat(mark).st_mode & 0o777) == "0o600" and names[1] in open(mark).read(),
          (r, got, os.listdir(spool)))
    old = len(entries(spool))   # the rest of the broken snapshot, then the stopped scan's own
    n0 = len(rx.payloads())
    r = scan(aws, "resumed-b", rx, ["--max-payload-items", "40"], spool=spool)
    got = flags(rx, n0)
    rest = len(names) - 3       # the broken snapshot's entries not yet delivered
    check("e: the next process sends the rest of the broken snapshot without stop_snapshot",
          r.rc == 0 and len(got) > old and [f[:2] for f in got[:rest]] == [(False, False)] * rest,
          (r, got, rest))
    check("e: ... then the later snapshots complete, the mark gone, the spool empty",
          got[rest][0] and got[old - 1][1] and got[old][0] and got[-1][1] and not os.path.exists(mark) and
          entries(spool) == [], (got[rest:], os.listdir(spool)))


# --- g: retry settings -------------------------------------------------------------

def scan_bounded(aws, name, rx, args, timeout, **extra):
    try:
        return scan(aws, name, rx, args, timeout=timeout, **extra)
    except subprocess.TimeoutExpired:
        return Result(None, "still retrying after %d s" % timeout, timeout, None)


def test_retry_settings(aws, rx):
    # A 2xx cut short with a Content-Length that agrees: only the parser sees it.
    aws.control(clear_rules=True, reset_stats=True, fail=["sqs.GetQueueAttributes:100000:cut"])
    n0 = len(rx.payloads())
    r = scan_bounded(aws, "never-parses", rx, ["--services", "sqs"], 60, AWSTOPO_RETRY_BASE_MS=1)
    aws.control(clear_rules=True)
    check("g: a 2xx that never parses: exit 1, MalformedResponse naming sqs GetQueueAttributes, 5 attempts",
          r.rc == 1 and "sqs GetQueueAttributes" in r.err and "MalformedResponse" in r.err and
          "did not parse in 5 attempts" in r.err, r)
    check("g: ... no stop_snapshot", not stop_sent(rx, n0), flags(rx, n0))

    throttled = ["sqs.GetQueueAttributes:100000:throttle"]
    cfg = write_config("budget.conf", "[scan]\nretry_budget = 2s\n")
    aws.control(clear_rules=True, fail=throttled)
    r = scan_bounded(aws, "budget-conf", rx, ["--services", "sqs", "--config", cfg], 60, AWSTOPO_RETRY_BASE_MS=1)
    check("g: [scan] retry_budget = 2s: throttling ends the call, exit 1, the run failed on Throttling",
          r.rc == 1 and "error: mapping sqs" in r.err and "hrottl" in r.err, r)
    cfg = write_config("budget-long.conf", "[scan]\nretry_budget = 1h\n")
    r = scan_bounded(aws, "budget-env", rx, ["--services", "sqs", "--config", cfg], 60, AWSTOPO_RETRY_BASE_MS=1,
                     AWSTOPO_RETRY_BUDGET=2)
    aws.control(clear_rules=True)
    check("g: AWSTOPO_RETRY_BUDGET=2 wins over retry_budget = 1h", r.rc == 1 and "hrottl" in r.err, r)
    bad = write_config("budget-bad.conf", "[scan]\nretry_budget = soon\n")
    p = subprocess.run([BIN, "config", "check", bad], env=env_for(None), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check("g: config check explains a bad retry_budget", "'retry_budget' needs a duration" in p.stdout.decode(),
          p.stdout.decode())


def test_enospc(aws, rx):
    mnt = os.path.join(WORK, "tiny")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt],
                      stderr=subprocess.DEVNULL).returncode != 0:
        # A full disk needs a small filesystem, which only root (CAP_SYS_ADMIN) can mount.
        print("skip e: disk full while spooling: mounting a 64 KiB tmpfs needs root here")
        return
    try:
        spool = os.path.join(mnt, "spool")
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"x" * (56 * 1024))
        n0 = len(rx.payloads())
        r = scan(aws, "enospc", rx, ["--max-payload-items", "40"], spool=spool)
        left = os.listdir(spool) if os.path.isdir(spool) else []
        check("e: disk full while spooling: exit 2, a clear error",
              r.rc == 2 and "No space left on device" in r.err, r)
        check("e: ... nothing committed, nothing sent, no temporary file left",
              not [n for n in left if not n.startswith(".")] and len(rx.payloads()) == n0, left)
        os.remove(filler)
        r = scan(aws, "after-enospc", rx, ["--max-payload-items", "40"], spool=spool)
        got = flags(rx, n0)
        check("e: room again: the next run delivers the whole snapshot",
              r.rc == 0 and got and got[0][0] and got[-1][1] and entries(spool) == [], (r, got))
    finally:
        subprocess.run(["umount", mnt])


# --- f: hostile responses ---------------------------------------------------------------

EC2_NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
LOLS = "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
HOSTILE = [
    # name, service, operation, params, body, what the error says
    ("10k-deep JSON", "dynamodb", "ListTables", None,
     '{"TableNames":' + "[" * 10000 + "]" * 10000 + "}", "nested too deep"),
    ("10k-deep XML", "ec2", "DescribeRegions", None,
     "<DescribeRegionsResponse %s><regionInfo>%s%s</regionInfo></DescribeRegionsResponse>"
     % (EC2_NS, "<item>" * 10000, "</item>" * 10000), "nested too deep"),
    ("XML entity expansion", "ec2", "DescribeVpcs", None,
     '<?xml version="1.0"?><!DOCTYPE v [<!ENTITY lol0 "lol">%s]><DescribeVpcsResponse %s><vpcSet><item>'
     "<vpcId>&lol9;</vpcId></item></vpcSet></DescribeVpcsResponse>" % (LOLS, EC2_NS), "document type declaration"),
    ("JSON number out of range", "dynamodb", "DescribeTable", {"TableName": "t"},
     '{"Table":{"TableName":"t","ItemCount":1e999}}', "number out of range"),
    ("XML number out of range", "ec2", "DescribeInstances", None,
     "<DescribeInstancesResponse %s><reservationSet><item><instancesSet><item><instanceId>i</instanceId>"
     "<cpuOptions><coreCount>1e999</coreCount></cpuOptions></item></instancesSet></item>"
     "</reservationSet></DescribeInstancesResponse>" % EC2_NS, "number out of range"),
    ("invalid UTF-8 in JSON", "sqs", "ListQueues", None, b'{"QueueUrls":["a\xff\xfe\xc0\x80b"]}',
     "invalid UTF-8"),
    ("invalid UTF-8 in XML", "ec2", "DescribeSubnets", None,
     b"<DescribeSubnetsResponse " + EC2_NS.encode() + b"><subnetSet><item><subnetId>a\xff\xfeb</subnetId>"
     b"</item></subnetSet></DescribeSubnetsResponse>", "not well-formed"),
    ("a 100 MB string", "sqs", "GetQueueAttributes", {"QueueUrl": "q"},
     ('{"Attributes":{"Policy":"',) + ("x" * (1 << 20),) * 100 + ('"}}',), "larger than 64 MiB"),
]


def write_fixture(directory, service, operation, body):
    os.makedirs(os.path.join(directory, service), exist_ok=True)
    with open(os.path.join(directory, service, operation + ".body"), "wb") as f:
        for part in body if isinstance(body, tuple) else (body,):
            f.write(part if isinstance(part, bytes) else part.encode())
    with open(os.path.join(directory, service, operation + ".json"), "w") as f:
        json.dump([{"body_file": operation + ".body"}], f)


# Peak RSS a hostile response may cost: the 64 MiB body limit and the
# process's own ~15 MiB, with room; AddressSanitizer's shadow memory and
# quarantine multiply what a build under `make test-asan` uses.
RSS_BOUND_MIB = 400 if "build-asan" in BIN else 160


def call_rss(argv, env):
    """Runs argv; (exit code, stderr, peak RSS in MiB)."""
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, usage.ru_maxrss / 1024.0


def test_hostile():
    fx = os.path.join(WORK, "hostile")
    for _, service, op, _, body, _ in HOSTILE:
        write_fixture(fx, service, op, body)
    write_fixture(fx, "sqs", "ListQueueTags", '{"Tags":{"k":"' + "y" * (2 << 20) + '"}}')
    aws = fakes.start_fake_aws(fx, log=os.path.join(WORK, "fake-hostile.log"))
    try:
        env = env_for(aws, AWSTOPO_RETRY_BASE_MS=1)
        for name, service, op, params, _, says in HOSTILE:
            argv = [BIN, "call", service, op] + (["--params", json.dumps(params)] if params else [])
            rc, err, rss = call_rss(argv, env)
            check("f: %s: a clear error (%s), peak RSS %.0f MiB < %d" % (name, says, rss, RSS_BOUND_MIB),
                  rc != 0 and says in err and rss < RSS_BOUND_MIB, (rc, err[-400:], rss))
        rc, err, rss = call_rss([BIN, "call", "sqs", "ListQueueTags", "--params", '{"QueueUrl": "q"}'],
                                env_for(aws, AWSTOPO_RETRY_BASE_MS=1, AWSTOPO_MAX_RESPONSE_MB=1))
        check("f: a 2 MB body past AWSTOPO_MAX_RESPONSE_MB=1: a clear error", rc != 0 and
              "larger than 1 MiB" in err, err[-400:])
    finally:
        aws.stop()

    # In a scan: the sqs run fails, ec2 and vpc are whole, and no stop_snapshot.
    scan_fx = os.path.join(WORK, "hostile-scan")
    shutil.copytree(os.path.join(ROOT, "tests", "integration", "fixtures-scan"), scan_fx)
    os.remove(os.path.join(scan_fx, "sqs", "ListQueues.json"))
    write_fixture(scan_fx, "sqs", "ListQueues", HOSTILE[0][4])
    aws = fakes.start_fake_aws(scan_fx, log=os.path.join(WORK, "fake-hostile-scan.log"))
    rx = fakes.start_receiver(api_key=API_KEY, log=os.path.join(WORK, "receiver-hostile.log"))
    try:
        r = scan(aws, "hostile-scan", rx, ["--services", "ec2,vpc,sqs"], spool=os.path.join(WORK, "spool-h"),
                 AWSTOPO_RETRY_BASE_MS=1)
        comps = [c["externalId"] for c in (r.topology() or {}).get("components", [])]
        check("f: scan: exit 1, the sqs run failed naming the response's fault",
              r.rc == 1 and "error: mapping sqs" in r.err and "nested too deep" in r.err, r)
        check("f: scan: ec2 and vpc components sent, without stop_snapshot",
              any(":instance/" in c for c in comps) and any(":vpc/" in c for c in comps) and
              not any(":sqs:" in c for c in comps) and flags(rx) and not stop_sent(rx), (comps, flags(rx)))
    finally:
        aws.stop()
        rx.stop()


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
            test_shrink(aws, rx, clean)
            test_spool_faults(aws, rx, clean)
            test_broken_across_processes(aws, rx)
            test_retry_settings(aws, rx)
            test_enospc(aws, rx)
        test_hostile()
    except Exception:
        traceback.print_exc()
        check("no exception", False)
    finally:
        for f in (aws, rx):
            if f:
                f.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(check.report())


if __name__ == "__main__":
    main()
