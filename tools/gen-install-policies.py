#!/usr/bin/env python3
"""gen-install-policies.py -- the five IAM policies of the product page's install
and uninstall paths, and the two of the organization paths, from what those paths
really do.

For each path, `awstopo install` / `uninstall` runs against the fake AWS endpoint's
stateful install account (tests/fake/install_account.py); the operations it called
(the fake's /__stats, SigV4-checked requests) become IAM actions. CloudFormation then
creates, updates and deletes the stacks' resources with the caller's permissions (no
service role), so each path also needs, for every resource of the stacks it deploys,
the permissions of that resource type's create / update / delete handlers
(RESOURCE_ACTIONS: the handler permissions of the CloudFormation registry's resource
schemas, restricted to the properties the templates use). Install paths include what a
failed run's rollback deletes; uninstall paths only deletion.

  policies/StackStateIntegrationPolicyInstall.json          full install
  policies/StackStateIntegrationPolicyTopoCronInstall.json  --topo-cron-only
  policies/StackStateIntegrationPolicyTopoCronMinimal.json  --topo-cron-only with the
                                                            user's bucket and role
  policies/StackStateIntegrationPolicyUninstall.json        uninstall of a full install
  policies/StackStateIntegrationPolicyTopoCronUninstall.json  ... of a minimal install
  policies/StackStateIntegrationPolicyOrganizationInstall.json   install --organization (the
                                                            Lambda StackSet, full and minimal,
                                                            and the stackstate-topo-role one)
  policies/StackStateIntegrationPolicyOrganizationUninstall.json uninstall --organization

    python3 tools/gen-install-policies.py --binary ./awstopo           write them
    python3 tools/gen-install-policies.py --binary ./awstopo --check   exit 1 when stale

test_install_policies.py checks that a policy missing an action, or granting one that
no path uses, is caught.
"""
import argparse
import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402

TEMPLATES = os.path.join(REPO, "deploy", "cloudformation")
OUT = os.path.join(REPO, "policies")
URL = "https://stackstate.example.com"
KEY = "policy-generation-key"
ROLE = "arn:aws:iam::123456789012:role/mine"
FULL = ["cron", "kinesis", "cloudtrail", "cwevents", "publisher"]

# Operations whose IAM action is not named after the operation; operations that
# need no permission.
OP_ACTIONS = {
    ("s3", "HeadBucket"): ["s3:ListBucket"],
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "ListBuckets"): ["s3:ListAllMyBuckets"],
    ("s3", "PutObject"): ["s3:PutObject", "s3:PutObjectTagging"],    # with x-amz-tagging
    ("s3", "PutPublicAccessBlock"): ["s3:PutBucketPublicAccessBlock"],
    ("s3", "ListObjectVersions"): ["s3:ListBucketVersions"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject", "s3:DeleteObjectVersion"],   # versions too
}
FREE = {("sts", "GetCallerIdentity")}

