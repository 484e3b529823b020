"""test_metrics.py -- `awstopo metrics` against the fake's deterministic CloudWatch.

The components come from a topology file (as `scan --format json` writes it):
501 SQS queues, a Lambda function, an EC2 instance and an S3 bucket in one
account. The fake answers GetMetricData / ListMetrics with values that are a
pure function of the series and the time (tests/fake/cloudwatch.py), so every
value written can be checked exactly. Checks: 501 queries -> 2 calls (500 a
call, per region and period); NextToken pages merged; throttling retried;
a call that keeps failing fails only its batch (exit 1, the rest written);
a missing metric and one without datapoints; values round-trip exactly into
JSON, OpenMetrics (promtool check metrics) and intake; the budget; --estimate
calls nothing; ListMetrics pruning and its calls counted; StackState gets the
metrics as intake payloads.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import cloudwatch  # noqa: E402
import fakes  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
ACCOUNT = "123456789012"
REGION = "eu-west-1"
END = "2026-12-06T12:00:00Z"           # with the default delay (600 s): the window ends 11:50
WINDOW_END = 1796558400 - 600
check = checklib.Checks()


def component(ctype, arn, namespace, dims, region=REGION, identifiers=(), tags=None):
    return {"externalId": arn, "type": {"name": ctype},
            "data": {"CW": {"Namespace": namespace, "Dimensions": [{"Key": k, "Value": v} for k, v in dims]},
                     "Location": {"AwsAccount": ACCOUNT, "AwsRegion": region},
                     "identifiers": list(identifiers), "Tags": tags or {}}}


def queue(i):
    name = "q%03d" % i
    return component("aws.sqs.queue", "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name), "AWS/SQS",
                     [("QueueName", name)], tags={"team": "a" if i % 2 else "b"})


def topology(nqueues):
    comps = [queue(i) for i in range(nqueues)]
    comps.append(component("aws.lambda.function", "arn:aws:lambda:%s:%s:function:fn" % (REGION, ACCOUNT),
                           "AWS/Lambda", [("FunctionName", "fn")]))
    comps.append(component("aws.ec2.instance", "arn:aws:ec2:%s:%s:instance/i-0abc" % (REGION, ACCOUNT),
                           "AWS/EC2", [("InstanceId", "i-0abc")], identifiers=["urn:host:/i-0abc"]))
    comps.append(component("aws.s3.bucket", "arn:aws:s3:::logs", "AWS/S3", [("BucketName", "logs")],
                           region="us-east-1"))
    return {"components": comps, "relations": [], "delete_ids": []}


def run(args, env, timeout=120):
    return subprocess.run([BIN, "metrics"] + args, capture_output=True, text=True, env=env, timeout=timeout)


def dims_of(series):
    return [{"Name": k, "Value": v} for k, v in sorted(series["dimensions"].items())]


def expected_value(s, t):
    return cloudwatch.value(s["namespace"], s["metric"], dims_of(s), s["statistic"], t)


def exact_json(doc, what):
    bad = [s for s in doc["series"] for t, v in s["datapoints"] if v != expected_value(s, t)]
    check(not bad, "%s: every JSON value is exactly CloudWatch's (%d wrong)" % (what, len(bad)))


def parse_openmetrics(text):
    """{(name, component_id, statistic): (value, ts_ms)} from the exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        labels, _, sample = rest.rpartition("} ")
        fields = dict(kv.split("=", 1) for kv in labels.split('",') if "=" in kv)
        fields = {k: v.strip('"') for k, v in fields.items()}
        value, ts = sample.split()
        out[(name, fields["component_id"], fields["statistic"])] = (float(value), int(ts))
    return out


