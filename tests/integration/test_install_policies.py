"""test_install_policies.py -- the five install/uninstall IAM policies and the two
of the organization paths (policies/StackStateIntegrationPolicy*.json) match what
their paths really call.

tools/gen-install-policies.py runs every path of `awstopo install` / `uninstall`
against the fake's install account and adds CloudFormation's handler permissions for
the resources those paths deploy. Here: the committed policies are what it generates
now (a new call, a new resource or a removed one makes them stale); each policy grants
every action its path needs and none that nothing on the path uses, and that check
catches a policy missing an action or granting an extra one; the minimal path with
the user's bucket and role cannot create either; every policy fits IAM's size limit.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
GEN = os.path.join(REPO, "tools", "gen-install-policies.py")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checklib  # noqa: E402
NAMES = ["StackStateIntegrationPolicyInstall", "StackStateIntegrationPolicyTopoCronInstall",
         "StackStateIntegrationPolicyTopoCronMinimal", "StackStateIntegrationPolicyUninstall",
         "StackStateIntegrationPolicyTopoCronUninstall", "StackStateIntegrationPolicyOrganizationInstall",
         "StackStateIntegrationPolicyOrganizationUninstall"]
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
check = checklib.Checks()



def load_gen():
    spec = importlib.util.spec_from_file_location("gen_install_policies", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    gen = load_gen()
    with tempfile.TemporaryDirectory() as tmp:
        sets = os.path.join(tmp, "sets.json")
        r = subprocess.run([sys.executable, GEN, "--binary", BIN, "--check", "--json", sets],
                           capture_output=True, text=True, timeout=900)
        check(r.returncode == 0, "the committed policies are up to date: %s%s" % (r.stdout, r.stderr))
        print(r.stdout, end="")
        with open(sets) as f:
            used = json.load(f)
    policies = {}
    for name in NAMES:
        with open(os.path.join(REPO, "policies", name + ".json")) as f:
            policies[name] = json.load(f)
    for name, policy in policies.items():
        called, resources = set(used[name]["called"]), set(used[name]["resources"])
        check(policy["Version"] == "2012-10-17", "%s: policy language version" % name)
        actions = [a for s in policy["Statement"] for a in s["Action"]]
        check(len(actions) == len(set(actions)), "%s: no action twice" % name)
        check(all(ACTION.match(a) for a in actions), "%s: every action is service:Action" % name)
        missing, unused = gen.verify(policy, called, resources)
        check(not missing and not unused, "%s: missing %s, unused %s" % (name, missing, unused))
        check(len("".join(json.dumps(policy).split())) <= 6144, "%s: within IAM's 6144 characters" % name)
        # the check itself: an action taken away, or one added, is reported
        first = policy["Statement"][0]["Action"][0]
        cut = json.loads(json.dumps(policy))
        cut["Statement"][0]["Action"].remove(first)
        check(gen.verify(cut, called, resources)[0] == [first], "%s: a missing %s is caught" % (name, first))
        extra = json.loads(json.dumps(policy))
        extra["Statement"][-1]["Action"].append("ec2:RunInstances")
        check(gen.verify(extra, called, resources)[1] == ["ec2:RunInstances"], "%s: an unused grant is caught" % name)
        check("cloudformation:CreateChangeSet" in called or "Uninstall" in name or "Organization" in name,
              "%s: change sets" % name)
        check(all(s["Action"] for s in policy["Statement"]), "%s: no statement without actions" % name)
    full = {a for s in policies["StackStateIntegrationPolicyInstall"]["Statement"] for a in s["Action"]}
    mine = {a for s in policies["StackStateIntegrationPolicyTopoCronMinimal"]["Statement"] for a in s["Action"]}
    check({"s3:CreateBucket", "iam:CreateRole", "kinesis:CreateStream", "cloudtrail:CreateTrail"} <= full,
          "the full install creates buckets, roles, the stream and the trail")
    check(not {"s3:CreateBucket", "iam:CreateRole", "s3:DeleteBucket", "iam:DeleteRole"} & mine,
          "the minimal path with the user's bucket and role neither creates nor deletes them")
    check("iam:PassRole" in mine, "... but passes the user's role to the function")
    uninstall = {a for s in policies["StackStateIntegrationPolicyUninstall"]["Statement"] for a in s["Action"]}
    check(not any(re.match(r"[a-z0-9-]+:(Create|Put|Update)", a) for a in uninstall),
          "uninstall creates and changes nothing: %s" % sorted(a for a in uninstall
                                                               if re.match(r"[a-z0-9-]+:(Create|Put|Update)", a)))
    check({"s3:ListBucketVersions", "s3:DeleteObjectVersion"} <= uninstall, "uninstall empties buckets of all versions")
    org = {a for s in policies["StackStateIntegrationPolicyOrganizationInstall"]["Statement"] for a in s["Action"]}
    check({"cloudformation:CreateStackSet", "s3:PutBucketPolicy", "organizations:DescribeOrganization"} <= org and
          not any(a.startswith(("lambda:", "iam:", "kinesis:")) for a in org),
          "the organization install: StackSets, the code buckets; the stacks' resources are the StackSets "
          "service's business: %s" % sorted(org))
    # every resource type of every template (the StackSet and role ones too) has its handler permissions
    types = gen.template_types()
    check(len(types) >= 13 and gen.uncovered(types) == [], "RESOURCE_ACTIONS covers the %d resource types of the "
          "templates: lacks %s" % (len(types), gen.uncovered(types)))
    check(gen.uncovered(dict(types, **{"AWS::SNS::Topic": ["x.json"]})) == ["AWS::SNS::Topic (x.json)"],
          "a template with a type the table lacks is caught")
    try:
        gen.resource_actions(["cron"], ("create",), False)
        saved = gen.RESOURCE_ACTIONS.pop("AWS::SQS::Queue")
        gen.resource_actions(["cron"], ("create",), False)
        check(False, "a resource type without handler permissions is an error")
    except gen.GenError as e:
        check("AWS::SQS::Queue" in str(e), "a resource type without handler permissions is an error")
        gen.RESOURCE_ACTIONS["AWS::SQS::Queue"] = saved
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