# Resource type -> handler -> actions; "action|Property" only when a resource of
# the type sets Property. From the registry schemas' handler permissions.
RESOURCE_ACTIONS = {
    "AWS::CloudFormation::WaitConditionHandle": {"create": [], "update": [], "delete": []},
    "AWS::CloudTrail::Trail": {
        "create": ["cloudtrail:CreateTrail", "cloudtrail:StartLogging|IsLogging", "cloudtrail:AddTags|Tags",
                   "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"],
        "update": ["cloudtrail:UpdateTrail", "cloudtrail:StartLogging|IsLogging", "cloudtrail:StopLogging|IsLogging",
                   "cloudtrail:AddTags|Tags", "cloudtrail:RemoveTags|Tags", "cloudtrail:ListTags|Tags",
                   "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"],
        "delete": ["cloudtrail:DeleteTrail"],
    },
    "AWS::Events::Rule": {
        "create": ["events:PutRule", "events:PutTargets|Targets", "events:DescribeRule", "events:TagResource|Tags"],
        "update": ["events:PutRule", "events:PutTargets|Targets", "events:RemoveTargets|Targets",
                   "events:ListTargetsByRule|Targets", "events:DescribeRule", "events:TagResource|Tags",
                   "events:UntagResource|Tags"],
        "delete": ["events:DeleteRule", "events:RemoveTargets|Targets", "events:ListTargetsByRule|Targets",
                   "events:DescribeRule"],
    },
    "AWS::IAM::Role": {
        "create": ["iam:CreateRole", "iam:GetRole", "iam:TagRole|Tags", "iam:PutRolePolicy|Policies",
                   "iam:GetRolePolicy|Policies"],
        "update": ["iam:GetRole", "iam:UpdateRole|MaxSessionDuration", "iam:UpdateAssumeRolePolicy",
                   "iam:TagRole|Tags", "iam:UntagRole|Tags", "iam:PutRolePolicy|Policies",
                   "iam:DeleteRolePolicy|Policies", "iam:GetRolePolicy|Policies", "iam:ListRolePolicies|Policies"],
        "delete": ["iam:DeleteRole", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
                   "iam:DeleteRolePolicy|Policies"],
    },
    "AWS::Kinesis::Stream": {
        "create": ["kinesis:CreateStream", "kinesis:DescribeStreamSummary",
                   "kinesis:IncreaseStreamRetentionPeriod|RetentionPeriodHours",
                   "kinesis:StartStreamEncryption|StreamEncryption", "kinesis:AddTagsToStream|Tags",
                   "kinesis:ListTagsForStream"],
        "update": ["kinesis:DescribeStreamSummary", "kinesis:UpdateShardCount|ShardCount",
                   "kinesis:IncreaseStreamRetentionPeriod|RetentionPeriodHours",
                   "kinesis:DecreaseStreamRetentionPeriod|RetentionPeriodHours",
                   "kinesis:StartStreamEncryption|StreamEncryption", "kinesis:StopStreamEncryption|StreamEncryption",
                   "kinesis:AddTagsToStream|Tags", "kinesis:RemoveTagsFromStream|Tags", "kinesis:ListTagsForStream"],
        "delete": ["kinesis:DescribeStreamSummary", "kinesis:DeleteStream", "kinesis:RemoveTagsFromStream|Tags"],
    },
    "AWS::Lambda::EventInvokeConfig": {
        "create": ["lambda:PutFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig"],
        "update": ["lambda:UpdateFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig"],
        "delete": ["lambda:DeleteFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig"],
    },
    "AWS::Lambda::EventSourceMapping": {
        "create": ["lambda:CreateEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:TagResource|Tags"],
        "update": ["lambda:UpdateEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:TagResource|Tags",
                   "lambda:UntagResource|Tags", "lambda:ListTags|Tags"],
        "delete": ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"],
    },
    "AWS::Lambda::Function": {
        "create": ["lambda:CreateFunction", "lambda:GetFunction", "lambda:TagResource|Tags", "iam:PassRole|Role",
                   "s3:GetObject|Code", "s3:GetObjectVersion|Code"],
        "update": ["lambda:UpdateFunctionCode|Code", "lambda:UpdateFunctionConfiguration", "lambda:GetFunction",
                   "lambda:TagResource|Tags", "lambda:UntagResource|Tags", "lambda:ListTags|Tags",
                   "iam:PassRole|Role", "s3:GetObject|Code", "s3:GetObjectVersion|Code"],
        "delete": ["lambda:DeleteFunction", "lambda:GetFunction"],
    },
    "AWS::Lambda::Permission": {   # every change replaces it
        "create": ["lambda:AddPermission", "lambda:GetPolicy"],
        "update": ["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"],
        "delete": ["lambda:RemovePermission", "lambda:GetPolicy"],
    },
    "AWS::Logs::LogGroup": {
        "create": ["logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy|RetentionInDays",
                   "logs:TagResource|Tags"],
        "update": ["logs:DescribeLogGroups", "logs:PutRetentionPolicy|RetentionInDays",
                   "logs:DeleteRetentionPolicy|RetentionInDays", "logs:TagResource|Tags", "logs:UntagResource|Tags"],
        "delete": ["logs:DeleteLogGroup", "logs:DescribeLogGroups"],
    },
    "AWS::S3::Bucket": {
        "create": ["s3:CreateBucket", "s3:PutBucketTagging|Tags", "s3:PutEncryptionConfiguration|BucketEncryption",
                   "s3:PutBucketPublicAccessBlock|PublicAccessBlockConfiguration",
                   "s3:PutLifecycleConfiguration|LifecycleConfiguration"],
        "update": ["s3:PutBucketTagging|Tags", "s3:PutEncryptionConfiguration|BucketEncryption",
                   "s3:PutBucketPublicAccessBlock|PublicAccessBlockConfiguration",
                   "s3:PutLifecycleConfiguration|LifecycleConfiguration"],
        "delete": ["s3:DeleteBucket"],
    },
    "AWS::S3::BucketPolicy": {
        "create": ["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
        "update": ["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
        "delete": ["s3:DeleteBucketPolicy", "s3:GetBucketPolicy"],
    },
    "AWS::SecretsManager::Secret": {     # the StackSet templates' API key
        "create": ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                   "secretsmanager:TagResource|Tags"],
        "update": ["secretsmanager:UpdateSecret", "secretsmanager:DescribeSecret", "secretsmanager:TagResource|Tags",
                   "secretsmanager:UntagResource|Tags"],
        "delete": ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"],
    },
    "AWS::SQS::Queue": {
        "create": ["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListQueueTags",
                   "sqs:TagQueue|Tags"],
        "update": ["sqs:SetQueueAttributes", "sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:TagQueue|Tags",
                   "sqs:UntagQueue|Tags"],
        "delete": ["sqs:DeleteQueue", "sqs:GetQueueAttributes"],
    },
}


class GenError(Exception):
    pass


def template_resources(stack, user_role):
    """[(type, properties)] the stack deploys (the cron role only without a user role)."""
    with open(os.path.join(TEMPLATES, "stackstate-topo-%s.json" % stack)) as f:
        t = json.load(f)
    out = []
    for r in t["Resources"].values():
        if r.get("Condition") == "CreateRole" and user_role:
            continue
        out.append((r["Type"], r.get("Properties", {})))
    return out


def resource_actions(stacks, handlers, user_role):
    """The actions CloudFormation needs for the stacks' resources under these handlers."""
    actions = set()
    for stack in stacks:
        for rtype, props in template_resources(stack, user_role):
            if rtype not in RESOURCE_ACTIONS:
                raise GenError("%s: no handler permissions for %s in RESOURCE_ACTIONS" % (stack, rtype))
            for h in handlers:
                for a in RESOURCE_ACTIONS[rtype][h]:
                    action, _, prop = a.partition("|")
                    if not prop or prop in props:
                        actions.add(action)
    return actions


def called_actions(requests):
    """IAM actions of the operations in a /__stats "requests" map."""
    actions = set()
    for service, ops in requests.items():
        for op in ops:
            if (service, op) in FREE:
                continue
            actions.update(OP_ACTIONS.get((service, op), ["%s:%s" % (service, op)]))
    return actions


def run(binary, aws, args, expect_ok=True):
    import subprocess
    env = dict(os.environ, **aws.env(), AWSTOPO_INSTALL_POLL_MS="5")
    for k in ("AWS_PROFILE", "AWS_ROLE_ARN"):
        env.pop(k, None)
    r = subprocess.run([binary] + args, env=env, capture_output=True, text=True, timeout=300)
    if (r.returncode == 0) != expect_ok:
        raise GenError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout[-2000:], r.stderr))


