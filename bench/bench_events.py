"""bench_events.py -- the event pipeline's figures (issue 10), each next to a
reference measured in the same run. Never passes or fails.

  1  events per second through `events process --kinesis-stream` (kinesalite)
     -> `events consume` -> the recording receiver, for N delete events (no
     describe calls: the pipeline itself); CPU seconds (user+sys) of the
     awstopo processes, next to the wall time
  2  latency from PutRecords to the receiver's ack, p50 / p99, with a
     running consumer (`events consume` without --once, 50 ms poll: the
     consuming loop the daemon will run): records written by botocore with
     their write time, delivered one batch at a time
  3  Lambda cold start: process start to the first /next on a fake Runtime
     API, `awstopo lambda` next to a Python runtime that imports botocore
     (boto3 is not installed on this machine; boto3 imports botocore and
     adds little) and then asks for /next the same way
  4  the daemon `awstopo run` (scans every BENCH_DAEMON_SCAN_INTERVAL s,
     default 3, against the fake AWS endpoint; its consumer with 50 ms poll):
     the latency of 2 with the daemon's consumer, and the RSS of the loop
     process idle and after some cycles (reference: 2's bare consumer)

The machine is shared: prefer the CPU figures to wall time.
"""

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import botocore.session                                   # noqa: E402

import fakes                                              # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
N = int(os.environ.get("BENCH_EVENTS", "5000"))
CYCLE = int(os.environ.get("BENCH_DAEMON_SCAN_INTERVAL", "3"))
WORK = tempfile.mkdtemp(prefix="awstopo-bench-events-")
API_KEY = "bench-api-key"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def env_for(kinesis, rx=None):
    env = dict(os.environ, AWS_ENDPOINT_URL_KINESIS=kinesis.url, AWS_ACCESS_KEY_ID="AKIDBENCH",
               AWS_SECRET_ACCESS_KEY="bench-secret", AWS_REGION="us-east-1", HOME=WORK, AWSTOPO_API_KEY=API_KEY)
    env.pop("AWSTOPO_CONFIG", None)
    return env


