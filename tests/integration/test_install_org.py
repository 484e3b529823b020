"""test_install_org.py -- `awstopo install --organization` / `uninstall --organization`:
the stackstate-topo-role template as a service-managed StackSet with
auto-deployment, against the fake's organization (tests/fake/stacksets.py).

Checks: the StackSet created with the role template, its parameters (the
central account from the credentials, the external id NoEcho), tags and
auto-deployment; an instance in every member account (never the management
account) of the whole organization or of the OUs given; a re-run updates the
StackSet and adds OUs; an account moved into a target OU gets the role; a
failed instance is a clear error naming the account, region and reason;
trusted access not enabled, usage errors, another configuration's StackSet;
uninstall removes instances and StackSet, twice without error.
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
check = checklib.Checks()
MGMT = "123456789012"
PROD, TEAM, SANDBOX = "ou-a1b2-prod0001", "ou-a1b2-team0001", "ou-a1b2-sand0001"
MEMBERS = ["111111111111", "210987654321", "222222222222", "333333333333", "444444444444"]


def awstopo(aws, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    env.update(aws.env(), AWSTOPO_INSTALL_POLL_MS="10")
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, env=env)


def install(aws, *extra, config="cfg-17"):
    return awstopo(aws, "install", "--organization", "--topo-role-external-id", "ext-secret-1", *extra, config)


def accounts_with_role(aws):
    return sorted({line.split()[1] for line in aws.account().get("stack_instances", [])})


def main():
    with fakes.start_fake_aws(None, account={"organization": True}) as aws:
        env = aws.env()
        kw = dict(region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=Config(retries={"max_attempts": 1}))
        s = botocore.session.get_session()
        cfn, org = s.create_client("cloudformation", **kw), s.create_client("organizations", **kw)

        p = install(aws)
        check(p.returncode == 0, "install --organization: %d %s %s" % (p.returncode, p.stdout, p.stderr))
        print(p.stdout)
        check("stackstate-topo-role" in p.stdout and "created" in p.stdout and "SUCCEEDED" in p.stdout,
              "progress: %r" % p.stdout)
        check("ext-secret-1" not in p.stdout + p.stderr, "the external id is not printed")
        check(accounts_with_role(aws) == MEMBERS, "a role in every member account, not the management account: %s"
              % accounts_with_role(aws))
        d = cfn.describe_stack_set(StackSetName="stackstate-topo-role")["StackSet"]
        params = {x["ParameterKey"]: x["ParameterValue"] for x in d["Parameters"]}
        check(params.get("CentralAccountId") == MGMT and params.get("ExternalId") == "****"
              and params.get("RoleName") == "StackStateTopoRole" and params.get("ConfigurationId") == "cfg-17",
              "parameters: %s" % params)
        tags = {t["Key"]: t["Value"] for t in d["Tags"]}
        check(tags.get("stackstate:configuration-id") == "cfg-17" and "stackstate:awstopo-version" in tags, "tags")
        check(d["PermissionModel"] == "SERVICE_MANAGED" and d["AutoDeployment"] == {
            "Enabled": True, "RetainStacksOnAccountRemoval": False}, "service-managed, auto-deployment")
        check(d["OrganizationalUnitIds"] == ["r-a1b2"], "the whole organization: the root")

        p = install(aws)
        check(p.returncode == 0 and "updat" in p.stdout and "every target OU and region" in p.stdout,
              "a second run updates in place: %r %r" % (p.stdout, p.stderr))
        p = awstopo(aws, "uninstall", "--organization", "cfg-99")
        check(p.returncode == 2 and "belongs to" in p.stderr and accounts_with_role(aws) == MEMBERS,
              "another configuration's StackSet is left alone: %r" % p.stderr)
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        check(p.returncode == 0 and "deleted" in p.stdout, "uninstall: %r %r" % (p.stdout, p.stderr))
        check("stack_sets" not in aws.account(), "nothing left: %s" % aws.account())
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        check(p.returncode == 0 and "stackstate-topo-role: not there" in p.stdout, "a second uninstall: %r" % p.stdout)

        # OUs, auto-deployment
        p = install(aws, "--ou", PROD, "--topo-role-name", "TopoReader", "--central-account", "999999999999")
        check(p.returncode == 0 and accounts_with_role(aws) == ["111111111111", "222222222222", "333333333333"],
              "an OU and its child OU: %s %r" % (accounts_with_role(aws), p.stderr))
        params = {x["ParameterKey"]: x["ParameterValue"] for x in
                  cfn.describe_stack_set(StackSetName="stackstate-topo-role")["StackSet"]["Parameters"]}
        check(params["RoleName"] == "TopoReader" and params["CentralAccountId"] == "999999999999", "role, central")
        org.move_account(AccountId="444444444444", SourceParentId=SANDBOX, DestinationParentId=TEAM)
        check("444444444444" in accounts_with_role(aws), "an account moved into a target OU gets the role")
        p = install(aws, "--ou", "%s,%s" % (PROD, SANDBOX))
        check(p.returncode == 0 and "210987654321" not in accounts_with_role(aws) and
              cfn.describe_stack_set(StackSetName="stackstate-topo-role")["StackSet"]["OrganizationalUnitIds"]
              == [PROD, SANDBOX], "a re-run adds an OU")
        p = awstopo(aws, "uninstall", "--organization", "cfg-17")
        check(p.returncode == 0 and "stack_sets" not in aws.account(), "uninstall after OUs: %r" % p.stderr)

        # failures
        aws.control(account={"organization": True, "fail_instances": ["222222222222/us-east-1"]})
        p = install(aws)
        check(p.returncode == 2 and "222222222222/us-east-1: injected failure" in p.stderr,
              "a failed instance names account, region, reason: %r" % p.stderr)
        aws.control(account={"organization": True, "trusted_access": False})
        p = install(aws)
        check(p.returncode == 2 and "activate-organizations-access" in p.stderr, "trusted access hint: %r" % p.stderr)
        aws.control(account={})
        p = install(aws)
        check(p.returncode == 2 and "AWSOrganizationsNotInUseException" in p.stderr, "no organization: %r" % p.stderr)

        for args, expect in [
            (["install", "--organization", "cfg-17"], "--topo-role-external-id ID is required"),
            (["install", "--organization", "--topo-role-external-id", "x1", "--regions", "us-east-1,eu-west-1",
              "cfg-17"], "one region"),
            (["install", "--organization", "--topo-role-external-id", "x1", "https://sts", "KEY", "cfg-17"],
             "not the Lambda install"),
            (["install", "--organization", "--topo-role-external-id", "x1", "--ou", "ou-bad", "cfg-17"], "'ou-bad'"),
            (["install", "--organization", "--topo-role-external-id", "x1", "--central-account", "12", "cfg-17"],
             "12-digit"),
            (["install", "--organization", "--topo-role-external-id", "x1", "cfg 17"], "CONFIGURATION_ID"),
        ]:
            p = awstopo(aws, *args)
            check(p.returncode == 64 and expect in p.stderr, "%s: %d %r" % (args, p.returncode, p.stderr))
        h = awstopo(aws, "install", "--organization", "--help")
        check(h.returncode == 0 and "--topo-role-external-id" in h.stdout and "--ou" in h.stdout, "--help")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
