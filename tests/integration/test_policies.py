"""test_policies.py -- the scan's IAM policy matches the mappings and is read-only.

policies/sts-topo-cron-policy.json is generated from the mappings' `calls`,
policies/sts-metrics-user-policy.json from the calls of core/metrics.lua and
core/alarms.lua (tools/gen-policies.py); test_metrics.py checks that what
awstopo metrics really calls is in it. Checks: it is up to date; every action is
"service:Action"; nothing in it can change an account (the scanning role
must be read-only).
"""
import json
import os
import re
import subprocess
import sys
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLICY = os.path.join(REPO, "policies", "sts-topo-cron-policy.json")
READ = re.compile(r"^[a-z0-9-]+:(Describe|List|Get)[A-Za-z0-9]*$|^apigateway:GET$")
check = checklib.Checks()


def main():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen-policies.py"), "--check"],
                       capture_output=True, text=True, env=dict(os.environ))
    check(r.returncode == 0, "the committed policy is up to date: %s%s" % (r.stdout, r.stderr))
    policy = json.load(open(POLICY))
    check(policy.get("Version") == "2012-10-17", "policy language version")
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    check(len(actions) == len(set(actions)), "no action twice")
    for a in actions:
        check(READ.match(a) is not None, "read-only action: %s" % a)
    check("s3:ListAllMyBuckets" in actions and "ec2:DescribeInstances" in actions, "known actions present")

    # the metrics user: exactly the CloudWatch operations awstopo metrics calls
    metrics = json.load(open(os.path.join(REPO, "policies", "sts-metrics-user-policy.json")))
    got = sorted(a for s in metrics["Statement"] for a in s["Action"])
    check(got == ["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
          "metrics user policy: exactly GetMetricData, ListMetrics, DescribeAlarms (%s)" % got)
    check(all(READ.match(a) for a in got), "metrics user policy is read-only")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