def check_outputs(tmp, env, base):
    prom, intake, js = (os.path.join(tmp, n) for n in ("m.prom", "m.intake.json", "m.json"))
    p = run(base + ["--output", js, "--output", prom, "--output", intake, "--format", "intake"], env)
    check(p.returncode == 0, "outputs: exit 0 (%d: %s)" % (p.returncode, p.stderr[-400:]))
    doc = json.load(open(js))
    exact_json(doc, "outputs")
    series = {(s["component"], s["metric"]): s for s in doc["series"]}
    # OpenMetrics: the newest datapoint of each series, milliseconds as seconds
    om = parse_openmetrics(open(prom).read())
    fn = series[("arn:aws:lambda:%s:%s:function:fn" % (REGION, ACCOUNT), "Duration")]
    t, v = fn["datapoints"][-1]
    got = om.get(("aws_lambda_duration_seconds", fn["component"], "Average"))
    check(got == (v * 1e-3, int(t * 1000)), "openmetrics: Lambda Duration in seconds, newest point (%r)" % (got,))
    q0 = series[("arn:aws:sqs:%s:%s:q000" % (REGION, ACCOUNT), "ApproximateNumberOfMessagesVisible")]
    got = om.get(("aws_sqs_approximate_number_of_messages_visible", q0["component"], "Maximum"))
    check(got == (q0["datapoints"][-1][1], int(q0["datapoints"][-1][0] * 1000)), "openmetrics: SQS value exact")
    with_data = sum(1 for s in doc["series"] if s["datapoints"])
    check(len(om) == with_data, "openmetrics: one sample per series with data (%d, %d)" % (len(om), with_data))
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (tools/setup.sh: Debian package prometheus)")
    if promtool:
        lint = subprocess.run([promtool, "check", "metrics"], stdin=open(prom), capture_output=True, text=True)
        check(lint.returncode == 0, "promtool check metrics: %s" % (lint.stdout + lint.stderr)[:600])
    # intake: every datapoint, bound to its component
    payloads = json.load(open(intake))
    points = [m for p in payloads for m in p["metrics"]]
    check(len(points) == sum(len(s["datapoints"]) for s in doc["series"]), "intake: every datapoint")
    check(all(p["topologies"] == [] and p["health"] == [] for p in payloads), "intake: metrics-only payloads")
    bad = 0
    for name, ts, value, meta in points:
        tags = dict(t.split(":", 1) for t in meta["tags"])
        s = series[(tags["component_id"], [m for c, m in series if c == tags["component_id"]
                                           and name.endswith(cloudwatch_snake(m))][0])]
        bad += value != expected_value(s, ts) or meta["type"] != "gauge"
    check(bad == 0, "intake: values exact, type gauge (%d wrong)" % bad)
    ec2 = [m for m in points if m[0] == "aws.ec2.cpu_utilization"]
    check(ec2 and ec2[0][3]["hostname"] == "i-0abc", "intake: an EC2 series is reported for its host (urn:host)")
    sqs = [m for m in points if m[0] == "aws.sqs.approximate_number_of_messages_visible"]
    check(sqs and "component_type:aws.sqs.queue" in sqs[0][3]["tags"] and
          "QueueName:%s" % sqs[0][3]["tags"][0].split(":")[-1] in sqs[0][3]["tags"] and
          sqs[0][3]["hostname"].startswith("arn:aws:sqs:"), "intake: tags name the component, type, dimensions")
    return doc


def cloudwatch_snake(metric):
    import re
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", metric)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower().replace(".", "_")


def alarm(name, state, namespace, metric, dims, region=REGION, **extra):
    a = {"AlarmName": name, "AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (region, ACCOUNT, name),
         "StateValue": state, "StateReason": "Threshold crossed: %s" % name}
    if metric:
        a.update(Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dims])
    a.update(extra)
    return a