def record(binary, package, runs, account):
    """Runs the (args, expect_ok, counted) steps on a fresh fake account; returns the
    operations of the counted steps."""
    counted = {}
    with fakes.start_fake_aws(None, account=account) as aws:
        for args, ok, count in runs:
            before = aws.stats()["requests"]
            if args[0] == "install" and "--topo-role-external-id" not in args:   # the role StackSet has no package
                args = [args[0], "--package", package] + args[1:]
            run(binary, aws, args, ok)
            if count:
                after = aws.stats()["requests"]
                for s, ops in after.items():
                    for op, n in ops.items():
                        if n > before.get(s, {}).get(op, 0):
                            counted.setdefault(s, set()).add(op)
    return counted


def install_runs(extra, fail_stack):
    """Install, again without changes, an update in place, and (another account) a
    failing install rolled back."""
    ok = [(["install"] + extra + [URL, KEY, "17"], True, True),
          (["install"] + extra + [URL, KEY, "17"], True, True),
          (["install"] + extra + [URL + "/receiver", KEY, "17"], True, True)]
    failing = [(["install"] + extra + [URL, KEY, "17"], False, True)]
    return [(ok, {}), (failing, {"fail": ["stackstate-topo-%s/Function" % fail_stack]})]


def paths():
    """name -> (runs per account, stacks, handlers, user role)."""
    minimal = ["--topo-cron-only"]
    org, role = ["install", "--organization"], ["--topo-role-external-id", "ext-1", "17"]
    mine = minimal + ["--topo-cron-bucket", "user-bucket", "--topo-cron-role", ROLE]
    return {
        "StackStateIntegrationPolicyInstall": (install_runs([], "publisher"), FULL, ("create", "update", "delete"), False),
        "StackStateIntegrationPolicyTopoCronInstall": (install_runs(minimal, "cron"), ["cron"],
                                                       ("create", "update", "delete"), False),
        "StackStateIntegrationPolicyTopoCronMinimal": (install_runs(mine, "cron"), ["cron"],
                                                       ("create", "update", "delete"), True),
        "StackStateIntegrationPolicyUninstall": (
            [([(["install", URL, KEY, "17"], True, False), (["uninstall", "17"], True, True),
               (["uninstall", "17"], True, True)], {})], FULL, ("delete",), False),
        "StackStateIntegrationPolicyTopoCronUninstall": (
            [([(["install"] + minimal + [URL, KEY, "17"], True, False), (["uninstall", "17"], True, True),
               (["uninstall", "17"], True, True)], {})], ["cron"], ("delete",), False),
        # the StackSets: service-managed, so CloudFormation deploys each account's stack with the
        # StackSets service-linked role there, not with the caller's permissions: no handler permissions
        "StackStateIntegrationPolicyOrganizationInstall": (
            [([(org + [URL, KEY, "17"], True, True), (org + [URL, KEY, "17"], True, True),
               (org + minimal + [URL, KEY, "17"], True, True), (org + role, True, True),
               (org + role, True, True)], {"organization": True}),
             ([(org + [URL, KEY, "17"], False, True)], {"organization": True, "fail_instances": ["111111111111"]})],
            [], (), False),
        "StackStateIntegrationPolicyOrganizationUninstall": (
            [([(org + [URL, KEY, "17"], True, False), (org + role, True, False),
               (["uninstall", "--organization", "17"], True, True),
               (["uninstall", "--organization", "17"], True, True)], {"organization": True})], [], (), False),
    }


