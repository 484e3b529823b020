"""test_install_account.py -- the fake's stateful install account
(tests/fake/install_account.py), driven by botocore as an independent client.

The templates of deploy/cloudformation go through change sets the way an
installer will use them: create, describe, execute, describe the stack, events,
an update through a second change set, a change set without changes, failure
injection with rollback, S3 versioned objects and the BucketNotEmpty a stack
delete runs into, SSM SecureString, and an inventory that is empty at the end.
Every request is SigV4-checked by the fake.
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

DIR = os.path.join(REPO, "deploy", "cloudformation")
check = checklib.Checks()


def template(name):
    with open(os.path.join(DIR, name + ".json")) as f:
        return f.read()


def error_code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None, None


def params(d):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in d.items()]


TAGS = {"AwstopoVersion": "0.0.0-test", "ConfigurationId": "17"}


def change_set(cfn, stack, body, values, kind, caps=("CAPABILITY_IAM",)):
    r = cfn.create_change_set(StackName=stack, ChangeSetName="awstopo-1", ChangeSetType=kind,
                              TemplateBody=body, Parameters=params(values), Capabilities=list(caps),
                              Tags=[{"Key": "stackstate:configuration-id", "Value": "17"}])
    return r["Id"], cfn.describe_change_set(ChangeSetName=r["Id"])


def main():
    with fakes.start_fake_aws(None, account={"fail": ["stackstate-topo-cloudtrail/Trail"], "roles": ["mine"], "buckets": ["user-bucket"]}) as aws:
        s = botocore.session.get_session()
        env = aws.env()
        kw = dict(region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        cfn, s3, ssm, iam, lam, events = (s.create_client(n, **kw) for n in
                                           ("cloudformation", "s3", "ssm", "iam", "lambda", "events"))
        check(iam.get_role(RoleName="mine")["Role"]["Arn"] == "arn:aws:iam::123456789012:role/mine", "user's role")
        check(error_code(iam.get_role, RoleName="other")[0] == "NoSuchEntity", "unknown role")
        s3.head_bucket(Bucket="user-bucket")
        check(error_code(lam.get_function, FunctionName="stackstate-topo-cron-17")[0] ==
              "ResourceNotFoundException", "no function before the stack")

        # S3: the code bucket, versioned, two versions of one key
        s3.create_bucket(Bucket="awstopo-code")
        s3.put_bucket_versioning(Bucket="awstopo-code", VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket="awstopo-code", Key="lambda/abc.zip", Body=b"zip-1")["VersionId"]
        v2 = s3.put_object(Bucket="awstopo-code", Key="lambda/abc.zip", Body=b"zip-2")["VersionId"]
        check(v1 != v2, "versioned puts get distinct version ids")
        vers = s3.list_object_versions(Bucket="awstopo-code")["Versions"]
        check(len(vers) == 2 and sum(v["IsLatest"] for v in vers) == 1, "two versions, one latest: %s" % vers)
        check(error_code(s3.delete_bucket, Bucket="awstopo-code")[0] == "BucketNotEmpty", "non-empty bucket stays")
        check(error_code(s3.head_bucket, Bucket="nope")[0] == "404", "head of a missing bucket: 404")

        # SSM SecureString: decrypted only on request
        ssm.put_parameter(Name="/stackstate/awstopo/17/api-key", Value="secret-key-1", Type="SecureString")
        p = ssm.get_parameter(Name="/stackstate/awstopo/17/api-key", WithDecryption=True)["Parameter"]
        check(p["Value"] == "secret-key-1", "SecureString read with decryption")
        p = ssm.get_parameter(Name="/stackstate/awstopo/17/api-key")["Parameter"]
        check(p["Value"] != "secret-key-1", "SecureString without decryption is not the value")
        check(error_code(ssm.put_parameter, Name="/stackstate/awstopo/17/api-key", Value="x",
                         Type="SecureString")[0] == "ParameterAlreadyExists", "no silent overwrite")

        # CloudFormation: the cron stack through a change set
        cron = template("stackstate-topo-cron")
        values = dict(TAGS, StackStateUrl="https://sts.example", ApiKeyParameterName="/stackstate/awstopo/17/api-key",
                      CodeBucket="awstopo-code", CodeKey="lambda/abc.zip")
        code, msg = error_code(cfn.create_change_set, StackName="stackstate-topo-cron", ChangeSetName="x",
                               ChangeSetType="CREATE", TemplateBody=cron, Parameters=params(values))
        check(code == "InsufficientCapabilitiesException" and "CAPABILITY_IAM" in msg, "IAM needs a capability")
        code, msg = error_code(cfn.create_change_set, StackName="stackstate-topo-cron", ChangeSetName="x",
                               ChangeSetType="CREATE", TemplateBody=cron, Parameters=params(TAGS),
                               Capabilities=["CAPABILITY_IAM"])
        check(code == "ValidationError" and "must have values" in msg, "missing parameters: %s" % msg)
        cs_id, cs = change_set(cfn, "stackstate-topo-cron", cron, values, "CREATE")
        check(cs["Status"] == "CREATE_COMPLETE" and cs["ExecutionStatus"] == "AVAILABLE", "change set ready")
        adds = sorted(c["ResourceChange"]["LogicalResourceId"] for c in cs["Changes"])
        check(adds == sorted(json.loads(cron)["Resources"]), "every resource added: %s" % adds)
        check(cfn.describe_stacks(StackName="stackstate-topo-cron")["Stacks"][0]["StackStatus"] ==
              "REVIEW_IN_PROGRESS", "stack under review before execution")
        cfn.execute_change_set(ChangeSetName=cs_id)
        st = cfn.describe_stacks(StackName="stackstate-topo-cron")["Stacks"][0]
        check(st["StackStatus"] == "CREATE_COMPLETE", "created: %s" % st["StackStatus"])
        outs = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
        check(outs.get("FunctionArn") == "stackstate-topo-cron-17", "function named from the template: %s" % outs)
        res = cfn.describe_stack_resources(StackName="stackstate-topo-cron")["StackResources"]
        check(len(res) == len(adds), "stack resources listed")
        phys = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in res}
        check(lam.get_function(FunctionName="stackstate-topo-cron-17")["Configuration"]["FunctionName"] ==
              "stackstate-topo-cron-17", "the stack's function exists")
        check(iam.get_role(RoleName=phys["Role"])["Role"]["RoleName"] == phys["Role"], "the stack's role exists")
        check(events.describe_rule(Name=phys["ScheduleRule"])["State"] == "ENABLED", "the stack's schedule exists")

        # the same again: no changes, as AWS says it
        cs_id, cs = change_set(cfn, "stackstate-topo-cron", cron, values, "UPDATE")
        check(cs["Status"] == "FAILED" and "didn't contain changes" in cs.get("StatusReason", ""),
              "no-change change set fails with AWS's reason")
        cfn.delete_change_set(ChangeSetName=cs_id)
        # an update: a user-given role removes the created one
        cs_id, cs = change_set(cfn, "stackstate-topo-cron", cron,
                               dict(values, RoleArn="arn:aws:iam::123456789012:role/mine"), "UPDATE")
        acts = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"] for c in cs["Changes"]}
        check(acts.get("Role") == "Remove" and acts.get("Function") == "Modify", "update plan: %s" % acts)
        cfn.execute_change_set(ChangeSetName=cs_id)
        st = cfn.describe_stacks(StackName="stackstate-topo-cron")["Stacks"][0]
        check(st["StackStatus"] == "UPDATE_COMPLETE", "updated: %s" % st["StackStatus"])
        check(error_code(iam.get_role, RoleName=phys["Role"])[0] == "NoSuchEntity", "the removed role is gone")
        check(iam.get_role(RoleName="mine")["Role"]["RoleName"] == "mine", "the user's role stays")

        # an injected failure: create rolls back, the reason is in the events
        ct = template("stackstate-topo-cloudtrail")
        cs_id, _ = change_set(cfn, "stackstate-topo-cloudtrail", ct, TAGS, "CREATE", caps=())
        cfn.execute_change_set(ChangeSetName=cs_id)
        st = cfn.describe_stacks(StackName="stackstate-topo-cloudtrail")["Stacks"][0]
        check(st["StackStatus"] == "ROLLBACK_COMPLETE", "rolled back: %s" % st["StackStatus"])
        ev = cfn.describe_stack_events(StackName="stackstate-topo-cloudtrail")["StackEvents"]
        failed_ev = [e for e in ev if e["ResourceStatus"] == "CREATE_FAILED"]
        check(failed_ev and failed_ev[0]["LogicalResourceId"] == "Trail"
              and "injected failure" in failed_ev[0]["ResourceStatusReason"], "failure reason in the events")
        check(ev[0]["ResourceStatus"] == "ROLLBACK_COMPLETE", "newest event first")
        check(aws.account()["buckets"].keys() == {"awstopo-code"}, "rollback removed the trail bucket")
        code, _ = error_code(cfn.create_change_set, StackName="stackstate-topo-cloudtrail", ChangeSetName="y",
                             ChangeSetType="UPDATE", TemplateBody=ct, Parameters=params(TAGS))
        check(code == "ValidationError", "a ROLLBACK_COMPLETE stack cannot be updated")
        cfn.delete_stack(StackName="stackstate-topo-cloudtrail")

        # everything removed: nothing left
        s3.delete_objects(Bucket="awstopo-code", Delete={"Objects": [
            {"Key": v["Key"], "VersionId": v["VersionId"]} for v in
            s3.list_object_versions(Bucket="awstopo-code")["Versions"]]})
        s3.delete_bucket(Bucket="awstopo-code")
        ssm.delete_parameter(Name="/stackstate/awstopo/17/api-key")
        cfn.delete_stack(StackName="stackstate-topo-cron")
        inv = aws.account()
        check(inv == {"stacks": [], "buckets": {}, "user_buckets": {"user-bucket": 0}, "parameters": [],
                      "resources": []}, "nothing left: %s" % inv)
        # a bucket with objects blocks its stack's delete until it is emptied
        aws.control(account={})
        cs_id, _ = change_set(cfn, "stackstate-topo-cloudtrail", ct, TAGS, "CREATE", caps=())
        cfn.execute_change_set(ChangeSetName=cs_id)
        bucket = [r["PhysicalResourceId"] for r in
                  cfn.describe_stack_resources(StackName="stackstate-topo-cloudtrail")["StackResources"]
                  if r["LogicalResourceId"] == "Bucket"][0]
        s3.put_object(Bucket=bucket, Key="AWSLogs/123456789012/x.json.gz", Body=b"log")
        cfn.delete_stack(StackName="stackstate-topo-cloudtrail")
        st = cfn.describe_stacks(StackName="stackstate-topo-cloudtrail")["Stacks"][0]
        check(st["StackStatus"] == "DELETE_FAILED", "non-empty bucket: DELETE_FAILED")
        for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
        cfn.delete_stack(StackName="stackstate-topo-cloudtrail")
        check(error_code(cfn.describe_stacks, StackName="stackstate-topo-cloudtrail")[0] == "ValidationError",
              "deleted stack no longer described")
        cfn.delete_stack(StackName="stackstate-topo-cloudtrail")     # again: fine, as AWS
        inv = aws.account()
        check(inv == {"stacks": [], "buckets": {}, "user_buckets": {}, "parameters": [], "resources": []},
              "nothing left after a reset: %s" % inv)

        st = aws.stats()
        check("secret-key-1" not in json.dumps(aws.requests()), "the parameter value is not in the request log")
        check(st["auth_failures"] == {}, "every request signed correctly: %s" % st["auth_failures"])
        calls = st["requests"]
        check(calls["cloudformation"]["ExecuteChangeSet"] == 4 and calls["s3"]["PutObject"] == 3,
              "calls counted per operation (what the IAM policies will be generated from): %s" % calls)

    return check.report()


if __name__ == "__main__":
    sys.exit(main())
