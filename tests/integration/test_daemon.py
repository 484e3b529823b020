"""test_daemon.py -- `awstopo run`, the daemon (docs/daemon.md).

One daemon runs against the fake AWS endpoint (tests/fake: the scan's
fixtures and its CloudWatch), kinesalite (the Kinesis stream) and the
recording StackState receiver, with short intervals from its config:

  a  a scan happens at the interval and is delivered as a complete snapshot
  b  /healthz: 200 and a JSON body while the scan and the consumer are fresh
  c  an update put on the stream arrives at the receiver (incremental)
  d  /metrics: the daemon's own counters and the components' CloudWatch
     series, accepted by `promtool check metrics`
  e  /v1/metrics for one component: fetched on demand, then from the cache;
     400 / 404 for bad queries
  f  the HTTP server's bounds: 405, 404, 431 for a huge request head, a
     silent client closed
  g  SIGHUP: a changed instance is used by the next scan; a bad config is
     refused and the old one kept
  h  receiver down: /healthz turns 503 with the reason, nothing is lost; back
     up: the update and the scans arrive, /healthz 200 again
  i  SIGTERM: exits 0, the consumer's checkpoint holds what was delivered (a
     new consumer delivers nothing again); the API key is in no log

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import botocore.session                                   # noqa: E402

import checklib                                           # noqa: E402
import fakes                                              # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
FIXTURES = os.path.join(ROOT, "tests", "integration", "fixtures-scan")
ACCOUNT = "123456789012"
QUEUE = "arn:aws:sqs:us-east-1:%s:orders" % ACCOUNT
API_KEY = "awstopo-daemon-api-key-5d1e"

check = checklib.NamedChecks(limit=2000)
WORK = tempfile.mkdtemp(prefix="awstopo-daemon-test-")


def wait_for(pred, timeout=20, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def get(port, path, timeout=20):
    """(status, body text)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def raw(port, data, timeout=10):
    """Sends bytes on a new connection; returns what came back before close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


class Daemon:
    def __init__(self, conf, env):
        self.log = os.path.join(WORK, "daemon.log")
        self.proc = subprocess.Popen([BIN, "run", "--config", conf], env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        m = wait_for(lambda: re.search(r"\(port (\d+)\)", self.text()), 30)
        if not m:
            raise RuntimeError("the daemon did not start: " + self.text()[-2000:])
        self.port = int(m.group(1))

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_conf(path, rx_url, instance, extra_daemon="", metrics_delay=600):
    with open(path, "w") as f:
        f.write("""[stackstate]
url = %s
api_key = ${DAEMON_TEST_API_KEY}
instance = %s
spool = %s/spool

[scan]
regions = us-east-1
services = ec2,vpc,sqs

