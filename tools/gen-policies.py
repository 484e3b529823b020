#!/usr/bin/env python3
"""gen-policies.py -- IAM policies from what the mappings declare they call.

Every mapping lists the API operations it may call (`calls`); the engine
refuses any other. So the permissions a scan needs are exactly those lists,
turned into IAM actions. This writes:

  policies/sts-topo-cron-policy.json   the read-only policy of the scanning
                                       role (the product page's name for it)
  policies/sts-metrics-user-policy.json  the policy of the metrics user
                                       (`awstopo metrics`): the CloudWatch
                                       operations core/metrics.lua and
                                       core/alarms.lua call, nothing else

    python3 tools/gen-policies.py            write it
    python3 tools/gen-policies.py --check    exit 1 when the committed file is stale

It asks the built binary for the declarations (`awstopo mappings describe`),
so the mapping path rules are the engine's own.
"""
import argparse
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "policies", "sts-topo-cron-policy.json")
METRICS_OUT = os.path.join(REPO, "policies", "sts-metrics-user-policy.json")
METRICS_SOURCES = [os.path.join(REPO, "core", n) for n in ("metrics.lua", "alarms.lua")]
# P.call("cloudwatch", "Op", ...) or pcall(P.call, "cloudwatch", "Op", ...)
METRICS_CALL = re.compile(r'P\.call\s*[(,]\s*"([a-z0-9]+)"\s*,\s*"([A-Za-z0-9]+)"')

# Model name -> IAM service prefix, where they differ.
PREFIX = {
    "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing",
    "resourcegroupstaggingapi": "tag",
}

# Operations whose IAM action is not named after the operation.
ACTION = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
}

# Operations that need no permission.
FREE = {("sts", "GetCallerIdentity")}

# API Gateway authorizes by HTTP method on resource paths, not by operation:
# every Get* operation the mappings make is a GET.
APIGATEWAY_READ = "apigateway:GET"

# What the core itself calls for a scan (not declared by a mapping).
CORE_CALLS = [("ec2", "DescribeRegions")]   # --all-regions


def mapping_names(binary):
    out = subprocess.run([binary, "mappings", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def declared_calls(binary, name):
    out = subprocess.run([binary, "mappings", "describe", name], capture_output=True, text=True, check=True)
    decl = json.loads(out.stdout)
    calls = []
    for c in decl.get("calls", []):
        service, _, op = c.rpartition(":")
        calls.append((service or decl["service"], op))
    return calls


def action(service, op):
    if (service, op) in FREE:
        return None
    if service == "apigateway":
        if not op.startswith("Get"):
            raise SystemExit("gen-policies: apigateway %s is not a read; map it by hand" % op)
        return APIGATEWAY_READ
    return ACTION.get((service, op), "%s:%s" % (PREFIX.get(service, service), op))


def build(binary):
    actions, by_mapping = set(), {}
    for name in mapping_names(binary):
        calls = declared_calls(binary, name)
        by_mapping[name] = sorted({a for a in (action(s, o) for s, o in calls) if a})
        actions.update(by_mapping[name])
    actions.update(a for a in (action(s, o) for s, o in CORE_CALLS) if a)
    statements = [{
        "Sid": "AwstopoScanReadOnly",
        "Effect": "Allow",
        "Action": sorted(a for a in actions if not a.startswith("apigateway:")),
        "Resource": "*",
    }]
    if APIGATEWAY_READ in actions:
        statements.append({
            "Sid": "AwstopoScanApiGatewayRead",
            "Effect": "Allow",
            "Action": [APIGATEWAY_READ],
            "Resource": ["arn:aws:apigateway:*::/restapis", "arn:aws:apigateway:*::/restapis/*"],
        })
    return {"Version": "2012-10-17", "Statement": statements}, by_mapping


def metrics_calls():
    calls = set()
    for path in METRICS_SOURCES:
        calls.update(METRICS_CALL.findall(open(path).read()))
    return sorted(calls)


def build_metrics():
    actions = sorted({a for a in (action(s, o) for s, o in metrics_calls()) if a})
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AwstopoMetricsReadOnly",
        "Effect": "Allow",
        "Action": actions,
        "Resource": "*",          # CloudWatch does not scope these actions by resource
    }]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail when the committed policy is stale")
    ap.add_argument("--bin", default=os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo")))
    args = ap.parse_args(argv)
    policy, by_mapping = build(args.bin)
    text = json.dumps(policy, indent=2) + "\n"
    metrics_text = json.dumps(build_metrics(), indent=2) + "\n"
    if args.check:
        stale = 0
        for path, want in ((OUT, text), (METRICS_OUT, metrics_text)):
            current = open(path).read() if os.path.exists(path) else ""
            if current != want:
                print("gen-policies: %s is stale; run python3 tools/gen-policies.py" % os.path.relpath(path, REPO))
                stale = 1
            else:
                print("gen-policies: %s is up to date" % os.path.relpath(path, REPO))
        return stale
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    with open(METRICS_OUT, "w") as f:
        f.write(metrics_text)
    n = sum(len(s["Action"]) for s in policy["Statement"])
    print("gen-policies: wrote %s (%d actions from %d mappings)" % (os.path.relpath(OUT, REPO), n, len(by_mapping)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