def check_alarms(aws, env, base, tmp):
    sqs = "arn:aws:sqs:%s:%s:" % (REGION, ACCOUNT)
    fn = "arn:aws:lambda:%s:%s:function:fn" % (REGION, ACCOUNT)
    metric = [
        alarm("q000-depth", "ALARM", "AWS/SQS", "ApproximateNumberOfMessagesVisible", [("QueueName", "q000")]),
        alarm("fn-errors", "OK", "AWS/Lambda", "Errors", [("FunctionName", "fn")]),
        alarm("cpu", "INSUFFICIENT_DATA", "AWS/EC2", "CPUUtilization", [("InstanceId", "i-0abc")]),
        alarm("bucket-size", "ALARM", "AWS/S3", "BucketSizeBytes",
              [("BucketName", "logs"), ("StorageType", "StandardStorage")], region="us-east-1"),
        alarm("math", "ALARM", None, None, None, Metrics=[
            {"Id": "a", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent",
                                                  "Dimensions": [{"Name": "QueueName", "Value": "q001"}]}}},
            {"Id": "b", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent",
                                                  "Dimensions": [{"Name": "QueueName", "Value": "q002"}]}}},
            {"Id": "e", "Expression": "a+b"}]),
        alarm("elsewhere", "ALARM", "AWS/SQS", "ApproximateNumberOfMessagesVisible", [("QueueName", "other")]),
    ] + [alarm("ok-%03d" % i, "OK", "AWS/SQS", "NumberOfMessagesSent", [("QueueName", "q%03d" % i)])
         for i in range(100, 200)]
    composite = [alarm("composite", "ALARM", None, None, None,
                       AlarmRule='ALARM("q000-depth") OR ALARM(fn-errors)')]
    aws.control(cloudwatch={"alarms": {"MetricAlarms": metric, "CompositeAlarms": composite}}, reset_stats=True,
                clear_rules=True)
    out = os.path.join(tmp, "alarms.json")
    p = run(base + ["--only-named", "--alarms", "--output", out], env)
    doc = json.load(open(out))
    states = {(h["name"], h["topologyElementIdentifier"]): h["health"] for h in doc["health"]}
    check(p.returncode == 0 and doc["health_complete"], "alarms: exit 0, complete (%d)" % p.returncode)
    check(states.get(("q000-depth", sqs + "q000")) == "CRITICAL", "alarms: ALARM -> CRITICAL on its queue")
    check(states.get(("fn-errors", fn)) == "CLEAR", "alarms: OK -> CLEAR on its function")
    check(states.get(("cpu", "arn:aws:ec2:%s:%s:instance/i-0abc" % (REGION, ACCOUNT))) == "DEVIATING",
          "alarms: INSUFFICIENT_DATA -> DEVIATING")
    check(states.get(("bucket-size", "arn:aws:s3:::logs")) == "CRITICAL",
          "alarms: an alarm with more dimensions (StorageType) finds its bucket, in the bucket's region")
    check(states.get(("math", sqs + "q001")) == "CRITICAL" and states.get(("math", sqs + "q002")) == "CRITICAL",
          "alarms: a metric math alarm goes to the components of its metrics")
    check(states.get(("composite", sqs + "q000")) == "CRITICAL" and states.get(("composite", fn)) == "CRITICAL",
          "alarms: a composite alarm goes to the components of the alarms its rule names")
    check(not any(n == "elsewhere" for n, _ in states) and doc["report"]["alarms_unmapped"] == 1,
          "alarms: one naming no component is counted, not sent")
    check(len(states) == 108 and doc["report"]["alarms"] == 107, "alarms: 107 alarms, 108 check states (%d, %d)"
          % (doc["report"]["alarms"], len(states)))
    calls = aws.stats()["requests"]["cloudwatch"]["DescribeAlarms"]
    check(calls == 3 and doc["report"]["describe_alarms_calls"] == 3,
          "alarms: paged (100 a page) per region: 2 + 1 calls (%d)" % calls)
    check("107 alarms in 3 DescribeAlarms calls" in p.stderr, "alarms: reported: " + p.stderr[-300:])
    p = run(base + ["--only-named", "--alarms", "--insufficient-data", "CLEAR", "--output", "-"], env)
    doc = json.loads(p.stdout)
    check([h["health"] for h in doc["health"] if h["name"] == "cpu"] == ["CLEAR"], "--insufficient-data CLEAR")

    # StackState: one health snapshot, closed only when every region answered
    with fakes.start_receiver() as rx:
        spool = os.path.join(tmp, "spool-alarms")
        args = base + ["--only-named", "--alarms", "--stackstate-url", rx.url, "--api-key", fakes.API_KEY,
                       "--spool", spool]
        p = run(args, env)
        health = [h for e in rx.payloads() for h in e["payload"]["health"]]
        check(p.returncode == 0 and health and "start_snapshot" in health[0] and "stop_snapshot" in health[-1],
              "StackState: the health snapshot starts and stops")
        check(all(h["consistency_model"] == "REPEAT_SNAPSHOTS" and
                  h["stream"]["urn"] == "urn:health:aws:cloudwatch-alarms" for h in health) and
              health[0]["start_snapshot"]["repeat_interval_s"] == 300 and
              health[0]["start_snapshot"]["expiry_interval_s"] == 600, "StackState: stream, repeat and expiry")
        check(sum(len(h["check_states"]) for h in health) == 108, "StackState: every check state")
        n = len(rx.payloads())
        aws.control(fail=["cloudwatch.DescribeAlarms:20:status:500:InternalFailure"])
        p = run(args, dict(env, AWS_MAX_ATTEMPTS="1"))
        health = [h for e in rx.payloads(n) for h in e["payload"]["health"]]
        check(p.returncode == 1 and health and not any("stop_snapshot" in h for h in health) and
              "not closed" in p.stderr, "StackState: DescribeAlarms failing: exit 1, no stop_snapshot (%s)"
              % p.stderr[-300:])
        aws.control(clear_rules=True)

    # the metrics user's policy names exactly what awstopo metrics calls
    aws.control(reset_stats=True, cloudwatch={"alarms": {"MetricAlarms": metric}, "series": [
        {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
         "Dimensions": [{"Name": "QueueName", "Value": "q000"}]}]})
    p = run(base + ["--alarms", "--prune", "--output", os.path.join(tmp, "all.json")], env)
    used = sorted("cloudwatch:" + op for op in aws.stats()["requests"].get("cloudwatch", {}))
    policy = json.load(open(os.path.join(REPO, "policies", "sts-metrics-user-policy.json")))
    allowed = sorted(a for s in policy["Statement"] for a in s["Action"])
    check(p.returncode == 0 and used == allowed, "policy: used %s, allowed %s" % (used, allowed))


