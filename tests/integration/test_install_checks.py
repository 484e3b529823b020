"""test_install_checks.py -- what `awstopo install` looks up before it deploys, and
a re-install whose update fails, against the fake's install account.

Checks: a multi-region trail that is logging already (here a shadow of one made in
another region) => the cloudtrail stack is made with CreateTrail=false and holds
no trail, and the output says so; --create-trail makes one anyway; a trail that is
not multi-region or not logging does not count; a re-install keeps the stack's own
trail. --topo-cron-role: a role that does not exist, one that does not trust
Lambda, one of another account are clear errors before anything is created; a
good one is used. A re-install whose update fails: a clear error, the stack rolled
back to its previous version (its old parameters, every resource still there), the
other stacks as they were, nothing of the previous install removed; the next
re-install succeeds.
"""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
URL = "https://stackstate.example.com"
API_KEY = "checks-api-key-0ddba11"
ACCOUNT = "123456789012"
check = checklib.Checks()


def awstopo(aws, package, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    env.update(aws.env(), AWSTOPO_INSTALL_POLL_MS="5")
    if args[0] == "install":
        args = (args[0], "--package", package) + args[1:]
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=env)
    check(API_KEY not in p.stdout + p.stderr, "the key is printed nowhere")
    return p


def stack_params(aws, name):
    env = aws.env()
    cfn = botocore.session.get_session().create_client(
        "cloudformation", region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=Config(retries={"max_attempts": 1}))
    d = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return d["StackStatus"], {p["ParameterKey"]: p["ParameterValue"] for p in d["Parameters"]}


def own_trails(aws):
    return [r for r in aws.account()["resources"] if r.startswith("AWS::CloudTrail::Trail ")]


def trails(package):
    org_trail = {"name": "org-trail", "region": "eu-west-1"}        # a shadow trail in us-east-1
    with fakes.start_fake_aws(None, account={"trails": [org_trail]}) as aws:
        p = awstopo(aws, package, "install", URL, API_KEY, "17")
        check(p.returncode == 0 and "multi-region trail org-trail (home region eu-west-1) is logging: no second "
              "one" in p.stdout, "an existing trail is used and said so: %r %r" % (p.stdout[:400], p.stderr))
        check(stack_params(aws, "stackstate-topo-cloudtrail")[1].get("CreateTrail") == "false" and
              not own_trails(aws), "CreateTrail=false: no trail of our own")
        p = awstopo(aws, package, "install", "--create-trail", URL, API_KEY, "17")
        check(p.returncode == 0 and "(--create-trail)" in p.stdout and
              stack_params(aws, "stackstate-topo-cloudtrail")[1].get("CreateTrail") == "true" and
              own_trails(aws) == ["AWS::CloudTrail::Trail stackstate-topo-17"], "--create-trail makes one anyway")
        p = awstopo(aws, package, "uninstall", "17")
        check(p.returncode == 0 and not aws.account()["stacks"], "uninstall")

    for other in ({"name": "one-region", "multi_region": False}, {"name": "stopped", "logging": False}):
        with fakes.start_fake_aws(None, account={"trails": [other]}) as aws:
            p = awstopo(aws, package, "install", URL, API_KEY, "17")
            check(p.returncode == 0 and "stackstate-topo-cloudtrail has its own, stackstate-topo-17" in p.stdout and
                  own_trails(aws) == ["AWS::CloudTrail::Trail stackstate-topo-17"],
                  "a trail that is %s does not count" % ("single-region" if "multi_region" in other else
                                                         "not logging"))
            p = awstopo(aws, package, "install", URL, API_KEY, "17")
            check(p.returncode == 0 and own_trails(aws) and
                  stack_params(aws, "stackstate-topo-cloudtrail")[1].get("CreateTrail") == "true",
                  "a re-install keeps the stack's own trail: %r" % p.stdout[-300:])
    with fakes.start_fake_aws(None, account={}) as aws:
        p = awstopo(aws, package, "install", "--topo-cron-only", "--create-trail", URL, API_KEY, "17")
        check(p.returncode == 64 and "--create-trail is for the full install" in p.stderr, "usage: %r" % p.stderr)


