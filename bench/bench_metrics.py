"""bench_metrics.py -- awstopo metrics on 10k components x 4 metrics, and what metrics cost.

The fake AWS endpoint answers GetMetricData itself (tests/fake/cloudwatch.py:
values computed per series and time). Two topologies of 10,000 components,
written as `awstopo scan --format json` writes them:

  ec2     10,000 EC2 instances in one region, the default set (4 metrics):
          40,000 queries, expected ceil(40000 / 500) = 80 calls
  mixed   6,000 EC2 instances (eu-west-1, 4 metrics), 3,000 SQS queues
          (us-east-1, 2) and 1,000 S3 buckets (us-east-1, 2, daily): calls
          per (region, period) = 48 + 12 + 4 = 64

For each: awstopo metrics --topology FILE --output /dev/null, next to the
reference: a botocore client (what the old StackState Lambda used) making the
same GetMetricData calls with the same 500 queries each and keeping the
datapoints. Measured per run: wall time, CPU seconds (user + sys, os.wait4;
the machine is shared, so CPU is the figure to compare), peak RSS, calls (the
fake's /__stats) and the fake's own CPU (a single Python process: when its CPU
is close to the wall time, it was the bottleneck).

Then the estimates awstopo prints (no CloudWatch call): the demo account, and a
10k-resource account (the fake's --synthetic-account 10000, scanned with every
mapping) with the default metric set.

Run with /usr/bin/python3 (bench/run does). Prints figures, never pass/fail.
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakes          # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
TIME = "/usr/bin/time"      # Debian package time (tools/setup.sh)
END = "2026-12-06T00:12:00Z"    # just after midnight: the daily S3 metrics are due too
END_EPOCH = 1796515920
DELAY = 600

# The reference: the same calls with botocore. argv: endpoint, plan file
# ([[region, period, [query, ...]], ...]). Credentials from the environment.
BOTOCORE_METRICS = r"""
import json, sys, botocore.session
from botocore.config import Config
endpoint, plan, end, models = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3]), sys.argv[4]
session = botocore.session.get_session()
session.get_component("data_loader").search_paths.insert(0, models)   # CloudWatch over json, as awstopo
clients, kept = {}, {}
for region, period, queries in plan:
    if region not in clients:
        clients[region] = session.create_client(
            "cloudwatch", region_name=region, endpoint_url=endpoint,
            config=Config(retries={"mode": "standard", "max_attempts": 3}))
    stop = end // period * period
    start = stop - (2 * period if period >= 86400 else max(300, period))
    for i in range(0, len(queries), 500):
        batch = [dict(q, Id="m%d" % (k + 1)) for k, q in enumerate(queries[i:i + 500])]
        token = None
        while True:
            args = dict(MetricDataQueries=batch, StartTime=start, EndTime=stop, ScanBy="TimestampAscending")
            if token:
                args["NextToken"] = token
            page = clients[region].get_metric_data(**args)
            for r in page["MetricDataResults"]:
                kept.setdefault((region, i, r["Id"]), []).extend(zip(r["Timestamps"], r["Values"]))
            token = page.get("NextToken")
            if not token:
                break