[daemon]
listen = 127.0.0.1:0
scan_interval = 2
scan_jitter = 0
scan_max_age = 8
kinesis_stream = topo
poll_ms = 50
events_max_age = 10
metrics = on
state_dir = %s/state
checkpoint_dir = %s/checkpoints
stop_timeout = 20
%s
[metrics]
interval = 300
delay = %d
""" % (rx_url, instance, WORK, WORK, WORK, extra_daemon, metrics_delay))


def snapshots(rx, since=0):
    """[(instance url, start, stop, component ids)] of the scan payloads."""
    out = []
    for e in rx.payloads(since):
        for t in e["payload"].get("topologies", []):
            if t.get("start_snapshot"):
                out.append((t["instance"]["url"], t["start_snapshot"], t["stop_snapshot"],
                            [c["externalId"] for c in t.get("components", [])]))
    return out


def deletes(rx, since=0):
    out = []
    for e in rx.payloads(since):
        for t in e["payload"].get("topologies", []):
            if not t.get("start_snapshot"):
                out += t.get("delete_ids", [])
    return out


def last_seq(rx):
    entries = rx.payloads()
    return entries[-1]["seq"] if entries else 0


def put_delete(kc, ident):
    rec = {"awstopo": 1, "instance": "aws", "kind": "delete", "id": ident, "time": int(time.time() * 1000)}
    kc.put_records(StreamName="topo", Records=[{"Data": json.dumps(rec).encode(), "PartitionKey": ident}])


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def run_tests(aws, rx, kinesis, kc):
    conf = os.path.join(WORK, "awstopo.conf")
    # the metrics come shortly after the start: their next aligned time is now + ~8 s
    delay = (int(time.time()) + 8) % 300 or 300
    write_conf(conf, rx.url, "prod-aws", metrics_delay=delay)
    env = dict(os.environ, AWS_ENDPOINT_URL_KINESIS=kinesis.url, AWSTOPO_RETRY_BASE_MS="5", HOME=WORK,
               DAEMON_TEST_API_KEY=API_KEY, AWS_CLI_READ_TIMEOUT="5", **aws.env())
    env.pop("AWSTOPO_CONFIG", None)
    env.pop("AWSTOPO_API_KEY", None)
    d = Daemon(conf, env)
    try:
        one_daemon(d, conf, aws, rx, kinesis, kc)
    finally:
        d.stop()
        log = d.text()
        check("i the API key is in no log", API_KEY not in log and API_KEY not in open(
            os.path.join(WORK, "receiver.log"), errors="replace").read())
        check("no sanitizer report and no job killed in the daemon's log",
              not re.search(r"Sanitizer|runtime error|killed by signal", log), log[-3000:])


def one_daemon(d, conf, aws, rx, kinesis, kc):
    port = d.port
    # a
    snaps = wait_for(lambda: len(snapshots(rx)) >= 2 and snapshots(rx), 30)
    check("a scans at the interval, each delivered as a complete snapshot",
          snaps and all(s[0] == "prod-aws" and s[1] and s[2] for s in snaps) and QUEUE in snaps[0][3],
          (snaps, d.text()[-1500:]))
    # b: the scan counter moves when a scan's job ends, which is after the
    # receiver got its snapshot: ask until it has caught up
    def health():
        st, body = get(port, "/healthz")
        return (st, body) if json.loads(body)["scan"]["scans"] >= 2 else None
    st, body = wait_for(health, 10) or get(port, "/healthz")
    h = json.loads(body)
    check("b /healthz 200 with a JSON body while scan and consume are fresh",
          st == 200 and h["status"] == "ok" and h["reasons"] == [] and h["scan"]["scans"] >= 2 and
          h["events"]["stream"] == "topo" and h["events"]["last_round"], (st, body))
    # c
    since = last_seq(rx)
    t0 = time.monotonic()
    put_delete(kc, "arn:aws:sqs:us-east-1:%s:gone-1" % ACCOUNT)
    got = wait_for(lambda: deletes(rx, since), 20)
    check("c an update put on the stream arrives at the receiver (%.2f s)" % (time.monotonic() - t0),
          got == ["arn:aws:sqs:us-east-1:%s:gone-1" % ACCOUNT], (got, d.text()[-1500:]))
    # d
    have_series = wait_for(lambda: "aws_sqs_" in get(port, "/metrics")[1], 30, 0.5)
    st, text = get(port, "/metrics")
    rc, out = promtool(text)
    check("d /metrics passes promtool check metrics", st == 200 and rc == 0, (rc, out, text[:1000]))

    def value(name):
        m = re.search(r"^%s (\S+)$" % name, text, re.M)
        return float(m.group(1)) if m else None
    check("d the daemon's own counters", value("awstopo_scans_total") >= 2 and value("awstopo_api_calls_total") > 0 and
          value("awstopo_events_records_total") >= 1 and value("awstopo_events_updates_delivered_total") >= 1 and
          value("awstopo_spool_payloads") is not None and value("awstopo_scan_last_success_timestamp_seconds") > 0 and
          value("awstopo_events_lag_seconds") is not None and value("awstopo_api_throttles_total") == 0 and
          value("awstopo_api_retries_total") is not None and value("awstopo_metrics_fetches_total") >= 1,
          text[:3000])
    check("d the components' CloudWatch series, labelled component id, type, account, region",
          have_series and re.search(r'^aws_sqs_\w+\{component_id="%s",component_type="aws.sqs.queue",'
                                    r'account="%s",region="us-east-1"' % (re.escape(QUEUE), ACCOUNT), text, re.M),
          (text[-2000:], d.text()[-1500:]))
    # e
    before = aws.stats()["requests"].get("cloudwatch", {}).get("GetMetricData", 0)
    q = "/v1/metrics?component=%s&metric=NumberOfMessagesSent" % urllib.request.quote(QUEUE, safe="")
    st, body = get(port, q)
    doc = json.loads(body) if st == 200 else {}
    after = aws.stats()["requests"].get("cloudwatch", {}).get("GetMetricData", 0)
    check("e /v1/metrics fetches one component's series on demand",
          st == 200 and [(s["component"], s["metric"]) for s in doc["series"]] == [(QUEUE, "NumberOfMessagesSent")]
          and doc["series"][0]["datapoints"] and after == before + 1, (st, body[:1000], before, after))
    st2, body2 = get(port, q)
    again = aws.stats()["requests"].get("cloudwatch", {}).get("GetMetricData", 0)
    check("e asked again within the period: from the cache, no CloudWatch call", st2 == 200 and body2 == body and
          again == after, (st2, again, after))
    st, body = get(port, "/v1/metrics?component=arn%3Aaws%3Asqs%3Aus-east-1%3A1%3Anope")
    check("e an unknown component: 404 with the reason", st == 404 and "nope" in json.loads(body)["error"], body)
    st, body = get(port, "/v1/metrics?metric=x")
    check("e no component: 400", st == 400 and "component" in json.loads(body)["error"], body)
    st, body = get(port, q + "&from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z")
    check("e from after to: 400", st == 400, body)
    # f
    reply = raw(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    check("f POST: 405", reply.startswith(b"HTTP/1.1 405"), reply[:200])
    check("f an unknown path: 404", get(port, "/nothing")[0] == 404)
    reply = raw(port, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n")
    check("f a request head over 8 KiB: 431", reply.startswith(b"HTTP/1.1 431"), reply[:200])
    t0 = time.monotonic()
    reply = raw(port, b"GET /healthz HTTP/1.1\r\n", timeout=15)
    waited = time.monotonic() - t0
    check("f a client that never ends its request is closed after the timeout (%.1f s)" % waited,
          reply == b"" and 4 <= waited <= 15, (reply, waited))
    check("f still serving", get(port, "/healthz")[0] in (200, 503))
    # g
    since = last_seq(rx)
    write_conf(conf, rx.url, "changed-aws")
    d.proc.send_signal(signal.SIGHUP)
    got = wait_for(lambda: [s for s in snapshots(rx, since) if s[0] == "changed-aws"], 20)
    check("g SIGHUP: the next scan uses the reloaded instance", got and "reloaded" in d.text(), d.text()[-1500:])
    with open(conf, "a") as f:
        f.write("\n[daemon]\nscan_interval = soon\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the one in use" in d.text(), 10)
    since = last_seq(rx)
    got = wait_for(lambda: snapshots(rx, since), 20)
    check("g SIGHUP with a bad config: refused with the reason, the old one kept",
          "keeping the one in use" in d.text() and "scan_interval = 'soon'" in d.text() and
          d.proc.poll() is None and got and all(s[0] == "changed-aws" for s in got), (got, d.text()[-1500:]))
    write_conf(conf, rx.url, "changed-aws")
    d.proc.send_signal(signal.SIGHUP)
    # h
    rx_port = rx.port
    rx.stop()
    gone = "arn:aws:sqs:us-east-1:%s:gone-2" % ACCOUNT
    put_delete(kc, gone)
    st, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(get(port, "/healthz")), 30, 0.5) or (0, "")
    reasons = json.loads(body)["reasons"] if body else []
    check("h receiver down: /healthz 503 naming the stale scan", st == 503 and any("scan" in r for r in reasons),
          (st, body))
    st, text = get(port, "/metrics")
    spooled = re.search(r"^awstopo_spool_payloads (\S+)$", text, re.M)
    check("h the undelivered scans wait in the spool (awstopo_spool_payloads)", spooled and
          float(spooled.group(1)) >= 1, text[:1500])
    rx.start(rx_port)
    got = wait_for(lambda: gone in deletes(rx), 30)
    check("h receiver back: the update held back arrives", got, d.text()[-1500:])
    st = wait_for(lambda: get(port, "/healthz")[0] == 200, 30, 0.5)
    check("h receiver back: /healthz 200 again", st, get(port, "/healthz"))
    # i
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(40)
    except subprocess.TimeoutExpired:
        rc = None
    cp_dir = os.path.join(WORK, "checkpoints")
    cps = os.listdir(cp_dir) if os.path.isdir(cp_dir) else []
    check("i SIGTERM: exit 0 after finishing what runs", rc == 0 and "stopped" in d.text(), (rc, d.text()[-1500:]))
    check("i the consumer's checkpoint is on disk", len(cps) == 1 and open(os.path.join(cp_dir, cps[0])).read().strip(),
          cps)
    since = last_seq(rx)
    c = subprocess.run([BIN, "events", "consume", "--kinesis-stream", "topo", "--once", "--checkpoint-dir", cp_dir,
                        "--stackstate-url", rx.url, "--spool", os.path.join(WORK, "spool")],
                       env=dict(d_env(kinesis), AWSTOPO_API_KEY=API_KEY), capture_output=True, timeout=60)
    check("i a new consumer from that checkpoint delivers nothing again", c.returncode == 0 and
          deletes(rx, since) == [], (c.returncode, c.stderr.decode()[-500:], deletes(rx, since)))


def d_env(kinesis):
    env = dict(os.environ, AWS_ENDPOINT_URL_KINESIS=kinesis.url, AWS_ACCESS_KEY_ID="AKIDKINESALITE",
               AWS_SECRET_ACCESS_KEY="kinesalite-secret", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWSTOPO_RETRY_BASE_MS="5", HOME=WORK)
    env.pop("AWSTOPO_CONFIG", None)
    return env


def config_problems():
    """awstopo config check and awstopo run explain bad [daemon] keys."""
    conf = os.path.join(WORK, "bad.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nscan_interval = 0\nlisten = nowhere\nmetrics = maybe\ncolour = blue\n")
    p = subprocess.run([BIN, "config", "check", conf], capture_output=True, timeout=30)
    out = p.stdout.decode()
    check("config check explains each bad [daemon] key", p.returncode == 2 and all(
        k in out for k in ("scan_interval = '0'", "listen = 'nowhere'", "metrics = 'maybe'", "colour")), out)
    p = subprocess.run([BIN, "run", "--config", conf], capture_output=True, timeout=30, env=d_env_plain())
    check("run refuses to start on a bad config (exit 2)", p.returncode == 2 and b"scan_interval" in p.stderr,
          p.stderr[-500:])
    p = subprocess.run([BIN, "run"], capture_output=True, timeout=30, env=d_env_plain())
    check("run without --config: usage (64)", p.returncode == 64 and b"--config" in p.stderr, p.stderr)
    p = subprocess.run([BIN, "run", "--help"], capture_output=True, timeout=30)
    check("run --help names the endpoints", p.returncode == 0 and b"/healthz" in p.stdout and
          b"/v1/metrics" in p.stdout and b"SIGHUP" in p.stdout, p.stdout[:300])


def d_env_plain():
    env = dict(os.environ, HOME=WORK)
    env.pop("AWSTOPO_CONFIG", None)
    return env


def main():
    try:
        config_problems()
        aws = fakes.start_fake_aws(FIXTURES, cloudwatch=True)
        rx = fakes.start_receiver(api_key=API_KEY, log=os.path.join(WORK, "receiver.log"))
        kinesis = fakes.start_kinesalite(log=os.path.join(WORK, "kinesalite.log"))
        kc = botocore.session.get_session().create_client(
            "kinesis", region_name="us-east-1", endpoint_url=kinesis.url, aws_access_key_id="AKIDKINESALITE",
            aws_secret_access_key="kinesalite-secret")
        kc.create_stream(StreamName="topo", ShardCount=1)
        wait_for(lambda: kc.describe_stream_summary(StreamName="topo")["StreamDescriptionSummary"]["StreamStatus"]
                 == "ACTIVE", 10, 0.05)
        try:
            run_tests(aws, rx, kinesis, kc)
        finally:
            for f in (kinesis, rx, aws):
                f.stop()
    except Exception:
        traceback.print_exc()
        check("the test ran to its end", False)
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(check.report())


if __name__ == "__main__":
    main()
