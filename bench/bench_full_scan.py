"""bench_full_scan.py -- a full-account scan, all 19 mappings, next to botocore.

The fake AWS endpoint (tests/fake/fake_aws.py --synthetic-account N) answers
every call of the 19 bundled mappings from a generated account of about N
resources (tests/fake/synthetic_account.py: EC2 in VPCs, SQS, SNS, Lambda,
DynamoDB, Kinesis, Firehose, S3, RDS, Redshift, ELB, ALB, Auto Scaling, ECS,
CloudFormation, Route 53, API Gateway, VPN gateways), with the mappings' real
call mix: list pages plus the per-resource calls (GetQueueAttributes,
DescribeTable, ListAliases, GetBucketTagging, DescribeTargetHealth, ...).

For each size, without added latency and with 50 ms on every call:

  awstopo json   awstopo scan --format json --output FILE
  awstopo sts    awstopo scan --stackstate-url (the fake receiver) --spool DIR
  botocore       bench/botocore_scan.py: the same calls with botocore (a thread
                 pool for the per-resource calls), the same kind of components
                 and relations built in Python and written as one JSON file

Measured per run: wall, CPU seconds (user + sys of the child, os.wait4), peak
RSS of the child, API calls (the fake's /__stats), components and relations,
and the fake's own CPU: it is one Python process, so when its CPU is close to
the wall time the fake, not the client, set the pace. CPU is the figure to
compare on a shared machine; the load average is printed with the figures.

Then the per-call micro-benchmark: CALLS small calls (sqs GetQueueAttributes,
a ~700-byte JSON answer) from a mapping that makes CALLS queue URLs and calls
once for each (ctx.each), against a scan of the same mapping that makes the
URLs and no call; the CPU difference per call is the client's overhead (the
task that waits for the call, sign, HTTP, parse into Lua tables). It runs
against two endpoints. The Python fake checks each signature with botocore
and spends about half a millisecond of CPU on each call, so the client is
idle between answers and sleeps and wakes for nearly every one; that wake-up
is in its figure. bench/canned_endpoint (C, one thread) answers every request
at once with the fake's own answer to the same call, so the client sets the
pace: its figure is the client's own cost. botocore makes the same calls
against both.

At the end: the table of issue 9 (awstopo and botocore CPU and peak RSS per
size and latency, with wall, calls and components beside), and each of the
issue's targets next to the figure measured for it (linear CPU per resource,
CPU 10x below botocore, <= 40 us client overhead per call, <= 100 MiB peak
RSS at 100k with --format json and with StackState delivery).

Run with /usr/bin/python3 (bench/run does). Prints figures, never pass/fail.
BENCH_SIZES=10000,100000 (default), BENCH_LATENCIES=0,50,
BENCH_CLIENTS=awstopo-json,awstopo-sts,botocore, BENCH_MICRO_CALLS=10000
(0 = skip), BENCH_MICRO_REPEAT=3 (runs of each awstopo micro run, the least
CPU counts), BENCH_REPEAT=1 (runs of each awstopo client: on a shared
machine, the least CPU of several is the figure least disturbed by the
others; each run is printed), BENCH_BOTOCORE_REPEAT=1 (the same for
botocore, whose own runs spread as much: at 100k each takes minutes). The
botocore reference needs the full service models (../shared/aws-models, or
AWS_DATA_PATH): Debian's botocore is older than the calls the mappings make.
The canned endpoint is built by `make bench` (or `make
build/bench/canned_endpoint`); without it the micro-benchmark runs against
the fake only.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes              # noqa: E402
import synthetic_account  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
BUILD = os.path.abspath(os.environ.get("AWSTOPO_BUILD") or os.path.join(ROOT, "build"))
CANNED = os.path.join(BUILD, "bench", "canned_endpoint")
ACCOUNT = synthetic_account.OWNER
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
MICRO_REPEAT = int(os.environ.get("BENCH_MICRO_REPEAT", "3"))
MODELS = os.environ.get("AWS_DATA_PATH") or os.path.normpath(os.path.join(ROOT, "..", "shared", "aws-models"))


def proc_cpu(pid):
    """User + sys CPU seconds of a running process (from /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# Linux keeps a process's peak RSS across exec, so a child forked from this
# (large) bench process would report this process's size. The client is
# started from a small wrapper instead, which reports the client's rusage.
WRAPPER = r"""
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status), ru.ru_stime], f)
"""


def measure(argv, env, fake):
    """Runs argv to completion; a dict of the figures, stdout and stderr."""
    fake.control(reset_stats=True)
    fake_cpu0 = proc_cpu(fake.proc.pid)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    fd, usage = tempfile.mkstemp(prefix="bench-rusage-")
    os.close(fd)
    t0 = time.monotonic()
    subprocess.run([PYTHON, "-c", WRAPPER, usage] + argv, env=env, stdout=out, stderr=err)
    wall = time.monotonic() - t0
    with open(usage) as f:
        cpu, maxrss, rc, sys_cpu = json.load(f)
    os.unlink(usage)
    stats = fake.stats()
    out.seek(0)
    err.seek(0)
    return {"wall": wall, "cpu": cpu, "sys": sys_cpu, "rss": maxrss / 1024.0,
            "calls": stats["total"], "ops": stats["requests"],
            "fake_cpu": proc_cpu(fake.proc.pid) - fake_cpu0, "rc": rc,
            "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


def aws_env(fake):
    env = dict(os.environ, **fake.env())
    env.update(AWSTOPO_HOME=ROOT, AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return env


def counted(path):
    with open(path) as f:
        doc = json.load(f)
    return len(doc.get("components", [])), len(doc.get("relations", []))


def run_awstopo_json(fake, tmp, rx):
    out = os.path.join(tmp, "topology.json")
    r = measure([BIN, "scan", "--account-id", ACCOUNT, "--format", "json", "--output", out], aws_env(fake), fake)
    if r["rc"] == 0:
        r["components"], r["relations"] = counted(out)
    return r


def run_awstopo_sts(fake, tmp, rx):
    spool = os.path.join(tmp, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    env = dict(aws_env(fake), AWSTOPO_API_KEY=rx.api_key)
    rx.control(clear=True)           # the receiver keeps only this run's payloads
    open(rx.out, "w").close()
    r = measure([BIN, "scan", "--account-id", ACCOUNT, "--stackstate-url", rx.url, "--instance", "bench",
                 "--spool", spool], env, fake)
    comps = rels = 0
    with open(rx.out) as f:          # one payload a line: never all of them in this process
        for line in f:
            for t in json.loads(line)["payload"].get("topologies", []):
                comps += len(t.get("components", []))
                rels += len(t.get("relations", []))
    r["components"], r["relations"] = comps, rels
    return r


def run_botocore(fake, tmp, rx):
    out = os.path.join(tmp, "botocore.json")
    env = dict(os.environ, **fake.env())
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_DATA_PATH=MODELS)
    r = measure([PYTHON, os.path.join(ROOT, "bench", "botocore_scan.py"), fake.url, fakes.REGION, ACCOUNT, out],
                env, fake)
    if r["rc"] == 0:
        r["components"], r["relations"] = counted(out)
    return r


CLIENTS = {"awstopo-json": run_awstopo_json, "awstopo-sts": run_awstopo_sts, "botocore": run_botocore}

HEADER = "%9s %7s  %-13s %8s %8s %8s %7s %8s %9s %8s  %s" % (
    "size", "latency", "client", "wall s", "CPU s", "RSS MiB", "calls", "comps", "relations", "fake CPU", "")


def row(size, latency, client, r):
    note = ""
    if r["rc"] not in (0,):
        note = "exit %d: %s" % (r["rc"], r["stderr"].strip()[-300:])
    return "%9d %5d ms  %-13s %8.2f %8.2f %8.1f %7d %8d %9d %8.2f  %s" % (
        size, latency, client, r["wall"], r["cpu"], r["rss"], r["calls"], r.get("components", 0),
        r.get("relations", 0), r["fake_cpu"], note)


def op_differences(a, b):
    """Operations whose call counts differ between two runs: [(service.op, a, b)]."""
    flat = collections.Counter()
    for sign, ops in ((1, a), (-1, b)):
        for svc, per in ops.items():
            for op, n in per.items():
                flat["%s.%s" % (svc, op)] += sign * n
    counts = lambda ops, k: ops.get(k.split(".")[0], {}).get(k.split(".", 1)[1], 0)  # noqa: E731
    return [(k, counts(a, k), counts(b, k)) for k, v in sorted(flat.items()) if v]


MICRO_MAPPING = """
-- bench: %(urls)d queue URLs made, then (when %(call)s) a small call for each
return { service = "sqs", scope = "regional", calls = { "GetQueueAttributes" }, types = {},
  scan = function(ctx)
    local urls = {}
    for i = 1, %(urls)d do
      urls[i] = string.format("https://sqs.%%s.amazonaws.com/123456789012/syn-q-%%06d", ctx.region, (i - 1) %% %(queues)d)
    end
    if not %(call)s then return end
    ctx.each(urls, function(url)
      local r = ctx.aws.call("GetQueueAttributes", { QueueUrl = url, AttributeNames = { "All" } })
      assert(r.Attributes.QueueArn, "no QueueArn in the answer")
    end)
  end }
"""


MICRO_BOTOCORE = r"""
import sys, botocore.session
from botocore.config import Config
from concurrent.futures import ThreadPoolExecutor
endpoint, region, calls, queues = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = botocore.session.get_session().create_client("sqs", region_name=region, endpoint_url=endpoint,
    config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=16))
url = "https://sqs.%s.amazonaws.com/123456789012/syn-q-%06d"
def one(i):
    c.get_queue_attributes(QueueUrl=url % (region, i % queues), AttributeNames=["All"])
with ThreadPoolExecutor(16) as pool:
    list(pool.map(one, range(calls)))
"""


class CannedEndpoint:
    """bench/canned_endpoint: answers every request at once with one recorded
    response (the fake's answer to the micro-benchmark's call), so that the
    client, not the endpoint, sets the pace. It checks no signature; the runs
    against the Python fake do."""

    def __init__(self, body, content_type, env):
        self.tmp = tempfile.mkdtemp(prefix="bench-canned-")
        path = os.path.join(self.tmp, "body")
        with open(path, "wb") as f:
            f.write(body)
        self.proc = subprocess.Popen([CANNED, path, content_type], stdout=subprocess.PIPE)
        self.url = "http://127.0.0.1:%d" % int(self.proc.stdout.readline().split()[1])
        self._env = dict(env, AWS_ENDPOINT_URL=self.url)

    def env(self):
        return self._env

    def control(self, reset_stats=False):
        if reset_stats:
            urllib.request.urlopen(urllib.request.Request(self.url + "/__reset", data=b"", method="POST")).read()

    def stats(self):
        with urllib.request.urlopen(self.url + "/__stats") as r:
            return dict(json.loads(r.read()), requests={})

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def recorded_answer(fake, queue_url):
    """The fake's HTTP answer to the micro-benchmark's call: (body, content type)."""
    import botocore.session
    env = fake.env()
    session = botocore.session.get_session()
    session.set_config_variable("data_path", MODELS)    # the models awstopo's protocol comes from
    client = session.create_client(
        "sqs", region_name=fakes.REGION, endpoint_url=fake.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    got = {}
    client.meta.events.register("after-call.sqs.GetQueueAttributes",
                                lambda http_response, **_: got.update(body=http_response.content,
                                                                      type=http_response.headers["Content-Type"]))
    client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    return got["body"], got["type"]


def micro_awstopo(endpoint, tmp, calls, queues):
    """awstopo's runs of the micro-benchmark against one endpoint, {"empty": r, "calls": r}:
    of MICRO_REPEAT runs each, the one of least CPU (a run of a quarter second is easily disturbed)."""
    results = {}
    for label, call in (("empty", "false"), ("calls", "true")):
        d = os.path.join(tmp, label)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "sqs.lua"), "w") as f:
            f.write(MICRO_MAPPING % {"urls": calls, "call": call, "queues": queues})
        argv = [BIN, "scan", "--account-id", ACCOUNT, "--mappings", d, "--services", "sqs",
                "--format", "json", "--output", "/dev/null"]
        results[label] = least_cpu([measure(argv, aws_env(endpoint), endpoint) for _ in range(MICRO_REPEAT)])
    return results


def micro(calls):
    queues = 100
    fake = fakes.start_fake_aws(None, synthetic_account=queues * 1000 // synthetic_account.SHARE["queues"])
    tmp = tempfile.mkdtemp(prefix="bench-micro-")
    canned = None
    try:
        results = {"fake": micro_awstopo(fake, tmp, calls, queues)}
        if os.path.exists(CANNED):
            body, content_type = recorded_answer(fake, "https://sqs.%s.amazonaws.com/123456789012/syn-q-000000"
                                                 % fakes.REGION)
            canned = CannedEndpoint(body, content_type, fake.env())
            results["canned"] = micro_awstopo(canned, tmp, calls, queues)
        env = dict(os.environ, **fake.env())
        env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_DATA_PATH=MODELS)
        results["botocore"] = measure([PYTHON, "-c", MICRO_BOTOCORE, fake.url, fakes.REGION, str(calls), str(queues)],
                                      env, fake)
        if canned:
            results["botocore canned"] = measure([PYTHON, "-c", MICRO_BOTOCORE, canned.url, fakes.REGION, str(calls),
                                                 str(queues)], env, canned)
        base = [PYTHON, "-c", "import botocore.session; botocore.session.get_session().create_client("
                "'sqs', region_name='us-east-1', endpoint_url='http://127.0.0.1:1')"]
        results["botocore0"] = measure(base, env, fake)
    finally:
        fake.stop()
        if canned:
            canned.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("per-call overhead, %d x sqs GetQueueAttributes (16 in flight), CPU us per call"
          " (of it in the kernel: on loopback a send also runs the endpoint's TCP receive):" % calls)
    print("  against the fake, which takes ~0.5 ms of its own CPU a call: the client waits, and wakes for"
          " nearly every answer;")
    if canned:
        print("  against canned_endpoint, which answers at once: the client's own cost")
    else:
        print("  (no %s: `make bench` builds it; the micro-benchmark ran against the fake only)" % CANNED)
    per_call = {}
    rows = [("awstopo", results["fake"]["calls"], results["fake"]["empty"]),
            ("botocore", results["botocore"], results["botocore0"])]
    if canned:
        rows[1:1] = [("awstopo canned", results["canned"]["calls"], results["canned"]["empty"])]
        rows.append(("botocore canned", results["botocore canned"], results["botocore0"]))
    for label, r, r0 in rows:
        note = "" if r["rc"] == 0 else "  exit %d: %s" % (r["rc"], r["stderr"].strip()[-300:])
        n = max(r["calls"], 1)
        per_call[label] = (r["cpu"] - r0["cpu"]) / n * 1e6
        kernel = (r["sys"] - r0["sys"]) / n * 1e6
        print("  %-15s %7.1f us/call, %.1f us of it in the kernel   (CPU %.2f s with the calls, %.2f s without;"
              " %d calls in %.2f s; endpoint CPU %.2f s)%s"
              % (label, per_call[label], kernel, r["cpu"], r0["cpu"], r["calls"], r["wall"], r["fake_cpu"], note))
    return per_call


def least_cpu(runs):
    """The run of least CPU among a client's repeats (the least disturbed)."""
    ok = [r for r in runs if r["rc"] == 0] or runs
    return min(ok, key=lambda r: r["cpu"])


def issue_table(best):
    """Issue 9's table (its columns first), one row per size and latency."""
    cols = ("resources", "latency", "awstopo CPU", "botocore CPU", "awstopo peak RSS", "botocore peak RSS",
            "awstopo sts CPU / RSS", "awstopo wall", "botocore wall", "calls (awstopo/botocore)",
            "components (awstopo/botocore)")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    fmt = lambda r, key, unit: "%.2f %s" % (r[key], unit) if r else "-"  # noqa: E731
    for (size, latency), got in sorted(best.items()):
        a, b, st = got.get("awstopo-json"), got.get("botocore"), got.get("awstopo-sts")
        cells = ("~%dk" % (size // 1000), "%d ms" % latency, fmt(a, "cpu", "s"), fmt(b, "cpu", "s"),
                 "%.0f MB" % a["rss"] if a else "-", "%.0f MB" % b["rss"] if b else "-",
                 "%.2f s / %.0f MB" % (st["cpu"], st["rss"]) if st else "-",
                 fmt(a, "wall", "s"), fmt(b, "wall", "s"),
                 "%s/%s" % (a["calls"] if a else "-", b["calls"] if b else "-"),
                 "%s/%s" % (a.get("components", "-") if a else "-", b.get("components", "-") if b else "-"))
        print("| " + " | ".join(cells) + " |")


def targets(best, per_call):
    """Each of issue 9's targets next to the figure measured for it."""
    lines = []
    at = lambda size, lat, c: best.get((size, lat), {}).get(c)  # noqa: E731
    sizes = sorted({s for s, _ in best})
    for lat in sorted({l for _, l in best}):
        if len(sizes) >= 2:
            small, large = at(sizes[0], lat, "awstopo-json"), at(sizes[-1], lat, "awstopo-json")
            if small and large:
                a, b = small["cpu"] / sizes[0] * 1e6, large["cpu"] / sizes[-1] * 1e6
                lines.append("linear (%d ms): CPU per resource %.1f us at %d, %.1f us at %d: %+.0f%% (target "
                             "within 15%%)" % (lat, a, sizes[0], b, sizes[-1], (b / a - 1) * 100))
        for size in sizes:
            a, b = at(size, lat, "awstopo-json"), at(size, lat, "botocore")
            if a and b:
                lines.append("cheap (%d, %d ms): botocore / awstopo CPU %.1fx (target >= 10x)"
                             % (size, lat, b["cpu"] / max(a["cpu"], 1e-3)))
    if per_call:
        if "awstopo canned" in per_call:
            lines.append("cheap: client overhead %.1f us per call against canned_endpoint, %.1f us against the fake "
                         "(target <= 40 us; botocore %.1f and %.1f us)"
                         % (per_call["awstopo canned"], per_call["awstopo"], per_call["botocore canned"],
                            per_call["botocore"]))
        else:
            lines.append("cheap: client overhead %.1f us per call against the fake (target <= 40 us; botocore %.1f us)"
                         % (per_call["awstopo"], per_call["botocore"]))
    for (size, lat), got in sorted(best.items()):
        for c in ("awstopo-json", "awstopo-sts"):
            if size >= 100000 and c in got:
                lines.append("lean (%d, %d ms, %s): peak RSS %.1f MiB (target <= 100)"
                             % (size, lat, c, got[c]["rss"]))
        if lat and "awstopo-json" in got:
            lines.append("wall (%d, %d ms): %.1f s with at most 16 calls in flight per (service, region) lane"
                         % (size, lat, got["awstopo-json"]["wall"]))
    for line in lines:
        print("  " + line)


def main():
    if not os.access(BIN, os.X_OK):
        print("no awstopo binary at %s (set AWSTOPO_BIN)" % BIN)
        return 0
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",") if s]
    latencies = [int(s) for s in os.environ.get("BENCH_LATENCIES", "0,50").split(",") if s]
    clients = [c for c in os.environ.get("BENCH_CLIENTS", ",".join(CLIENTS)).split(",") if c]
    repeat = max(1, int(os.environ.get("BENCH_REPEAT", "1")))
    repeat_botocore = max(1, int(os.environ.get("BENCH_BOTOCORE_REPEAT", "1")))
    best = {}
    t_start = time.monotonic()
    print("full synthetic account, all 19 mappings, one region; load average at start: %.2f %.2f %.2f"
          % os.getloadavg())
    print("wall/CPU in seconds (CPU = user+sys of the client), RSS = its peak resident MiB, "
          "fake CPU = the fake endpoint's own")
    print()
    print(HEADER)
    print("-" * len(HEADER))
    summary = []
    rx_dir = tempfile.mkdtemp(prefix="bench-rx-")
    rx = fakes.start_receiver(out=os.path.join(rx_dir, "payloads.jsonl"))
    rx.out = os.path.join(rx_dir, "payloads.jsonl")
    try:
        for size in sizes:
            fake = fakes.start_fake_aws(None, synthetic_account=size)
            tmp = tempfile.mkdtemp(prefix="bench-full-")
            try:
                for latency in latencies:
                    fake.control(latency_ms=latency)
                    got = best[(size, latency)] = {}
                    for name in clients:
                        runs = []
                        for _ in range(repeat if name.startswith("awstopo") else repeat_botocore):
                            runs.append(CLIENTS[name](fake, tmp, rx))
                            print(row(size, latency, name, runs[-1]), flush=True)
                        got[name] = least_cpu(runs)
                    if "awstopo-json" in got and "botocore" in got:
                        a, b = got["awstopo-json"], got["botocore"]
                        summary.append("%7d resources, %2d ms: botocore/awstopo CPU %.1fx, wall %.1fx, RSS %.1fx; "
                                       "awstopo %.1f us CPU per resource"
                                       % (size, latency, b["cpu"] / max(a["cpu"], 1e-3), b["wall"] / a["wall"],
                                          b["rss"] / a["rss"], a["cpu"] / size * 1e6))
                        diff = op_differences(a["ops"], b["ops"])
                        if diff:
                            summary.append("    calls that differ (awstopo, botocore): " +
                                           ", ".join("%s %d/%d" % d for d in diff))
            finally:
                fake.stop()
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        rx.stop()
        shutil.rmtree(rx_dir, ignore_errors=True)
    print()
    for line in summary:
        print(line)
    calls = int(os.environ.get("BENCH_MICRO_CALLS", "10000"))
    per_call = None
    if calls:
        print()
        per_call = micro(calls)
    print()
    print("issue 9's table (the least CPU of BENCH_REPEAT=%d runs of each awstopo client, of "
          "BENCH_BOTOCORE_REPEAT=%d of botocore):" % (repeat, repeat_botocore))
    issue_table(best)
    print()
    print("targets:")
    targets(best, per_call)
    print("(bench took %.0f s; load average at the end: %.2f %.2f %.2f)"
          % ((time.monotonic() - t_start,) + os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
