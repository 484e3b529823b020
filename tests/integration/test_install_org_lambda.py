"""test_install_org_lambda.py -- `awstopo install --organization BASE_URL API_KEY ID`:
the Lambda install (full, or minimal with --topo-cron-only) in every account of an
AWS Organization as the service-managed StackSet stackstate-topo-install, against
the fake's organization (tests/fake/stacksets.py evaluates each instance's stack
in its account and region, and fails a function whose code it could not read).

Checks: a code bucket per region holding the package, readable by the
organization; the StackSet with the full template, the API key a NoEcho
parameter that nothing prints; an instance in every member account and region,
each stack with the full install's resources (the trail in the first region
only); a re-run updates in place (package already there); switching to the
minimal install; a failed instance is a clear error naming account, region and
reason; uninstall removes the instances, the StackSet and the buckets, and a
second uninstall succeeds; usage errors.
"""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
MGMT = "123456789012"
MEMBERS = ["111111111111", "210987654321", "222222222222", "333333333333", "444444444444"]
API_KEY = "sts-api-key-0123456789abcdef"
URL = "https://stackstate.example.com"
SET = "stackstate-topo-install"
BUCKETS = ["stackstate-topo-org-cfg-17-%s-%s" % (MGMT, r) for r in ("eu-west-1", "us-east-1")]
check = checklib.Checks()


def awstopo(aws, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    env.update(aws.env(), AWSTOPO_INSTALL_POLL_MS="10")
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=env)
    check(API_KEY not in p.stdout + p.stderr, "the API key is printed nowhere: %s" % " ".join(args))
    return p


def install(aws, package, *extra, config="cfg-17"):
    return awstopo(aws, "install", "--organization", "--package", package, *extra, URL, API_KEY, config)


def template_types(name):
    import json
    with open(os.path.join(REPO, "deploy", "cloudformation", name + ".json")) as f:
        return sorted(r["Type"] for r in json.load(f)["Resources"].values())