def policy_document(called, resources):
    statements = [{"Sid": "AwstopoInstaller", "Effect": "Allow", "Action": sorted(called), "Resource": "*"}]
    if resources - called:      # IAM takes no statement without actions
        statements.append({"Sid": "CloudFormationResources", "Effect": "Allow", "Action": sorted(resources - called),
                           "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def verify(policy, called, resources):
    """(missing, unused): actions the path needs that the policy lacks, and actions
    it grants that nothing on the path uses."""
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    return sorted((called | resources) - granted), sorted(granted - called - resources)


def template_types():
    """{resource type: [templates]} of every template in deploy/cloudformation."""
    types = {}
    for name in sorted(os.listdir(TEMPLATES)):
        if name.endswith(".json"):
            with open(os.path.join(TEMPLATES, name)) as f:
                for r in json.load(f)["Resources"].values():
                    types.setdefault(r["Type"], []).append(name)
    return types


def uncovered(types):
    """The resource types (of template_types()) RESOURCE_ACTIONS lacks, with a template using each."""
    return ["%s (%s)" % (t, ", ".join(sorted(set(where)))) for t, where in sorted(types.items())
            if t not in RESOURCE_ACTIONS or set(RESOURCE_ACTIONS[t]) != {"create", "update", "delete"}]


def generate(binary, package):
    """name -> (policy, called actions, resource actions)."""
    missing = uncovered(template_types())
    if missing:
        raise GenError("no handler permissions in RESOURCE_ACTIONS for: %s" % "; ".join(missing))
    out = {}
    for name, (accounts, stacks, handlers, user_role) in paths().items():
        called = {}
        for runs, settings in accounts:
            account = dict(settings, roles=["mine"], buckets=["user-bucket"])
            for s, ops in record(binary, package, runs, account).items():
                called.setdefault(s, set()).update(ops)
        actions = called_actions(called)
        resources = resource_actions(stacks, handlers, user_role)
        out[name] = (policy_document(actions, resources), actions, resources)
    return out


def render(policy):
    return json.dumps(policy, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "awstopo"))
    ap.add_argument("--check", action="store_true", help="exit 1 when a committed policy is stale")
    ap.add_argument("--json", help="also write {name: {called, resources}} here (for the tests)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package = os.path.join(tmp, "package.zip")
        with open(package, "wb") as f:
            f.write(b"PK\x03\x04 policy generation package")
        try:
            result = generate(os.path.abspath(a.binary), package)
        except GenError as e:
            print("gen-install-policies: %s" % e, file=sys.stderr)
            return 2
    stale = []
    for name, (policy, _, _) in result.items():
        path = os.path.join(OUT, name + ".json")
        text = render(policy)
        if a.check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(name)
            except OSError:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
        size = len("".join(text.split()))
        print("%-48s %3d actions, %5d characters without whitespace (IAM's managed policy limit: 6144)"
              % (name + ".json", sum(len(s["Action"]) for s in policy["Statement"]), size))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({n: {"called": sorted(c), "resources": sorted(r)} for n, (_, c, r) in result.items()}, f)
    if stale:
        print("stale (run make policies): %s" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
