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

The machine is shared: prefer the CPU figures to wall time.
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import botocore.session                                   # noqa: E402

import fakes                                              # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
N = int(os.environ.get("BENCH_EVENTS", "5000"))
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


def latency(kinesis, kc, rx):
    kc.create_stream(StreamName="lat", ShardCount=1)
    time.sleep(0.3)
    proc = subprocess.Popen([BIN, "events", "consume", "--kinesis-stream", "lat", "--poll-ms", "50",
                             "--checkpoint-dir", os.path.join(WORK, "cp-lat"), "--stackstate-url", rx.url,
                             "--spool", os.path.join(WORK, "spool-lat")],
                            env=env_for(kinesis), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lat = []
    try:
        time.sleep(0.5)
        for i in range(60):
            since = rx.payloads()[-1]["seq"] if rx.payloads() else 0
            rid = "urn:bench:lat%d" % i
            rec = {"awstopo": 1, "instance": "aws", "kind": "delete", "id": rid, "time": 0}
            t0 = time.time()
            kc.put_records(StreamName="lat", Records=[{"Data": json.dumps(rec).encode(), "PartitionKey": rid}])
            deadline = t0 + 10
            while time.time() < deadline:
                got = rx.payloads(since)
                if any(rid in e["payload"]["topologies"][0].get("delete_ids", []) for e in got):
                    lat.append((time.time() - t0) * 1000)
                    break
                time.sleep(0.005)
            time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(10)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    print("2  PutRecords -> receiver ack, running consumer, 50 ms poll, %d samples" % len(lat))
    print("   p50 %.0f ms, p99 %.0f ms, min %.0f ms (reference: the poll interval alone averages 25 ms)"
          % (statistics.median(lat) if lat else float("nan"), p99, lat[0] if lat else float("nan")))


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
    finally:
        kinesis.stop()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