print(sum(len(v) for v in kept.values()))
"""

EC2_DEFAULT = [("CPUUtilization", "Average"), ("NetworkIn", "Sum"), ("NetworkOut", "Sum"),
               ("StatusCheckFailed", "Maximum")]
SQS_DEFAULT = [("ApproximateNumberOfMessagesVisible", "Maximum"), ("ApproximateAgeOfOldestMessage", "Maximum")]
S3_DEFAULT = [("BucketSizeBytes", "Average", "StandardStorage"), ("NumberOfObjects", "Average", "AllStorageTypes")]


def component(ctype, arn, namespace, dims, region):
    return {"externalId": arn, "type": {"name": ctype},
            "data": {"CW": {"Namespace": namespace, "Dimensions": [{"Key": k, "Value": v} for k, v in dims]},
                     "Location": {"AwsAccount": ACCOUNT, "AwsRegion": region}}}


def ec2(i, region="eu-west-1"):
    iid = "i-%017x" % (0x400000 + i)
    return component("aws.ec2.instance", "arn:aws:ec2:%s:%s:instance/%s" % (region, ACCOUNT, iid),
                     "AWS/EC2", [("InstanceId", iid)], region)


def topologies():
    """name -> (components, reference plan [[region, period, queries]], expected calls)."""
    def q(ns, metric, dims, period, stat):
        return {"MetricStat": {"Metric": {"Namespace": ns, "MetricName": metric,
                                          "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dims)]},
                               "Period": period, "Stat": stat}, "ReturnData": True}
    out = {}
    comps = [ec2(i) for i in range(10000)]
    plan = [["eu-west-1", 300, [q("AWS/EC2", m, [("InstanceId", c["data"]["CW"]["Dimensions"][0]["Value"])], 300, s)
                                for c in comps for m, s in EC2_DEFAULT]]]
    out["ec2"] = (comps, plan, math.ceil(40000 / 500))
    comps = [ec2(i) for i in range(6000)]
    queues = ["q%05d" % i for i in range(3000)]
    buckets = ["bucket-%05d" % i for i in range(1000)]
    comps += [component("aws.sqs.queue", "arn:aws:sqs:us-east-1:%s:%s" % (ACCOUNT, n), "AWS/SQS",
                        [("QueueName", n)], "us-east-1") for n in queues]
    comps += [component("aws.s3.bucket", "arn:aws:s3:::%s" % n, "AWS/S3", [("BucketName", n)], "us-east-1")
              for n in buckets]
    plan = [["eu-west-1", 300, [q("AWS/EC2", m, [("InstanceId", c["data"]["CW"]["Dimensions"][0]["Value"])], 300, s)
                                for c in comps[:6000] for m, s in EC2_DEFAULT]],
            ["us-east-1", 300, [q("AWS/SQS", m, [("QueueName", n)], 300, s) for n in queues for m, s in SQS_DEFAULT]],
            ["us-east-1", 86400, [q("AWS/S3", m, [("BucketName", n), ("StorageType", t)], 86400, s)
                                  for n in buckets for m, s, t in S3_DEFAULT]]]
    out["mixed"] = (comps, plan, math.ceil(24000 / 500) + math.ceil(6000 / 500) + math.ceil(2000 / 500))
    return out


def json_cloudwatch_model(tmp):
    """The project's CloudWatch model with json as its protocol: this machine's
    botocore may predate the json protocol for CloudWatch, and the reference
    must make the same requests as awstopo."""
    src = os.path.join(ROOT, "models", "cloudwatch", "2010-08-01", "service-2.json")
    model = json.load(open(src))
    model["metadata"]["protocol"] = "json"
    model["metadata"].pop("protocols", None)
    out = os.path.join(tmp, "models", "cloudwatch", "2010-08-01")
    os.makedirs(out)
    with open(os.path.join(out, "service-2.json"), "w") as f:
        json.dump(model, f)
    return os.path.join(tmp, "models")


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def measure(argv, env, fake):
    fake.control(reset_stats=True)
    fake_cpu0 = proc_cpu(fake.proc.pid)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.monotonic()
    # GNU time measures the peak RSS: a child forked from this (large) Python
    # process would count the parent's pages in its own ru_maxrss
    p = subprocess.Popen([TIME, "-f", "awstopo-bench-maxrss %M"] + argv, env=env, stdout=out, stderr=err)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    stats = fake.stats()
    out.seek(0)
    err.seek(0)
    errtext = err.read().decode("utf-8", "replace")
    rss = [ln for ln in errtext.splitlines() if ln.startswith("awstopo-bench-maxrss ")]
    err = tempfile.TemporaryFile()
    err.write(errtext.encode())
    err.seek(0)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
            "rss": int(rss[-1].split()[1]) / 1024.0 if rss else float("nan"),
            "calls": stats["requests"].get("cloudwatch", {}).get("GetMetricData", 0),
            "fake_cpu": proc_cpu(fake.proc.pid) - fake_cpu0, "rc": os.waitstatus_to_exitcode(status),
            "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


def env_for(fake):
    env = dict(os.environ, **fake.env())
    env.update(AWSTOPO_HOME=ROOT, AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return env


def row(name, client, queries, expected, r):
    rate = queries / r["wall"] if r["wall"] > 0 else 0
    print("%-6s %-9s %7d %6d %8d %8.2f %8.2f %9.0f %8.1f %8.2f  %s" % (
        name, client, queries, r["calls"], expected, r["wall"], r["cpu"], rate, r["rss"], r["fake_cpu"],
        "" if r["rc"] == 0 else "rc=%d %s" % (r["rc"], r["stderr"].strip()[-200:])))


def estimate_line(stderr):
    lines = [ln for ln in stderr.splitlines() if ln.startswith("metrics (estimate")]
    return lines[-1] if lines else stderr.strip()[-300:]


def main():
    tmp = tempfile.mkdtemp(prefix="bench-metrics-")
    print("awstopo metrics vs a botocore client making the same GetMetricData calls (500 queries each);")
    print("CPU = user+sys of the client process (the machine is shared: compare CPU, not wall)\n")
    print("%-6s %-9s %7s %6s %8s %8s %8s %9s %8s %8s" % ("topo", "client", "queries", "calls", "expected",
                                                      "wall s", "CPU s", "metrics/s", "RSS MiB", "fake CPU"))
    models = json_cloudwatch_model(tmp)
    with fakes.start_fake_aws(None, cloudwatch=True) as fake:
        env = env_for(fake)
        for name, (comps, plan, expected) in topologies().items():
            topo = os.path.join(tmp, name + ".json")
            with open(topo, "w") as f:
                json.dump({"components": comps, "relations": [], "delete_ids": []}, f)
            planfile = os.path.join(tmp, name + ".plan.json")
            with open(planfile, "w") as f:
                json.dump(plan, f)
            queries = sum(len(p[2]) for p in plan)
            r = measure([BIN, "metrics", "--topology", topo, "--account-id", ACCOUNT, "--end", END,
                         "--output", "/dev/null"], env, fake)
            row(name, "awstopo", queries, expected, r)
            r = measure([PYTHON, "-c", BOTOCORE_METRICS, fake.url, planfile, str(END_EPOCH - DELAY), models],
                        env, fake)
            row(name, "botocore", queries, expected, r)

        print("\nestimated cost with the default metric sets, every 300 s, $0.01 per 1,000 (no CloudWatch call):")
        r = subprocess.run([BIN, "metrics", "--demo", "--estimate"], capture_output=True, text=True, env=env)
        print("  demo account:       " + estimate_line(r.stderr))
        topo = os.path.join(tmp, "ec2.json")
        r = subprocess.run([BIN, "metrics", "--topology", topo, "--estimate"], capture_output=True, text=True,
                           env=env)
        print("  10k EC2 instances:  " + estimate_line(r.stderr))
    with fakes.start_fake_aws(None, synthetic_account=10000) as fake:
        env = env_for(fake)
        topo = os.path.join(tmp, "synthetic.json")
        s = subprocess.run([BIN, "scan", "--account-id", ACCOUNT, "--output", topo, "--format", "json"],
                           capture_output=True, text=True, env=env)
        summary = [ln for ln in s.stderr.splitlines() if ln.startswith("scan:")]
        r = subprocess.run([BIN, "metrics", "--topology", topo, "--estimate"], capture_output=True, text=True,
                           env=env)
        print("  10k-resource account (fake --synthetic-account 10000; %s):" % (summary[-1] if summary else "?"))
        print("                      " + estimate_line(r.stderr))


if __name__ == "__main__":
    main()
