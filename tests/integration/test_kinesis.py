"""test_kinesis.py -- topology updates through Kinesis: `events process
--kinesis-stream` (the producer) and `events consume` (the publisher).

kinesalite (npm, a real Kinesis implementation; tools/setup.sh installs it in
tools/node) runs on loopback; the recording StackState receiver
(tests/fake/fake_receiver.py) takes what the consumer sends; botocore
(python3-botocore) plays other writers and reshards the stream. Checked:

  a  process -> stream -> consume -> receiver: every update arrives, as
     incremental payloads (no snapshot flags); a checkpoint per shard; a
     second consume delivers nothing again
  b  the record format (docs/kinesis.md): partition key = externalId, the
     documented fields; a record awstopo does not know is reported and skipped
  c  SplitShard and MergeShards mid-stream: parents are drained before their
     children, so the newest update of every resource is the one that stays
  d  kill -9 of the consumer in the middle of a batch, then a restart:
     nothing is lost
  e  receiver down: nothing is checkpointed (exit 1); back up: all delivered
  f  the producer against the fake AWS endpoint: batches of at most 500
     records, only the records a response lists as failed are sent again,
     throttling is backed off and nothing is lost
  g  the consumer against the fake AWS endpoint: an expired iterator is
     renewed from the checkpoint and the record still delivered

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import botocore.session                                   # noqa: E402

import fakes                                              # noqa: E402
import checklib  # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
API_KEY = "awstopo-kinesis-api-key-0b5e"

check = checklib.NamedChecks()
WORK = tempfile.mkdtemp(prefix="awstopo-kinesis-test-")


def kinesis_client(url):
    s = botocore.session.get_session()
    return s.create_client("kinesis", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="AKIDKINESALITE", aws_secret_access_key="kinesalite-secret")


def make_stream(kc, name, shards=2):
    kc.create_stream(StreamName=name, ShardCount=shards)
    for _ in range(50):
        if kc.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)


def wait_active(kc, name):
    for _ in range(100):
        if kc.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)


def env_for(kinesis, **extra):
    env = dict(os.environ, AWS_ENDPOINT_URL_KINESIS=kinesis.url, AWS_ACCESS_KEY_ID="AKIDKINESALITE",
               AWS_SECRET_ACCESS_KEY="kinesalite-secret", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWSTOPO_API_KEY=API_KEY, AWSTOPO_RETRY_BASE_MS="5", HOME=WORK)
    env.pop("AWSTOPO_CONFIG", None)
    env.update(extra)
    return env


def queue_arn(i):
    return "arn:aws:sqs:us-east-1:%s:q%d" % (ACCOUNT, i)


def delete_events(ids, time_="2024-01-01T00:00:00Z"):
    ev = []
    for i in ids:
        ev.append(json.dumps({"eventSource": "sqs.amazonaws.com", "eventName": "DeleteQueue", "awsRegion": "us-east-1",
                              "recipientAccountId": ACCOUNT, "eventTime": time_,
                              "requestParameters": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/%s/q%d"
                                                    % (ACCOUNT, i)}}))
    return "\n".join(ev).encode()


def process(kinesis, stream, data, **env):
    return subprocess.run([BIN, "events", "process", "--account-id", ACCOUNT, "--kinesis-stream", stream, "-"],
                          input=data, env=env_for(kinesis, **env), capture_output=True, timeout=120)


def consume_args(stream, rx, cp, *more):
    return [BIN, "events", "consume", "--kinesis-stream", stream, "--checkpoint-dir", cp, "--stackstate-url", rx.url,
            "--spool", cp + ".spool", "--poll-ms", "50"] + list(more)


def consume(kinesis, stream, rx, cp, *more):
    return subprocess.run(consume_args(stream, rx, cp, "--once", *more), env=env_for(kinesis), capture_output=True,
                          timeout=120)


def received(rx, since=0):
    """[(kind, id, item)] in the order the receiver accepted them."""
    out = []
    for entry in rx.payloads(since):
        topo = entry["payload"]["topologies"][0]
        out += [("component", c["externalId"], c) for c in topo.get("components", [])]
        out += [("relation", r["externalId"], r) for r in topo.get("relations", [])]
        out += [("delete", d, None) for d in topo.get("delete_ids", [])]
    return out


def last_seq(rx):
    entries = rx.payloads()
    return entries[-1]["seq"] if entries else 0


def record(kind, id_, version):
    r = {"awstopo": 1, "instance": "aws", "kind": kind, "id": id_, "time": 0}
    if kind != "delete":
        r["item"] = {"externalId": id_, "type": {"name": "test.thing"}, "data": {"version": version}}
    return json.dumps(r).encode()


def put(kc, stream, records):
    for i in range(0, len(records), 500):
        chunk = records[i:i + 500]
        resp = kc.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": k} for k, d in chunk])
        assert resp["FailedRecordCount"] == 0


# --- a, b ---------------------------------------------------------------------------------

def test_roundtrip(kinesis, kc, rx):
    make_stream(kc, "topo-a", 3)
    p = process(kinesis, "topo-a", delete_events(range(40)))
    check("a events process publishes to the stream", p.returncode == 0 and
          "40 records written to topo-a" in p.stderr.decode(), p.stderr.decode())
    cp = os.path.join(WORK, "cp-a")
    since = last_seq(rx)
    c = consume(kinesis, "topo-a", rx, cp)
    got = received(rx, since)
    check("a consume --once delivers every update to StackState", c.returncode == 0 and
          sorted(i for k, i, _ in got if k == "delete") == sorted(queue_arn(i) for i in range(40)),
          (c.returncode, c.stderr.decode(), len(got)))
    flags = [(e["payload"]["topologies"][0]["start_snapshot"], e["payload"]["topologies"][0]["stop_snapshot"])
             for e in rx.payloads(since)]
    check("a incremental payloads: no start or stop snapshot", flags and all(f == (False, False) for f in flags), flags)
    check("a one checkpoint per shard", sorted(os.listdir(cp)) == sorted(
        s["ShardId"] for s in kc.list_shards(StreamName="topo-a")["Shards"]), os.listdir(cp))
    since = last_seq(rx)
    c = consume(kinesis, "topo-a", rx, cp)
    check("a a second consume delivers nothing again", c.returncode == 0 and received(rx, since) == [],
          c.stderr.decode())

    # b: the records as written
    shard = kc.list_shards(StreamName="topo-a")["Shards"][0]["ShardId"]
    it = kc.get_shard_iterator(StreamName="topo-a", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    recs = kc.get_records(ShardIterator=it)["Records"]
    doc = json.loads(recs[0]["Data"]) if recs else {}
    check("b record format 1: partition key = externalId, documented fields",
          recs and recs[0]["PartitionKey"] == doc.get("id") and doc.get("awstopo") == 1 and doc.get("kind") == "delete"
          and doc.get("instance") == "aws" and isinstance(doc.get("time"), int), recs[:1])
    put(kc, "topo-a", [("junk", b"not json at all"), ("q", record("component", "urn:test:b1", "b"))])
    since = last_seq(rx)
    c = consume(kinesis, "topo-a", rx, cp)
    check("b a record awstopo does not know is reported and skipped; the others go",
          c.returncode == 1 and "not JSON (skipped)" in c.stderr.decode()
          and [i for _, i, _ in received(rx, since)] == ["urn:test:b1"], (c.returncode, c.stderr.decode()))


# --- c: resharding ------------------------------------------------------------------------------

def final_state(events):
    state = {}
    for kind, id_, item in events:
        state[id_] = ("delete", None) if kind == "delete" else ("component", item["data"]["version"])
    return state


def test_reshard(kinesis, kc, rx):
    stream = "topo-c"
    make_stream(kc, stream, 2)
    ids = ["urn:test:r%d" % i for i in range(60)]
    cp = os.path.join(WORK, "cp-c")
    since = last_seq(rx)
    put(kc, stream, [(i, record("component", i, "A")) for i in ids])
    c1 = consume(kinesis, stream, rx, cp)                                  # part of it read, checkpointed
    shards = kc.list_shards(StreamName=stream)["Shards"]
    first = shards[0]
    lo, hi = int(first["HashKeyRange"]["StartingHashKey"]), int(first["HashKeyRange"]["EndingHashKey"])
    put(kc, stream, [(i, record("component", i, "B")) for i in ids])       # in the parent, not yet read
    kc.split_shard(StreamName=stream, ShardToSplit=first["ShardId"], NewStartingHashKey=str((lo + hi) // 2))
    wait_active(kc, stream)
    put(kc, stream, [(i, record("component", i, "C")) for i in ids])       # in the children
    open_shards = [s for s in kc.list_shards(StreamName=stream)["Shards"]
                   if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    open_shards.sort(key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    kc.merge_shards(StreamName=stream, ShardToMerge=open_shards[0]["ShardId"],
                    AdjacentShardToMerge=open_shards[1]["ShardId"])
    wait_active(kc, stream)
    put(kc, stream, [(i, record("delete", i, None)) for i in ids[::2]] +  # in the merged shard
             [(i, record("component", i, "D")) for i in ids[1::2]])
    c2 = consume(kinesis, stream, rx, cp)
    got = received(rx, since)
    state = final_state(got)
    want = {i: ("delete", None) if n % 2 == 0 else ("component", "D") for n, i in enumerate(ids)}
    check("c SplitShard and MergeShards mid-stream: the newest update of every resource stays",
          c1.returncode == 0 and c2.returncode == 0 and state == want,
          (c2.stderr.decode(), [(k, v, want[k]) for k, v in state.items() if want.get(k) != v][:5]))
    check("c every closed shard was read to its end",
          all(open(os.path.join(cp, s["ShardId"])).read().strip() == "SHARD_END"
              for s in kc.list_shards(StreamName=stream)["Shards"]
              if "EndingSequenceNumber" in s["SequenceNumberRange"]), os.listdir(cp))
    # per id, the versions arrive in order A, B, C/D: never an older one after a newer
    order = {"A": 0, "B": 1, "C": 2, "D": 3, None: 3}
    seen, backwards = {}, []
    for kind, id_, item in got:
        v = order[item["data"]["version"]] if item else 3
        if v < seen.get(id_, -1):
            backwards.append(id_)
        seen[id_] = v
    check("c parents before children: no update arrives after a newer one of the same resource", not backwards,
          backwards[:5])


# --- d: kill -9 -----------------------------------------------------------------------------------

def test_kill(kinesis, kc, rx):
    stream = "topo-d"
    make_stream(kc, stream, 2)
    ids = ["urn:test:k%d" % i for i in range(3000)]
    put(kc, stream, [(i, record("component", i, "K")) for i in ids])
    cp = os.path.join(WORK, "cp-d")
    since = last_seq(rx)
    rx.control(delay_ms=400)
    proc = subprocess.Popen(consume_args(stream, rx, cp, "--once"),       # small batches: GetRecords Limit 200
                            env=env_for(kinesis, AWSTOPO_KINESIS_LIMIT="200"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and last_seq(rx) < since + 2:
        time.sleep(0.05)
    time.sleep(0.2)                                    # inside a delivery
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rx.control(delay_ms=0)
    before = len({i for _, i, _ in received(rx, since)})
    c = consume(kinesis, stream, rx, cp)
    after = {i for _, i, _ in received(rx, since)}
    check("d kill -9 mid-batch, then a restart: nothing is lost",
          0 < before < len(ids) and c.returncode == 0 and after == set(ids),
          (before, len(after), c.stderr.decode()))


# --- e: receiver down ------------------------------------------------------------------------------

def test_receiver_down(kinesis, kc, rx):
    stream = "topo-e"
    make_stream(kc, stream, 1)
    cp = os.path.join(WORK, "cp-e")
    ids = ["urn:test:e%d" % i for i in range(10)]
    put(kc, stream, [(i, record("component", i, "E")) for i in ids])
    since = last_seq(rx)
    rx.control(down=True)
    c = consume(kinesis, stream, rx, cp)
    check("e receiver down: exit 1, nothing checkpointed", c.returncode == 1 and not os.listdir(cp),
          (c.returncode, c.stderr.decode(), os.listdir(cp) if os.path.isdir(cp) else None))
    c = consume(kinesis, stream, rx, cp)
    check("e still down: the spool does not pile up", c.returncode == 1 and
          len(os.listdir(cp + ".spool")) <= 3, os.listdir(cp + ".spool") if os.path.isdir(cp + ".spool") else None)
    rx.control(down=False)
    c = consume(kinesis, stream, rx, cp)
    # Only this stream's ids: a delivery of test d that the receiver was still holding
    # when its consumer was killed may be recorded after `since`.
    got = {i for _, i, _ in received(rx, since) if i.startswith("urn:test:e")}
    check("e back up: everything delivered, checkpointed",
          c.returncode == 0 and got == set(ids) and len(os.listdir(cp)) == 1,
          (c.returncode, c.stderr.decode(), sorted(got), os.listdir(cp)))


# --- f: the producer's limits and retries, against the fake AWS endpoint ---------------------------

def put_records_answer(n, failed):
    recs = []
    for i in range(n):
        if i in failed:
            recs.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"})
        else:
            recs.append({"SequenceNumber": str(1000 + i), "ShardId": "shardId-000000000000"})
    return {"FailedRecordCount": len(failed), "Records": recs}


def test_producer(rx):
    fixtures = os.path.join(WORK, "fake-kinesis")
    fakes.write_fixtures(fixtures, {
        "kinesis/PutRecords": [
            # the first request (500 records): 2 refused; the second (200): all taken; the third (the 2 again): taken
            {"times": 1, "json": put_records_answer(500, {7, 300})},
            {"times": 1, "json": put_records_answer(200, set())},
            {"json": put_records_answer(2, set())},
        ]})
    with fakes.start_fake_aws(fixtures) as aws:
        env = dict(os.environ, **aws.env())
        env.update(AWS_ENDPOINT_URL_KINESIS=aws.url, AWSTOPO_RETRY_BASE_MS="5", HOME=WORK)
        p = subprocess.run([BIN, "events", "process", "--account-id", ACCOUNT, "--kinesis-stream", "topo-f", "-"],
                           input=delete_events(range(700)), env=env, capture_output=True, timeout=120)
        sizes = [len(r["params"].get("Records", [])) for r in aws.requests() if r.get("operation") == "PutRecords"]
        check("f batches of at most 500 records; only the 2 refused ones sent again",
              p.returncode == 0 and sizes == [500, 200, 2] and "700 records written" in p.stderr.decode()
              and "2 sent again, 2 throttled" in p.stderr.decode(), (sizes, p.stderr.decode()))
        again = [r for r in aws.requests() if r.get("operation") == "PutRecords"][-1]["params"]["Records"]
        order = sorted(queue_arn(i) for i in range(700))    # the update is sent in externalId order
        check("f the records sent again are the refused ones",
              sorted(r["PartitionKey"] for r in again) == sorted([order[7], order[300]]), again)

        aws.control(reset_stats=True, reset_fixtures=True, fail=["kinesis.PutRecords:4:throttle"])
        fakes.write_fixtures(fixtures, {"kinesis/PutRecords": [{"json": put_records_answer(3, set())}]})
        p = subprocess.run([BIN, "events", "process", "--account-id", ACCOUNT, "--kinesis-stream", "topo-f", "-"],
                           input=delete_events(range(3)), env=env, capture_output=True, timeout=120)
        check("f throttled calls are backed off and retried until written", p.returncode == 0 and
              "3 records written" in p.stderr.decode() and aws.stats()["faults"].get("throttle") == 4,
              (p.returncode, p.stderr.decode(), aws.stats()))

        aws.control(reset_stats=True, fail=["kinesis.PutRecords:100:throttle"])
        p = subprocess.run([BIN, "events", "process", "--account-id", ACCOUNT, "--kinesis-stream", "topo-f", "-"],
                           input=delete_events(range(3)), env=env, capture_output=True, timeout=120)
        check("f a stream that never takes them: exit 2, the error says how many were not written",
              p.returncode == 2 and "3 of 3 records not written to stream topo-f" in p.stderr.decode(),
              (p.returncode, p.stderr.decode()))


def test_expired_iterator(rx):
    import base64
    fixtures = os.path.join(WORK, "fake-kinesis-g")
    data = base64.b64encode(record("component", "urn:test:g1", "G")).decode()
    fakes.write_fixtures(fixtures, {
        "kinesis/ListShards": [{"json": {"Shards": [{"ShardId": "shardId-000000000000",
                                                     "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"},
                                                     "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]}}],
        "kinesis/GetShardIterator": [{"json": {"ShardIterator": "iterator-1"}}],
        "kinesis/GetRecords": [
            {"match": {"ShardIterator": "iterator-1"},
             "json": {"Records": [{"SequenceNumber": "100", "Data": data, "PartitionKey": "urn:test:g1"}],
                      "NextShardIterator": "iterator-2", "MillisBehindLatest": 0}},
            {"match": {"ShardIterator": "iterator-2"},
             "json": {"Records": [], "NextShardIterator": "iterator-2", "MillisBehindLatest": 0}}],
    })
    with fakes.start_fake_aws(fixtures, fail=["kinesis.GetRecords:1:status:400:ExpiredIteratorException"]) as aws:
        env = dict(os.environ, **aws.env())
        env.update(AWS_ENDPOINT_URL_KINESIS=aws.url, AWSTOPO_API_KEY=API_KEY, HOME=WORK)
        cp = os.path.join(WORK, "cp-g")
        since = last_seq(rx)
        c = subprocess.run(consume_args("topo-g", rx, cp, "--once"), env=env, capture_output=True, timeout=60)
        calls = [r["operation"] for r in aws.requests()]
        check("g an expired iterator is renewed and the record delivered",
              c.returncode == 0 and "1 iterators renewed" in c.stderr.decode()
              and calls.count("GetShardIterator") == 2 and [i for _, i, _ in received(rx, since)] == ["urn:test:g1"]
              and open(os.path.join(cp, "shardId-000000000000")).read().strip() == "100",
              (c.returncode, c.stderr.decode(), calls))


def main():
    try:
        kinesis = fakes.start_kinesalite()
    except RuntimeError as e:
        check("kinesalite starts", False, e)
        check.report()
        return 1
    kc = kinesis_client(kinesis.url)
    try:
        with fakes.start_receiver(api_key=API_KEY) as rx:
            for test in (test_roundtrip, test_reshard, test_kill, test_receiver_down):
                try:
                    test(kinesis, kc, rx)
                except Exception:
                    traceback.print_exc()
                    check(test.__name__, False, "raised")
            for test in (test_producer, test_expired_iterator):
                try:
                    test(rx)
                except Exception:
                    traceback.print_exc()
                    check(test.__name__, False, "raised")
    finally:
        kinesis.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