def events(n):
    return "\n".join(json.dumps({
        "eventSource": "sqs.amazonaws.com", "eventName": "DeleteQueue", "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012", "eventTime": "2024-01-01T00:00:00Z",
        "requestParameters": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q%d" % i}})
        for i in range(n)).encode()


def throughput(kinesis, kc, rx):
    kc.create_stream(StreamName="bench", ShardCount=4)
    time.sleep(0.3)
    data = events(N)
    cpu0, t0 = children_cpu(), time.time()
    p = subprocess.run([BIN, "events", "process", "--account-id", "123456789012", "--kinesis-stream", "bench", "-"],
                       input=data, env=env_for(kinesis), capture_output=True)
    t1, cpu1 = time.time(), children_cpu()
    c = subprocess.run([BIN, "events", "consume", "--kinesis-stream", "bench", "--once", "--checkpoint-dir",
                        os.path.join(WORK, "cp"), "--stackstate-url", rx.url, "--spool", os.path.join(WORK, "spool")],
                       env=env_for(kinesis), capture_output=True)
    t2, cpu2 = time.time(), children_cpu()
    got = sum(len(e["payload"]["topologies"][0].get("delete_ids", [])) for e in rx.payloads())
    print("1  %d events -> kinesalite (4 shards) -> consume -> receiver (%d delivered; exit %d/%d)"
          % (N, got, p.returncode, c.returncode))
    print("   %-28s %10s %10s %12s" % ("", "wall s", "cpu s", "events/s cpu"))
    print("   %-28s %10.2f %10.2f %12.0f" % ("process + PutRecords", t1 - t0, cpu1 - cpu0, N / max(cpu1 - cpu0, 1e-6)))
    print("   %-28s %10.2f %10.2f %12.0f" % ("consume + deliver", t2 - t1, cpu2 - cpu1, N / max(cpu2 - cpu1, 1e-6)))
    print("   %-28s %10.2f %10.2f %12.0f   (wall: %.0f events/s; kinesalite and the receiver are Python/node)"
          % ("end to end", t2 - t0, cpu2 - cpu0, N / max(cpu2 - cpu0, 1e-6), N / max(t2 - t0, 1e-6)))


def put_and_wait(kc, stream, rx, n):
    """PutRecords of one delete record at a time, n times: the ms until the
    receiver has it, sorted."""
    lat = []
    for i in range(n):
        since = rx.payloads()[-1]["seq"] if rx.payloads() else 0
        rid = "urn:bench:%s%d" % (stream, i)
        rec = {"awstopo": 1, "instance": "aws", "kind": "delete", "id": rid, "time": 0}
        t0 = time.time()
        kc.put_records(StreamName=stream, Records=[{"Data": json.dumps(rec).encode(), "PartitionKey": rid}])
        deadline = t0 + 10
        while time.time() < deadline:
            got = rx.payloads(since)
            if any(rid in t.get("delete_ids", []) for e in got for t in e["payload"]["topologies"]):
                lat.append((time.time() - t0) * 1000)
                break
            time.sleep(0.005)
        time.sleep(0.02)
    return sorted(lat)


def percentiles(lat):
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    return (statistics.median(lat) if lat else float("nan")), p99, (lat[0] if lat else float("nan"))


def latency(kinesis, kc, rx):
    kc.create_stream(StreamName="lat", ShardCount=1)
    time.sleep(0.3)
    proc = subprocess.Popen([BIN, "events", "consume", "--kinesis-stream", "lat", "--poll-ms", "50",
                             "--checkpoint-dir", os.path.join(WORK, "cp-lat"), "--stackstate-url", rx.url,
                             "--spool", os.path.join(WORK, "spool-lat")],
                            env=env_for(kinesis), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        lat = put_and_wait(kc, "lat", rx, 60)
    finally:
        proc.terminate()
        proc.wait(10)
    print("2  PutRecords -> receiver ack, running consumer, 50 ms poll, %d samples" % len(lat))
    print("   p50 %.0f ms, p99 %.0f ms, min %.0f ms (reference: the poll interval alone averages 25 ms)"
          % percentiles(lat))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def daemon_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def daemon(kinesis, kc):
    """4: `awstopo run` against the fake AWS endpoint (the scan's fixtures and
    its CloudWatch), kinesalite and the receiver: latency with the daemon's
    consumer, RSS idle and after cycles of scans, events and /v1/metrics."""
    kc.create_stream(StreamName="dmn", ShardCount=1)
    time.sleep(0.3)
    aws = fakes.start_fake_aws(os.path.join(ROOT, "tests", "integration", "fixtures-scan"), cloudwatch=True)
    rx = fakes.start_receiver(api_key=API_KEY)
    conf = os.path.join(WORK, "daemon.conf")
    with open(conf, "w") as f:
        f.write("[stackstate]\nurl = %s\nspool = %s/spool-dmn\n[scan]\nregions = us-east-1\nservices = ec2,vpc,sqs\n"
                "[daemon]\nlisten = 127.0.0.1:0\nscan_interval = %d\nkinesis_stream = dmn\npoll_ms = 50\n"
                "state_dir = %s/state\ncheckpoint_dir = %s/cp-dmn\n"
                % (rx.url, WORK, CYCLE, WORK, WORK))
    env = dict(env_for(kinesis), **aws.env())
    env["AWS_ENDPOINT_URL_KINESIS"] = kinesis.url
    log = os.path.join(WORK, "daemon.log")
    proc = subprocess.Popen([BIN, "run", "--config", conf], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"))
    try:
        def scans():
            return len(re.findall(r"scan \(pid \d+\) ended with exit code 0", open(log).read()))
        deadline = time.time() + 60
        while scans() < 1 and time.time() < deadline:
            time.sleep(0.1)
        port = int(re.search(r"\(port (\d+)\)", open(log).read()).group(1))
        time.sleep(1)
        idle = rss_kb(proc.pid)
        kids = daemon_children(proc.pid)
        consumer = rss_kb(kids[0]) if kids else 0
        lat = put_and_wait(kc, "dmn", rx, 60)
        queue = urllib.request.quote("arn:aws:sqs:us-east-1:123456789012:orders", safe="")
        for i in range(20):
            urllib.request.urlopen("http://127.0.0.1:%d/v1/metrics?component=%s" % (port, queue), timeout=30).read()
            urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30).read()
        while scans() < 6 and time.time() < deadline + 120:
            time.sleep(0.2)
        cycled = rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        rx.stop()
        aws.stop()
    print("4  `awstopo run`: scans every %d s, consumer with 50 ms poll, %d samples" % (CYCLE, len(lat)))
    print("   PutRecords -> receiver ack: p50 %.0f ms, p99 %.0f ms, min %.0f ms" % percentiles(lat))
    print("   RSS of the loop process: %.1f MiB idle after the first scan, %.1f MiB after %d scans, %d events "
          "and 20 /v1/metrics + /metrics requests (its consumer child: %.1f MiB)"
          % (idle / 1024, cycled / 1024, scans(), len(lat), consumer / 1024))


PY_RUNTIME = r"""
import os, urllib.request
import botocore.session
botocore.session.get_session().create_client("kinesis", region_name="us-east-1",
    aws_access_key_id="x", aws_secret_access_key="y")
urllib.request.urlopen("http://%s/2018-06-01/runtime/invocation/next" % os.environ["AWS_LAMBDA_RUNTIME_API"])
"""


def cold_start():
    api = fakes.FakeProcess([fakes.PYTHON, os.path.join(ROOT, "tests", "fake", "fake_lambda_runtime.py")]).start()
    try:
        def one(argv, env):
            before = len(api.get_json("/__stats")["next_at_ms"])
            t0 = time.time() * 1000
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while len(api.get_json("/__stats")["next_at_ms"]) == before:
                time.sleep(0.001)
            took = api.get_json("/__stats")["next_at_ms"][before] - t0
            proc.kill()
            proc.wait()
            return took
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWSTOPO_")}
        base.pop("HOME", None)
        env = dict(base, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % api.port, _HANDLER="publisher",
                   AWSTOPO_STACKSTATE_URL="http://127.0.0.1:9", AWSTOPO_API_KEY="k")
        aw = sorted(one([BIN, "lambda"], env) for _ in range(15))
        py = sorted(one([fakes.PYTHON, "-c", PY_RUNTIME], env) for _ in range(15))
        print("3  Lambda cold start: process start -> first /next (median of 15, ms; includes Python polling jitter)")
        print("   awstopo lambda                         %6.1f" % statistics.median(aw))
        print("   python3 + botocore client (boto3-like) %6.1f" % statistics.median(py))
    finally:
        api.stop()


def main():
    kinesis = fakes.start_kinesalite()
    kc = botocore.session.get_session().create_client(
        "kinesis", region_name="us-east-1", endpoint_url=kinesis.url, aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret")
    try:
        with fakes.start_receiver(api_key=API_KEY) as rx:
            throughput(kinesis, kc, rx)
            latency(kinesis, kc, rx)
        cold_start()
        daemon(kinesis, kc)
    finally:
        kinesis.stop()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
