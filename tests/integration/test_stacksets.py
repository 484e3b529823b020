"""test_stacksets.py -- the fake's AWS Organization and service-managed StackSets
(tests/fake/stacksets.py, part of the stateful install account), driven by
botocore as an independent client.

The stackstate-topo-role template goes to an organization the way
`awstopo install --organization` will deploy it: Organizations' roots, OUs and
accounts (paged), a SERVICE_MANAGED stack set with auto-deployment, instances
for OUs (child OUs included, the management account never), the operation's
outcome, an injected instance failure, auto-deployment when an account moves
into or out of a target OU, StackSetNotEmptyException, and nothing left after
instances and stack set are deleted. Plus what AWS refuses: no organization,
a member account, trusted access not enabled, targets by account.
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
import checklib  # noqa: E402

check = checklib.Checks()
ROLE = os.path.join(REPO, "deploy", "cloudformation", "stackstate-topo-role.json")
MGMT = "123456789012"
ROOT = "r-a1b2"
PROD, TEAM, SANDBOX = "ou-a1b2-prod0001", "ou-a1b2-team0001", "ou-a1b2-sand0001"


def error_code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def clients(aws):
    s = botocore.session.get_session()
    env = aws.env()
    kw = dict(region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
              aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=Config(retries={"max_attempts": 1}))
    return s.create_client("cloudformation", **kw), s.create_client("organizations", **kw)


def role_params():
    with open(ROLE) as f:
        body = f.read()
    declared = json.loads(body)["Parameters"]
    values = {"CentralAccountId": MGMT, "ExternalId": "ext-1234", "RoleName": "StackStateTopoRole",
              "AwstopoVersion": "0.0.0-test", "ConfigurationId": "17"}
    return body, [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items() if k in declared]


def instances(cfn, name):
    out, token = [], None
    while True:
        r = cfn.list_stack_instances(StackSetName=name, MaxResults=2, **({"NextToken": token} if token else {}))
        out += r["Summaries"]
        token = r.get("NextToken")
        if not token:
            return sorted((i["Account"], i["Region"]) for i in out), out


def organizations(org):
    roots = org.list_roots()["Roots"]
    check([r["Id"] for r in roots] == [ROOT], "one root: %s" % roots)
    accounts, token = [], None
    while True:
        r = org.list_accounts(MaxResults=2, **({"NextToken": token} if token else {}))
        accounts += [a["Id"] for a in r["Accounts"]]
        token = r.get("NextToken")
        if not token:
            break
    check(sorted(accounts) == sorted([MGMT, "210987654321", "111111111111", "222222222222", "333333333333",
                                      "444444444444"]), "ListAccounts pages through every account: %s" % accounts)
    ous = org.list_organizational_units_for_parent(ParentId=ROOT)["OrganizationalUnits"]
    check(sorted(o["Id"] for o in ous) == [PROD, SANDBOX], "OUs under the root")
    child = org.list_organizational_units_for_parent(ParentId=PROD)["OrganizationalUnits"]
    check([o["Name"] for o in child] == ["Team A"], "a child OU")
    under = org.list_accounts_for_parent(ParentId=PROD)["Accounts"]
    check(sorted(a["Id"] for a in under) == ["111111111111", "222222222222"], "accounts of an OU")
    check(error_code(org.list_accounts_for_parent, ParentId="ou-a1b2-nothere1")[0] == "ParentNotFoundException",
          "unknown parent")
    d = org.describe_organization()["Organization"]
    check(d["MasterAccountId"] == MGMT and d["FeatureSet"] == "ALL", "DescribeOrganization")


def stack_set(aws, cfn, org):
    body, params = role_params()
    kw = dict(StackSetName="stackstate-topo-role", TemplateBody=body, Parameters=params,
              Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SERVICE_MANAGED",
              AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
              Tags=[{"Key": "stackstate:configuration-id", "Value": "17"}])
    check(error_code(cfn.create_stack_set, **dict(kw, Capabilities=[]))[0] == "InsufficientCapabilitiesException",
          "the role template needs CAPABILITY_NAMED_IAM")
    kw_noauto = {k: v for k, v in kw.items() if k != "AutoDeployment"}
    check(error_code(cfn.create_stack_set, **kw_noauto)[0] == "ValidationError",
          "service-managed needs AutoDeployment")
    set_id = cfn.create_stack_set(**kw)["StackSetId"]
    check(set_id.startswith("stackstate-topo-role:"), "CreateStackSet: %s" % set_id)
    check(error_code(cfn.create_stack_set, **kw)[0] == "NameAlreadyExistsException", "a second one by that name")
    d = cfn.describe_stack_set(StackSetName="stackstate-topo-role")["StackSet"]
    check(d["PermissionModel"] == "SERVICE_MANAGED" and d["AutoDeployment"]["Enabled"] and d["Status"] == "ACTIVE",
          "DescribeStackSet")
    check(json.loads(d["TemplateBody"]) == json.loads(body), "the template kept")

    op = cfn.create_stack_instances(StackSetName="stackstate-topo-role", Regions=["us-east-1", "eu-west-1"],
                                    DeploymentTargets={"OrganizationalUnitIds": [PROD]},
                                    OperationPreferences={"FailureToleranceCount": 0, "MaxConcurrentCount": 5})
    o = cfn.describe_stack_set_operation(StackSetName="stackstate-topo-role", OperationId=op["OperationId"])
    check(o["StackSetOperation"]["Status"] == "SUCCEEDED" and o["StackSetOperation"]["Action"] == "CREATE",
          "the create operation succeeded: %s" % o["StackSetOperation"])
    got, summaries = instances(cfn, "stackstate-topo-role")
    want = sorted((a, r) for a in ("111111111111", "222222222222", "333333333333") for r in ("us-east-1", "eu-west-1"))
    check(got == want, "an instance per account of the OU and its child OU, per region: %s" % got)
    check(all(s["Status"] == "CURRENT" and s["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED"
              and s["OrganizationalUnitId"] == PROD for s in summaries), "instances CURRENT, named by the target OU")
    check(MGMT not in {a for a, _ in got}, "never the management account")
    check(cfn.describe_stack_set(StackSetName="stackstate-topo-role")["StackSet"]["OrganizationalUnitIds"] == [PROD],
          "the stack set remembers its OU")
    one = cfn.list_stack_instances(StackSetName="stackstate-topo-role", StackInstanceAccount="111111111111",
                                   StackInstanceRegion="eu-west-1")["Summaries"]
    check(len(one) == 1, "filter by account and region")

    # auto-deployment: moving an account in and out of a target OU
    org.move_account(AccountId="444444444444", SourceParentId=SANDBOX, DestinationParentId=TEAM)
    got, _ = instances(cfn, "stackstate-topo-role")
    check(("444444444444", "us-east-1") in got and ("444444444444", "eu-west-1") in got,
          "an account moved into a target OU gets the instances")
    org.move_account(AccountId="444444444444", SourceParentId=TEAM, DestinationParentId=SANDBOX)
    got, _ = instances(cfn, "stackstate-topo-role")
    check("444444444444" not in {a for a, _ in got}, "and loses them when moved out")
    check(error_code(org.move_account, AccountId="444444444444", SourceParentId=TEAM,
                     DestinationParentId=ROOT)[0] == "SourceParentNotFoundException", "MoveAccount from the wrong parent")

    check(error_code(cfn.delete_stack_set, StackSetName="stackstate-topo-role")[0] == "StackSetNotEmptyException",
          "a stack set with instances cannot be deleted")
    inv = aws.account()
    check(len(inv.get("stack_instances", [])) == 6 and inv.get("stack_sets") == ["stackstate-topo-role"],
          "inventory lists the stack set and its instances: %s" % inv)
    op = cfn.delete_stack_instances(StackSetName="stackstate-topo-role", Regions=["us-east-1", "eu-west-1"],
                                    DeploymentTargets={"OrganizationalUnitIds": [PROD]}, RetainStacks=False)
    o = cfn.describe_stack_set_operation(StackSetName="stackstate-topo-role", OperationId=op["OperationId"])
    check(o["StackSetOperation"]["Action"] == "DELETE" and o["StackSetOperation"]["Status"] == "SUCCEEDED",
          "the delete operation")
    check(instances(cfn, "stackstate-topo-role")[0] == [], "no instances left")
    ops = cfn.list_stack_set_operations(StackSetName="stackstate-topo-role")["Summaries"]
    check([x["Action"] for x in ops] == ["CREATE", "DELETE"], "ListStackSetOperations: %s" % ops)
    cfn.delete_stack_set(StackSetName="stackstate-topo-role")
    check(error_code(cfn.describe_stack_set, StackSetName="stackstate-topo-role")[0] == "StackSetNotFoundException",
          "the stack set is gone")
    cfn.delete_stack_set(StackSetName="stackstate-topo-role")
    check(True, "deleting it again succeeds, as on AWS")
    check(error_code(cfn.describe_stack_set_operation, StackSetName="x", OperationId="y")[0]
          == "StackSetNotFoundException", "operation of an unknown stack set")


def failures(aws, cfn):
    aws.control(account={"organization": True, "fail_instances": ["222222222222/eu-west-1"]})
    body, params = role_params()
    cfn.create_stack_set(StackSetName="s", TemplateBody=body, Parameters=params,
                         Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": True})
    op = cfn.create_stack_instances(StackSetName="s", Regions=["us-east-1", "eu-west-1"],
                                    DeploymentTargets={"OrganizationalUnitIds": [PROD]})
    o = cfn.describe_stack_set_operation(StackSetName="s", OperationId=op["OperationId"])["StackSetOperation"]
    check(o["Status"] == "FAILED" and "222222222222/eu-west-1" in o.get("StatusReason", ""),
          "an injected instance failure fails the operation: %s" % o)
    bad = cfn.list_stack_instances(StackSetName="s", StackInstanceAccount="222222222222",
                                   StackInstanceRegion="eu-west-1")["Summaries"]
    check(bad and bad[0]["Status"] == "OUTDATED" and bad[0]["StackInstanceStatus"]["DetailedStatus"] == "FAILED",
          "the failed instance is OUTDATED/FAILED: %s" % bad)
    check(error_code(cfn.create_stack_instances, StackSetName="s", Regions=["us-east-1"],
                     DeploymentTargets={"Accounts": ["111111111111"]})[0] == "ValidationError",
          "service-managed targets are OUs, not accounts")
    check(error_code(cfn.create_stack_instances, StackSetName="s", Regions=["us-east-1"],
                     DeploymentTargets={"OrganizationalUnitIds": ["ou-a1b2-nothere1"]})[0] == "ParentNotFoundException",
          "an unknown OU")
    check(error_code(cfn.create_stack_instances, StackSetName="nope", Regions=["us-east-1"],
                     DeploymentTargets={"OrganizationalUnitIds": [PROD]})[0] == "StackSetNotFoundException",
          "an unknown stack set")


def refusals(aws, cfn, org):
    body, params = role_params()
    kw = dict(StackSetName="r", TemplateBody=body, Parameters=params, Capabilities=["CAPABILITY_NAMED_IAM"],
              PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": True})
    aws.control(account={})
    check(error_code(org.list_roots)[0] == "AWSOrganizationsNotInUseException", "no organization")
    check(error_code(cfn.create_stack_set, **kw)[0] == "AWSOrganizationsNotInUseException",
          "no service-managed stack set without an organization")
    aws.control(account={"organization": {"root": ROOT, "management": "999999999999", "accounts": [MGMT]}})
    check(error_code(org.list_accounts)[0] == "AccessDeniedException", "a member account may not list accounts")
    aws.control(account={"organization": True, "trusted_access": False})
    code, msg = error_code(cfn.create_stack_set, **kw)
    check(code == "ValidationError" and "enable organizations access" in msg, "trusted access not enabled: %s" % msg)


def main():
    with fakes.start_fake_aws(None, account={"organization": True}) as aws:
        cfn, org = clients(aws)
        organizations(org)
        stack_set(aws, cfn, org)
        failures(aws, cfn)
        refusals(aws, cfn, org)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