def main():
    tmp = tempfile.mkdtemp(prefix="awstopo-metrics-")
    topo = os.path.join(tmp, "topology.json")
    with open(topo, "w") as f:
        json.dump(topology(501), f)
    base = ["--topology", topo, "--account-id", ACCOUNT, "--end", END]
    one = ["--metrics", "aws.sqs.queue=ApproximateNumberOfMessagesVisible", "--only-named"]

    with fakes.start_fake_aws(None, cloudwatch={"missing": ["NetworkIn"], "no_data": ["NetworkOut"]}) as aws:
        env = dict(os.environ, AWS_CLI_READ_TIMEOUT="5", AWSTOPO_RETRY_BASE_MS="1", **aws.env())

        # batching: 501 queries of one region and period -> 2 calls
        out = os.path.join(tmp, "one.json")
        p = run(base + one + ["--output", out], env)
        doc = json.load(open(out))
        calls = aws.stats()["requests"].get("cloudwatch", {}).get("GetMetricData")
        check(p.returncode == 0 and calls == 2, "501 queries -> 2 GetMetricData calls (%r, rc %d, %s)"
              % (calls, p.returncode, p.stderr[-300:]))
        check(doc["report"]["requested"] == 501 and doc["report"]["get_metric_data_calls"] == 2,
              "the report counts 501 metrics requested in 2 calls")
        check(len(doc["series"]) == 501 and all(len(s["datapoints"]) == 1 for s in doc["series"]),
              "every queue has its datapoint (interval 300 s = one period)")
        check(all(s["datapoints"][-1][0] == WINDOW_END - 300 for s in doc["series"]),
              "the window ends at the last whole period before --end minus the delay")
        exact_json(doc, "batching")
        check("requested in 2 GetMetricData calls" in p.stderr and "$0.0050 this run" in p.stderr,
              "the run reports metrics requested and their cost: " + p.stderr[-300:])

        # paging: 3 datapoints a page -> NextToken pages merged by query id
        aws.control(cloudwatch={"page_points": 3}, reset_stats=True)
        out = os.path.join(tmp, "paged.json")
        p = run(base + ["--metrics", "aws.sqs.queue=ApproximateNumberOfMessagesVisible", "--only-named",
                        "--tags", "team=a", "--interval", "900"], env)
        doc = json.loads(p.stdout)
        calls = aws.stats()["requests"]["cloudwatch"]["GetMetricData"]
        check(p.returncode == 0 and calls == 250, "paging: 250 queues x 3 points, 3 a page -> 250 calls (%d)"
              % calls)
        check(len(doc["series"]) == 250 and all(len(s["datapoints"]) == 3 and s["status"] == "Complete"
                                                for s in doc["series"]),
              "paging: every series whole, Complete after its last page (tag filter team=a: 250 queues)")
        check(doc["report"]["filtered_by_tags"] == 251 + 3, "the tag filter's leftovers are counted")
        exact_json(doc, "paging")
        aws.control(cloudwatch={"messages": [{"Code": "MaxQueryTimeRangeExceed", "Value": "cut short"}]})
        p = run(base + one, env)
        check(p.returncode == 0 and p.stderr.count("MaxQueryTimeRangeExceed: cut short") == 1,
              "what CloudWatch says about a call is warned about, once: " + p.stderr[-300:])

        # throttling: retried; a batch that keeps failing fails alone
        aws.control(cloudwatch={"missing": ["NetworkIn"], "no_data": ["NetworkOut"]}, reset_stats=True,
                    fail=["cloudwatch.GetMetricData:2:throttle"])
        p = run(base + one + ["--output", out], env)
        stats = aws.stats()
        check(p.returncode == 0 and stats["faults"].get("throttle") == 2 and
              stats["requests"]["cloudwatch"]["GetMetricData"] == 4, "throttled calls are retried (%r)" % stats)
        aws.control(reset_stats=True, clear_rules=True, fail=["cloudwatch.GetMetricData:50:status:500:InternalFailure"])
        envf = dict(env, AWS_MAX_ATTEMPTS="1")
        p = run(base + ["--metrics", "aws.lambda.function=Invocations", "--only-named"] + ["--output", out], envf)
        doc = json.load(open(out))
        check(p.returncode == 1 and doc["report"]["failed"] == 1 and doc["series"][0]["status"] == "Failed",
              "a failing call: exit 1, its metrics marked Failed (%d)" % p.returncode)
        check("failed" in p.stderr and "InternalFailure" in p.stderr, "the failure is reported: " + p.stderr[-300:])
        aws.control(clear_rules=True, reset_stats=True)

        # missing metric, no datapoints, and the outputs
        doc = check_outputs(tmp, env, base)
        ec2 = {s["metric"]: s for s in doc["series"] if s["type"] == "aws.ec2.instance"}
        check(ec2["NetworkIn"]["datapoints"] == [] and ec2["NetworkOut"]["datapoints"] == [] and
              ec2["CPUUtilization"]["datapoints"], "a missing metric and one without data come back empty")
        check(doc["report"]["no_data"] == 2, "series without data are counted (%d)" % doc["report"]["no_data"])
        check(not [s for s in doc["series"] if s["type"] == "aws.s3.bucket"] and doc["report"]["not_due"] == 2,
              "S3: a daily metric is not asked for again in the middle of its day")
        p = run(["--topology", os.path.join(tmp, "topology.json"), "--account-id", ACCOUNT,
                 "--end", "2026-12-06T00:12:00Z", "--only-named", "--metrics", "aws.s3.bucket=default",
                 "--output", "-"], env)
        s3 = json.loads(p.stdout)["series"]
        check(len(s3) == 2 and all(s["period"] == 86400 and s["region"] == "us-east-1" and
                                   "StorageType" in s["dimensions"] for s in s3),
              "S3: daily, asked for once its day closed, in the bucket's region, with its StorageType")
        check(all(len(s["datapoints"]) == 2 for s in s3), "S3: a daily metric gets two days")

        # budget: requests no more than it, says what it skipped
        aws.control(reset_stats=True)
        out = os.path.join(tmp, "budget.json")
        # in plan (externalId) order, each at 12 an hour (every 300 s), S3's at 1/24: 4 EC2 + 4 Lambda
        # (96) + 2 S3 (0.08) + 91 queue metrics (1092) = 1188.08; a 92nd would pass 1200
        p = run(base + ["--max-metrics-per-hour", "1200", "--output", out], env)
        doc = json.load(open(out))
        report = doc["report"]
        check(report["requested"] == 99 and len(doc["series"]) == 99 and report["per_hour"] == 1188,
              "budget: 99 metrics this run, 1188 an hour (%d)" % report["requested"])
        check(report["skipped_over_budget"] == report["planned"] - 101 and "skipped" in p.stderr and
              "budget of 1200 metrics per hour" in p.stderr and "aws.sqs.queue ApproximateNumberOfMessagesVisible: 455"
              in p.stderr, "budget: what is skipped is reported")
        check(aws.stats()["requests"]["cloudwatch"]["GetMetricData"] == 1, "budget: 99 metrics in one call")

        # estimate: no call at all
        aws.control(reset_stats=True)
        p = run(base + ["--estimate"], env)
        check(p.returncode == 0 and aws.stats()["total"] == 0, "--estimate calls nothing")
        five_min = 501 * 2 + 4 + 4            # every 300 s; S3's 2 daily ones once a day
        hourly = five_min * 12 + 2 / 24.0
        check("%d metrics this run" % five_min in p.stderr and "(2 of longer periods not due)" in p.stderr and
              "%d per hour" % hourly in p.stderr and "$%.4f per hour" % (hourly * 0.01 / 1000) in p.stderr,
              "--estimate: this run, per hour, price: " + p.stderr)
        p = run(base + ["--estimate", "--price-per-1000", "0.02", "--interval", "60"], env)
        check("$%.4f per hour" % (hourly * 0.02 / 1000) in p.stderr and "every 60 s" in p.stderr,
              "--estimate: a shorter interval than the period costs no more; the price: " + p.stderr)
        p = run(base + ["--estimate", "--interval", "3600"], env)
        check("%d per hour" % (five_min + 2 / 24.0) in p.stderr, "--estimate: hourly: " + p.stderr)

        # pruning: only listed series are requested; ListMetrics calls counted
        listed = [{"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                   "Dimensions": [{"Name": "QueueName", "Value": "q%03d" % i}]} for i in range(0, 501, 3)]
        aws.control(cloudwatch={"series": listed, "list_page": 50}, reset_stats=True)
        p = run(base + one + ["--prune"], env)
        doc = json.loads(p.stdout)
        lists = aws.stats()["requests"]["cloudwatch"]["ListMetrics"]
        check(doc["report"]["requested"] == 167 and doc["report"]["pruned"] == 334, "--prune: 167 of 501 requested")
        check(lists == 4 and doc["report"]["list_metrics_calls"] == 4 and "4 ListMetrics calls" in p.stderr,
              "--prune: ListMetrics pages counted (%d)" % lists)

        # StackState: the metrics as intake payloads
        aws.control(cloudwatch=True, reset_stats=True)
        with fakes.start_receiver() as rx:
            spool = os.path.join(tmp, "spool")
            p = run(base + one + ["--stackstate-url", rx.url, "--api-key", fakes.API_KEY, "--spool", spool], env)
            got = [e["payload"] for e in rx.payloads()]
            points = [m for g in got for m in g["metrics"]]
            check(p.returncode == 0 and len(points) == 501, "StackState got every datapoint (%d)" % len(points))
            check(fakes.API_KEY not in p.stderr + p.stdout, "the API key is never printed")

        # on demand: one component, its metrics, a window of its own
        aws.control(cloudwatch=True, reset_stats=True, clear_rules=True)
        fn = "arn:aws:lambda:%s:%s:function:fn" % (REGION, ACCOUNT)
        od = ["--topology", topo, "--account-id", ACCOUNT, "--component", fn,
              "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z", "--output", "-"]
        p = run(od, env)
        doc = json.loads(p.stdout)
        check(p.returncode == 0 and sorted(s["metric"] for s in doc["series"]) ==
              ["ConcurrentExecutions", "Duration", "Errors", "Invocations", "Throttles"],
              "on demand: every metric the component's type declares (%s)" % p.stderr[-200:])
        check(all(len(s["datapoints"]) == 12 and s["datapoints"][0][0] == 1796551200 for s in doc["series"]),
              "on demand: the window asked for, 12 periods")
        check(aws.stats()["requests"]["cloudwatch"]["GetMetricData"] == 1, "on demand: one call")
        exact_json(doc, "on demand")
        p = run(od + ["--metric", "Duration"], env)
        check([s["metric"] for s in json.loads(p.stdout)["series"]] == ["Duration"], "on demand: --metric")
        p = run(od[:4] + ["--component", "arn:aws:sqs:nowhere"], env)
        check(p.returncode == 2 and "no component arn:aws:sqs:nowhere" in p.stderr, "on demand: unknown component")

        check_alarms(aws, env, base, tmp)

    # two accounts of the config, one topology file: each account's components with its credentials
    with fakes.start_fake_aws(None, cloudwatch=True) as aws:
        env = dict(os.environ, AWS_CLI_READ_TIMEOUT="5", AWSTOPO_RETRY_BASE_MS="1", **aws.env())
        two = topology(3)
        other = json.loads(json.dumps(two["components"][:3]).replace(ACCOUNT, "210987654321"))
        two["components"] += other
        both = os.path.join(tmp, "two.json")
        with open(both, "w") as f:
            json.dump(two, f)
        conf2 = os.path.join(tmp, "two.conf")
        with open(conf2, "w") as f:
            f.write("[account a]\naccount_id = %s\n[account b]\naccount_id = 210987654321\n"
                    "[account c]\naccount_id = 333333333333\n" % ACCOUNT)
        p = run(["--config", conf2, "--topology", both, "--end", END, "--only-named",
                 "--metrics", "aws.sqs.queue=ApproximateNumberOfMessagesVisible", "--output", "-"], env)
        doc = json.loads(p.stdout)
        accounts = sorted({s["account"] for s in doc["series"]})
        check(p.returncode == 0 and accounts == ["123456789012", "210987654321"] and len(doc["series"]) == 6 and
              aws.stats()["requests"]["cloudwatch"]["GetMetricData"] == 2,
              "two accounts: each fetches its own components, one call each (%s)" % p.stderr[-200:])

    # the components of a live scan (the scan's fixtures), then their metrics
    fixtures = os.path.join(REPO, "tests", "integration", "fixtures-scan")
    with fakes.start_fake_aws(fixtures, cloudwatch=True) as aws:
        env = dict(os.environ, AWS_CLI_READ_TIMEOUT="5", AWSTOPO_RETRY_BASE_MS="1", **aws.env())
        p = run(["--services", "ec2,sqs", "--regions", "us-east-1", "--account-id", ACCOUNT, "--end", END,
                 "--output", "-"], env)
        doc = json.loads(p.stdout or "{}")
        types = sorted({s["type"] for s in doc.get("series", [])})
        stats = aws.stats()["requests"]
        check(p.returncode == 0 and types == ["aws.ec2.instance", "aws.sqs.queue"],
              "scan then metrics: series of the scanned instances and queues (%s; %s)" % (types, p.stderr[-300:]))
        check(stats.get("sqs", {}).get("ListQueues") and stats["cloudwatch"]["GetMetricData"] == 1,
              "scan then metrics: the scan's calls, then one GetMetricData (%r)" % stats)
        exact_json(doc, "scan")
        queues = [s for s in doc["series"] if s["type"] == "aws.sqs.queue"]
        check(any(s["component"] == "arn:aws:sqs:us-east-1:123456789012:orders" for s in queues),
              "scan then metrics: the orders queue has its series")

    # the [metrics] section of the config
    conf = os.path.join(tmp, "awstopo.conf")
    with open(conf, "w") as f:
        f.write("[metrics]\ninterval = 60\ntypes = none\naws.sqs.queue = NumberOfMessagesSent, "
                "ApproximateNumberOfMessagesVisible\nmax_metrics_per_hour = 6000\n")
    p = run(["--config", conf, "--topology", topo, "--estimate", "--end", END], os.environ)
    check(p.returncode == 0 and "500 metrics this run" in p.stderr and "6000 per hour every 60 s" in p.stderr and
          "502 metrics skipped" in p.stderr, "config: types, metrics, interval and budget: " + p.stderr[-300:])
    p = run(["--config", conf, "--topology", topo, "--estimate", "--end", END, "--interval", "300",
             "--max-metrics-per-hour", "100000", "--metrics", "aws.lambda.function=all"], os.environ)
    check(p.returncode == 0 and "1007 metrics this run" in p.stderr and "skipped" not in p.stderr,
          "flags add to the config's choice and win over its budget: " + p.stderr[-200:])
    with open(conf, "a") as f:
        f.write("colour = blue\n")
    p = run(["--config", conf, "--topology", topo, "--estimate"], os.environ)
    check(p.returncode == 64 and "unknown key 'colour'" in p.stderr, "config: an unknown [metrics] key is named")
    c = subprocess.run([BIN, "config", "check", conf], capture_output=True, text=True, timeout=30)
    check(c.returncode == 2 and "metrics: unknown key 'colour'" in c.stdout, "config check explains [metrics] keys")

    # usage errors
    p = run(["--metrics", "aws.ec2.instance=Nope", "--topology", topo, "--estimate"], os.environ)
    check(p.returncode == 2 and "has no metric Nope" in p.stderr and "CPUUtilization" in p.stderr,
          "an unknown metric is named, with the declared ones")
    p = run(["--metrics", "aws.nope.thing=all", "--topology", topo, "--estimate"], os.environ)
    check(p.returncode == 2 and "declares no metrics" in p.stderr, "an unknown type is named")
    p = run(["--format", "xml"], os.environ)
    check(p.returncode == 64, "a bad --format is a usage error")
    shutil.rmtree(tmp, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