def roles(package):
    account = {"roles": ["mine", {"name": "ec2-role", "service": "ec2.amazonaws.com"}]}
    with fakes.start_fake_aws(None, account=account) as aws:
        for role, expect in [("nope", "no such role in account " + ACCOUNT),
                             ("ec2-role", "does not let Lambda assume it"),
                             ("arn:aws:iam::999999999999:role/mine", "Lambda takes only a role of its own account"),
                             ("arn:aws:iam::%s:user/mine" % ACCOUNT, "not a role ARN")]:
            arn = role if role.startswith("arn:") else "arn:aws:iam::%s:role/%s" % (ACCOUNT, role)
            p = awstopo(aws, package, "install", "--topo-cron-only", "--topo-cron-role", arn, URL, API_KEY, "17")
            inv = aws.account()
            check(p.returncode == 2 and expect in p.stderr and not inv["stacks"] and not inv["buckets"] and
                  not inv["parameters"], "--topo-cron-role %s: %r, nothing created" % (role, p.stderr))
        arn = "arn:aws:iam::%s:role/mine" % ACCOUNT
        p = awstopo(aws, package, "install", "--topo-cron-only", "--topo-cron-role", arn, URL, API_KEY, "17")
        check(p.returncode == 0 and "(given; trusts Lambda)" in p.stdout and
              not [r for r in aws.account()["resources"] if r.startswith("AWS::IAM::Role")],
              "a good role is used, none made: %r" % p.stderr)
        p = awstopo(aws, package, "install", "--dry-run", "--topo-cron-only", "--topo-cron-role",
                    arn.replace("mine", "nope"), URL, API_KEY, "17")
        check(p.returncode == 2 and "no such role" in p.stderr, "--dry-run checks the role too")


def failed_update(package):
    with fakes.start_fake_aws(None, account={"fail_update": ["stackstate-topo-cwevents/Function"]}) as aws:
        p = awstopo(aws, package, "install", URL, API_KEY, "17")
        check(p.returncode == 0, "install: %r" % p.stderr)
        before = aws.account()
        p = awstopo(aws, package, "install", URL + "/v2", API_KEY, "17")
        print(p.stdout + p.stderr)
        after = aws.account()
        status, params = stack_params(aws, "stackstate-topo-cwevents")
        check(p.returncode == 2 and "stackstate-topo-cwevents ended UPDATE_ROLLBACK_COMPLETE" in p.stderr and
              "injected failure for Function" in p.stderr, "a failed update: a clear error: %r" % p.stderr)
        check("back to its previous version" in p.stderr, "... saying the stack is as it was: %r" % p.stderr)
        check(status == "UPDATE_ROLLBACK_COMPLETE" and params["StackStateUrl"] == URL,
              "the stack rolled back to its previous parameters: %s %s" % (status, params.get("StackStateUrl")))
        check(after["stacks"] == before["stacks"] and after["resources"] == before["resources"] and
              after["buckets"].keys() == before["buckets"].keys() and after["parameters"] == before["parameters"],
              "every stack, resource, bucket and the key of the previous install are still there")
        check(stack_params(aws, "stackstate-topo-publisher")[1]["StackStateUrl"] == URL,
              "the stacks after the failed one were not touched")
        aws.control(account_settings={"fail_update": []})
        p = awstopo(aws, package, "install", URL + "/v2", API_KEY, "17")
        check(p.returncode == 0 and stack_params(aws, "stackstate-topo-cwevents") ==
              ("UPDATE_COMPLETE", dict(params, StackStateUrl=URL + "/v2")), "the next re-install succeeds")
        p = awstopo(aws, package, "uninstall", "17")
        inv = aws.account()
        check(p.returncode == 0 and not inv["stacks"] and not inv["resources"] and not inv["buckets"],
              "uninstall: nothing left")


def main():
    package = os.path.join(os.environ.get("TMPDIR", "/tmp"), "awstopo-checks-%d.zip" % os.getpid())
    with open(package, "wb") as f:
        f.write(b"PK\x05\x06" + b"\0" * 18)
    try:
        trails(package)
        roles(package)
        failed_update(package)
    finally:
        os.unlink(package)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