def main():
    tmp = tempfile.mkdtemp(prefix="awstopo-org-lambda-")
    package = os.path.join(tmp, "lambda.zip")
    with open(package, "wb") as f:
        f.write(b"PK\x05\x06" + b"\0" * 18)          # an empty zip: the fake does not run it
    full_types = template_types("stackstate-topo-stackset-full")
    no_trail = [t for t in full_types if t not in ("AWS::CloudTrail::Trail", "AWS::S3::BucketPolicy")]
    no_trail.remove("AWS::S3::Bucket")
    log = os.path.join(tmp, "fake.log")
    with fakes.start_fake_aws(None, account={"organization": True}, verbose=True, log=log) as aws:
        env = aws.env()
        kw = dict(region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=Config(retries={"max_attempts": 1}))
        cfn = botocore.session.get_session().create_client("cloudformation", **kw)

        p = install(aws, package, "--regions", "us-east-1,eu-west-1")
        print(p.stdout + p.stderr)
        check(p.returncode == 0, "full install --organization: %d %s" % (p.returncode, p.stderr))
        inv = aws.account()
        check(sorted(inv["buckets"]) == BUCKETS and all(n == 1 for n in inv["buckets"].values()),
              "a code bucket per region, holding the package: %s" % inv["buckets"])
        d = cfn.describe_stack_set(StackSetName=SET)["StackSet"]
        params = {x["ParameterKey"]: x["ParameterValue"] for x in d["Parameters"]}
        check(params.get("ApiKey") == "****" and params.get("StackStateUrl") == URL and
              params.get("CodeBucketPrefix") == "stackstate-topo-org-cfg-17-" + MGMT and
              params.get("TrailRegion") == "us-east-1" and params.get("CreateTrail") == "true",
              "parameters, the key NoEcho: %s" % params)
        check(API_KEY not in d["TemplateBody"], "the key is not in the template")
        check(d["PermissionModel"] == "SERVICE_MANAGED" and d["AutoDeployment"]["Enabled"] and
              {t["Key"]: t["Value"] for t in d["Tags"]}.get("stackstate:configuration-id") == "cfg-17",
              "service-managed, auto-deployment, tagged")
        want = sorted("%s %s %s" % (SET, a, r) for a in MEMBERS for r in ("us-east-1", "eu-west-1"))
        check(inv.get("stack_instances") == want, "an instance per member account and region: %s"
              % inv.get("stack_instances"))
        res = inv.get("instance_resources", {})
        check(all(res.get("%s %s us-east-1" % (SET, a)) == full_types for a in MEMBERS) and
              all(res.get("%s %s eu-west-1" % (SET, a)) == no_trail for a in MEMBERS),
              "each stack: the full install (%d resources; the trail in us-east-1 only)" % len(full_types))

        p = install(aws, package, "--regions", "us-east-1,eu-west-1")
        check(p.returncode == 0 and "already there" in p.stdout and "updating" in p.stdout and
              "every target OU and region" in p.stdout, "a re-run updates in place: %r %r" % (p.stdout, p.stderr))
        p = install(aws, package, "--topo-cron-only", "--regions", "us-east-1,eu-west-1")
        res = aws.account().get("instance_resources", {})
        check(p.returncode == 0 and set(map(tuple, res.values())) == {tuple(template_types(
            "stackstate-topo-stackset-minimal"))}, "--topo-cron-only switches every stack to the minimal install")

        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        print(p.stdout + p.stderr)
        inv = aws.account()
        check(p.returncode == 0 and "stack_sets" not in inv and not inv["buckets"] and not inv["parameters"],
              "uninstall: nothing left: %s %r" % (inv, p.stderr))
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        check(p.returncode == 0 and "not there" in p.stdout, "a second uninstall: %r %r" % (p.stdout, p.stderr))

        # a failed instance: named with account, region and reason; uninstall still cleans up
        aws.control(account={"organization": True, "fail_instances": ["333333333333/us-east-1"]})
        p = install(aws, package, "--ou", "ou-a1b2-prod0001")
        check(p.returncode == 2 and "333333333333/us-east-1: injected failure" in p.stderr,
              "a failed instance names account, region, reason: %r" % p.stderr)
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        inv = aws.account()
        check(p.returncode == 0 and "stack_sets" not in inv and not inv["buckets"],
              "uninstall after a failed install: %s %r" % (inv, p.stderr))

        # the function's code unreadable in a region (a bucket of that name elsewhere): CloudFormation's reason
        aws.control(account={"organization": True})
        s3 = botocore.session.get_session().create_client("s3", **kw)
        s3.create_bucket(Bucket=BUCKETS[0])                          # the eu-west-1 bucket, in us-east-1
        p = install(aws, package, "--regions", "eu-west-1")
        check(p.returncode == 2 and "333333333333/eu-west-1" in p.stderr and "PermanentRedirect" in p.stderr
              and "CronFunction" in p.stderr, "code in another region: %r" % p.stderr)
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        check(p.returncode == 0 and not aws.account()["buckets"], "uninstall: %r" % p.stderr)

        for args, expect in [
            (["install", "--organization", "--topo-cron-only", "cfg-17"], "--topo-cron-only is for the Lambda"),
            (["install", "--organization", "--topo-role-external-id", "x1", URL, "KEY", "cfg-17"],
             "not the Lambda install"),
            (["install", "--organization", "ftp://x", "KEY", "cfg-17"], "BASE_URL"),
            (["install", "--organization", URL, "", "cfg-17"], "API_KEY is empty"),
        ]:
            p = awstopo(aws, *args)
            check(p.returncode == 64 and expect in p.stderr, "%s: %d %r" % (args, p.returncode, p.stderr))
        p = awstopo(aws, "install", "--organization", "--package", package, URL, API_KEY, "c" * 40)
        check(p.returncode == 2 and "longer than S3's 63" in p.stderr, "a bucket name too long: %r" % p.stderr)
        check(aws.stats()["signature_failures"] == 0, "every request signed")
        import json
        check(API_KEY not in json.dumps(aws.requests()) and 'ParameterKey": "ApiKey"' in json.dumps(
            aws.requests()), "no key in the fake's request log")
    with open(log, errors="replace") as f:
        text = f.read()
    check("CreateStackSet" in text and API_KEY not in text, "no key in the fake's access log")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
