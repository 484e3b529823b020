#!/usr/bin/env python3
"""gen-templates.py -- the CloudFormation templates of deploy/cloudformation/.

One script writes every template so the parts they share (the tag and API-key
parameters, the function, its log group and failure queue) are written once,
and so the cwevents rules come from what the mappings handle: every mapping's
`events` (CloudTrail eventName) under its service's event source, asked from
the built binary (`awstopo mappings describe`). The event source is the
service model's endpointPrefix (elbv2 -> elasticloadbalancing), as CloudTrail
names it.

    python3 tools/gen-templates.py [--binary ./awstopo]          write them
    python3 tools/gen-templates.py --check                       exit 1 when stale

The API key is never a template parameter: install.sh stores it as an SSM
SecureString (CloudFormation cannot create one) and the functions get only the
parameter's name (AWSTOPO_API_KEY_PARAMETER, docs/lambda.md).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "deploy", "cloudformation")
CRON_POLICY = os.path.join(REPO, "policies", "sts-topo-cron-policy.json")

TAG_VERSION = "stackstate:awstopo-version"
TAG_CONFIG = "stackstate:configuration-id"
PART = "${AWS::Partition}"


def ref(name):
    return {"Ref": name}


def att(res, attr):
    return {"Fn::GetAtt": [res, attr]}


def sub(s):
    return {"Fn::Sub": s}


def tags(extra=()):
    return [{"Key": TAG_VERSION, "Value": ref("AwstopoVersion")},
            {"Key": TAG_CONFIG, "Value": ref("ConfigurationId")}] + list(extra)


def base(description):
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Parameters": {
            "AwstopoVersion": {"Type": "String", "Description": "awstopo version (tag on every resource)"},
            "ConfigurationId": {"Type": "String", "AllowedPattern": "[A-Za-z0-9-]+",
                                "Description": "StackState configuration id of the AWS StackPack instance"},
        },
        "Resources": {},
    }


def function_params(t, secret="ssm"):
    key = {"ApiKeyParameterName": {"Type": "String", "AllowedPattern": "/[A-Za-z0-9/_.-]+",
                                   "Description": "Name of the SSM SecureString parameter holding the API key"}}
    if secret == "secretsmanager":
        key = {"ApiKeySecretArn": {"Type": "String",
                                   "Description": "ARN of the Secrets Manager secret holding the API key"}}
    t["Parameters"].update({
        "StackStateUrl": {"Type": "String", "Description": "StackState base URL"},
        **key,
        "CodeBucket": {"Type": "String", "Description": "S3 bucket of the Lambda zip"},
        "CodeKey": {"Type": "String", "Description": "S3 key of the Lambda zip (content-addressed)"},
        "LogRetentionDays": {"Type": "Number", "Default": 14,
                             "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365]},
    })


def logs_and_secret_statements(secret="ssm"):
    logs = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": att("LogGroup", "Arn")}
    queue = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": att("FailureQueue", "Arn")}
    if secret == "secretsmanager":
        # the secret is encrypted with the account's aws/secretsmanager key, whose key
        # policy lets the account's principals decrypt through Secrets Manager
        return [logs, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": ref("ApiKeySecretArn")}, queue]
    return [
        logs,
        {"Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": sub("arn:" + PART + ":ssm:${AWS::Region}:${AWS::AccountId}:parameter${ApiKeyParameterName}")},
        # the SecureString is encrypted with the account's aws/ssm key
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": sub("ssm.${AWS::Region}.amazonaws.com")}}},
        queue,
    ]


def add_function(t, name, handler, statements, env_extra, role_condition=None, timeout=900, secret="ssm"):
    """The function, its role, log group and failure queue (shared by every stack)."""
    fname = sub(name + "-${ConfigurationId}")
    r = t["Resources"]
    r["FailureQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True, "Tags": tags()}}
    r["LogGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {
        "LogGroupName": sub("/aws/lambda/" + name + "-${ConfigurationId}"),
        "RetentionInDays": ref("LogRetentionDays"), "Tags": tags()}}
    role = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": name, "PolicyDocument": {
            "Version": "2012-10-17", "Statement": logs_and_secret_statements(secret) + statements}}],
        "Tags": tags()}}
    if role_condition:
        role["Condition"] = role_condition
        role_arn = {"Fn::If": [role_condition, att("Role", "Arn"), ref("RoleArn")]}
    else:
        role_arn = att("Role", "Arn")
    r["Role"] = role
    env = {"AWSTOPO_STACKSTATE_URL": ref("StackStateUrl"),
           "AWSTOPO_API_KEY_PARAMETER": ref("ApiKeyParameterName"),
           "AWSTOPO_INSTANCE": ref("ConfigurationId")}
    if secret == "secretsmanager":
        del env["AWSTOPO_API_KEY_PARAMETER"]
        env["AWSTOPO_API_KEY_SECRET"] = ref("ApiKeySecretArn")
    env.update(env_extra)
    r["Function"] = {"Type": "AWS::Lambda::Function", "DependsOn": ["LogGroup"], "Properties": {
        "FunctionName": fname, "Runtime": "provided.al2023", "Handler": handler,
        "Architectures": ["x86_64"],
        "Code": {"S3Bucket": ref("CodeBucket"), "S3Key": ref("CodeKey")},
        "Role": role_arn, "Timeout": timeout, "MemorySize": 512,
        "Environment": {"Variables": env},
        "LoggingConfig": {"LogGroup": ref("LogGroup")},
        "Tags": tags()}}
    t["Outputs"] = {"FunctionArn": {"Value": att("Function", "Arn")},
                    "FailureQueueUrl": {"Value": ref("FailureQueue")}}


def async_failures(t):
    """Asynchronous invocations (EventBridge) that fail go to the failure queue."""
    t["Resources"]["InvokeConfig"] = {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
        "FunctionName": ref("Function"), "Qualifier": "$LATEST", "MaximumRetryAttempts": 1,
        "DestinationConfig": {"OnFailure": {"Destination": att("FailureQueue", "Arn")}}}}


def allow_rule(t, perm, rule):
    t["Resources"][perm] = {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": ref("Function"), "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com", "SourceArn": att(rule, "Arn")}}


def cron(secret="ssm"):
    t = base("StackState AWS topology: hourly full scan (awstopo lambda, _HANDLER=cron)")
    function_params(t, secret)
    t["Parameters"]["RoleArn"] = {"Type": "String", "Default": "",
                                  "Description": "Existing role for the function (--topo-cron-role); empty: create one"}
    t["Parameters"]["Schedule"] = {"Type": "String", "Default": "rate(1 hour)"}
    t["Conditions"] = {"CreateRole": {"Fn::Equals": [ref("RoleArn"), ""]}}
    with open(CRON_POLICY) as f:
        scan = json.load(f)["Statement"]
    add_function(t, "stackstate-topo-cron", "cron", scan, {}, role_condition="CreateRole", secret=secret)
    async_failures(t)
    t["Resources"]["ScheduleRule"] = {"Type": "AWS::Events::Rule", "Properties": {
        "Description": "awstopo full topology scan", "ScheduleExpression": ref("Schedule"),
        "State": "ENABLED",
        "Targets": [{"Id": "cron", "Arn": att("Function", "Arn")}], "Tags": tags()}}
    allow_rule(t, "SchedulePermission", "ScheduleRule")
    return t


def kinesis():
    t = base("StackState AWS topology: the Kinesis stream between cwevents and publisher")
    t["Parameters"]["ShardCount"] = {"Type": "Number", "Default": 1, "MinValue": 1}
    t["Resources"]["Stream"] = {"Type": "AWS::Kinesis::Stream", "Properties": {
        "Name": sub("stackstate-topo-${ConfigurationId}"), "ShardCount": ref("ShardCount"),
        "RetentionPeriodHours": 24,
        "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        "Tags": tags()}}
    t["Outputs"] = {"StreamArn": {"Value": att("Stream", "Arn")},
                    "StreamName": {"Value": ref("Stream")}}
    return t


def cloudtrail():
    t = base("StackState AWS topology: a multi-region CloudTrail trail (skipped when the account has one)")
    t["Parameters"]["CreateTrail"] = {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
                                      "Description": "false when the account already has a multi-region trail"}
    t["Conditions"] = {"Trail": {"Fn::Equals": [ref("CreateTrail"), "true"]}}
    trail_arn = sub("arn:" + PART + ":cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/stackstate-topo-${ConfigurationId}")
    r = t["Resources"]
    # a stack needs one resource even when the trail is skipped
    r["Marker"] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    r["Bucket"] = {"Type": "AWS::S3::Bucket", "Condition": "Trail", "Properties": {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "LifecycleConfiguration": {"Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 30,
                                              "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]},
        "Tags": tags()}}
    r["BucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Condition": "Trail", "Properties": {
        "Bucket": ref("Bucket"),
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Sid": "AclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": att("Bucket", "Arn"),
             "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
            {"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject",
             "Resource": sub("${Bucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                            "aws:SourceArn": trail_arn}}}]}}}
    r["Trail"] = {"Type": "AWS::CloudTrail::Trail", "Condition": "Trail", "DependsOn": ["BucketPolicy"],
                  "Properties": {
                      "TrailName": sub("stackstate-topo-${ConfigurationId}"),
                      "S3BucketName": ref("Bucket"), "IsLogging": True, "IsMultiRegionTrail": True,
                      "IncludeGlobalServiceEvents": True, "EnableLogFileValidation": True,
                      "Tags": tags()}}
    t["Outputs"] = {"BucketName": {"Condition": "Trail", "Value": ref("Bucket")}}
    return t


def event_sources(binary):
    """{eventSource prefix: sorted eventNames} from every mapping's declaration."""
    prefix = {}
    for d in glob.glob(os.path.join(REPO, "models", "*")):
        for f in glob.glob(os.path.join(d, "*", "service-2.json")):
            with open(f) as fh:
                prefix[os.path.basename(d)] = json.load(fh)["metadata"]["endpointPrefix"]
    out = subprocess.run([binary, "mappings", "list"], capture_output=True, text=True, check=True).stdout
    sources = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        name = line.split()[0]
        decl = json.loads(subprocess.run([binary, "mappings", "describe", name], capture_output=True,
                                         text=True, check=True).stdout)
        if decl.get("events"):
            sources.setdefault(prefix[decl["service"]], set()).update(decl["events"])
    return {k: sorted(v) for k, v in sorted(sources.items())}


def rule_name(prefix):
    return "Api" + "".join(p.capitalize() for p in prefix.split("."))


def cwevents(binary, secret="ssm"):
    t = base("StackState AWS topology: CloudTrail API calls and EC2 state changes to the cwevents function")
    function_params(t, secret)
    t["Parameters"]["StreamArn"] = {"Type": "String", "Description": "the stackstate-topo-kinesis stream"}
    t["Parameters"]["StreamName"] = {"Type": "String"}
    add_function(t, "stackstate-topo-cwevents", "cwevents",
                 [{"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                   "Resource": ref("StreamArn")}],
                 {"AWSTOPO_KINESIS_STREAM": ref("StreamName")}, timeout=60, secret=secret)
    async_failures(t)
    r = t["Resources"]
    # one rule per event source keeps each pattern far under EventBridge's size limit
    for prefix, names in event_sources(binary).items():
        rule = rule_name(prefix)
        r[rule] = {"Type": "AWS::Events::Rule", "Properties": {
            "Description": "CloudTrail API calls awstopo's mappings handle: " + prefix,
            "State": "ENABLED",
            "EventPattern": {"source": ["aws." + prefix], "detail-type": ["AWS API Call via CloudTrail"],
                             "detail": {"eventSource": [prefix + ".amazonaws.com"], "eventName": names}},
            "Targets": [{"Id": "cwevents", "Arn": att("Function", "Arn")}], "Tags": tags()}}
        allow_rule(t, rule + "Permission", rule)
    r["Ec2StateChange"] = {"Type": "AWS::Events::Rule", "Properties": {
        "Description": "EC2 instance state changes", "State": "ENABLED",
        "EventPattern": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "Targets": [{"Id": "cwevents", "Arn": att("Function", "Arn")}], "Tags": tags()}}
    allow_rule(t, "Ec2StateChangePermission", "Ec2StateChange")
    return t


def publisher(secret="ssm"):
    t = base("StackState AWS topology: the Kinesis stream's records to StackState (publisher function)")
    function_params(t, secret)
    t["Parameters"]["StreamArn"] = {"Type": "String", "Description": "the stackstate-topo-kinesis stream"}
    t["Parameters"]["BatchSize"] = {"Type": "Number", "Default": 500, "MinValue": 1, "MaxValue": 10000}
    add_function(t, "stackstate-topo-publisher", "publisher",
                 [{"Effect": "Allow", "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                                                 "kinesis:GetRecords", "kinesis:GetShardIterator",
                                                 "kinesis:ListShards"],
                   "Resource": ref("StreamArn")},
                  {"Effect": "Allow", "Action": "kinesis:ListStreams", "Resource": "*"}],
                 {}, timeout=300, secret=secret)
    t["Resources"]["EventSource"] = {"Type": "AWS::Lambda::EventSourceMapping", "DependsOn": ["Role"], "Properties": {
        "FunctionName": ref("Function"), "EventSourceArn": ref("StreamArn"), "StartingPosition": "LATEST",
        "BatchSize": ref("BatchSize"), "MaximumBatchingWindowInSeconds": 5,
        "BisectBatchOnFunctionError": True, "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 21600,
        "DestinationConfig": {"OnFailure": {"Destination": att("FailureQueue", "Arn")}},
        "Tags": tags()}}
    return t


def topo_role():
    t = base("StackState AWS topology: a read-only role a central awstopo daemon assumes (one per account)")
    t["Parameters"].update({
        "CentralAccountId": {"Type": "String", "AllowedPattern": "[0-9]{12}",
                             "Description": "the account the awstopo daemon runs in"},
        "ExternalId": {"Type": "String", "MinLength": 2, "NoEcho": True},
        "RoleName": {"Type": "String", "Default": "StackStateTopoRole"},
    })
    with open(CRON_POLICY) as f:
        scan = json.load(f)
    t["Resources"]["Role"] = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": ref("RoleName"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": sub("arn:" + PART + ":iam::${CentralAccountId}:root")},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": ref("ExternalId")}}}]},
        "Policies": [{"PolicyName": "sts-topo-cron-policy", "PolicyDocument": scan}],
        "MaxSessionDuration": 3600, "Tags": tags()}}
    t["Outputs"] = {"RoleArn": {"Value": att("Role", "Arn")}}
    return t


# --- the StackSet install (awstopo install --organization BASE_URL API_KEY ID) ------------
# One stack per account and region holds what the single-account install spreads
# over five: the same builders' resources, renamed with the stack's prefix
# (Function -> CronFunction), wired to each other instead of through parameters
# (the stream, the secret), and the API key in a Secrets Manager secret the stack
# creates from a NoEcho parameter (CloudFormation cannot create an SSM
# SecureString, and the installer cannot reach every account to write one).
STACKSET_WIRING = {
    "ApiKeySecretArn": ref("ApiKeySecret"),
    # Lambda reads its code from a bucket in its own region: one per region
    "CodeBucket": sub("${CodeBucketPrefix}-${AWS::Region}"),
    "StreamArn": att("KinesisStream", "Arn"),
    "StreamName": ref("KinesisStream"),
}


def renamed(v, names, params):
    """v with logical ids (resources, conditions) renamed and wired parameters replaced."""
    if isinstance(v, list):
        return [renamed(x, names, params) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        fn, arg = next(iter(v.items()))
        if fn == "Ref":
            return json.loads(json.dumps(params[arg])) if arg in params else ref(names.get(arg, arg))
        if fn == "Fn::GetAtt":
            return att(names.get(arg[0], arg[0]), arg[1])
        if fn == "Fn::If":
            return {"Fn::If": [names.get(arg[0], arg[0])] + renamed(arg[1:], names, params)}
        if fn == "Fn::Sub" and isinstance(arg, str):
            def one(m):
                first, rest = m.group(1).split(".", 1)[0], m.group(1)[len(m.group(1).split(".", 1)[0]):]
                if first in params:
                    raise SystemExit("gen-templates: wired parameter %s inside Fn::Sub" % first)
                return "${" + names.get(first, first) + rest + "}"
            return sub(re.sub(r"\$\{([^!}][^}]*)\}", one, arg))
    out = {}
    for k, x in v.items():
        if k == "Condition" and isinstance(x, str):
            out[k] = names.get(x, x)
        elif k == "DependsOn":
            out[k] = [names[d] for d in x]
        else:
            out[k] = renamed(x, names, params)
    return out


def stackset_template(binary, full):
    parts = [("Cron", cron("secretsmanager"))]
    if full:
        parts += [("Kinesis", kinesis()), ("Cloudtrail", cloudtrail()),
                  ("Cwevents", cwevents(binary, "secretsmanager")), ("Publisher", publisher("secretsmanager"))]
    what = "cron, kinesis, cloudtrail, cwevents and publisher" if full else "the hourly cron function alone"
    t = base("StackState AWS topology for every account of an AWS Organization (StackSet): " + what)
    t["Parameters"].update({
        "StackStateUrl": {"Type": "String", "Description": "StackState base URL"},
        "ApiKey": {"Type": "String", "NoEcho": True, "MinLength": 1,
                   "Description": "StackState API key (kept in the stack's Secrets Manager secret)"},
        "CodeBucketPrefix": {"Type": "String", "Description": "the Lambda zip is in CodeBucketPrefix-REGION"},
    })
    t["Resources"]["ApiKeySecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {
        # no Name: a deleted secret's name stays reserved for its recovery window
        "Description": sub("StackState API key of the awstopo functions (configuration ${ConfigurationId})"),
        "SecretString": ref("ApiKey"), "Tags": tags()}}
    t["Outputs"] = {}
    for prefix, part in parts:
        names = {k: prefix + k for k in list(part["Resources"]) + list(part.get("Conditions", {}))}
        for k, d in part["Parameters"].items():
            if k in STACKSET_WIRING:
                continue
            if k in t["Parameters"] and t["Parameters"][k] != d:
                raise SystemExit("gen-templates: parameter %s differs between the stacks" % k)
            t["Parameters"][k] = d
        for k, c in part.get("Conditions", {}).items():
            t.setdefault("Conditions", {})[names[k]] = renamed(c, names, STACKSET_WIRING)
        for k, r in part["Resources"].items():
            if r["Type"] != "AWS::CloudFormation::WaitConditionHandle":    # a stack of its own needed one
                t["Resources"][names[k]] = renamed(r, names, STACKSET_WIRING)
        for k, o in part.get("Outputs", {}).items():
            t["Outputs"][prefix + k] = renamed(o, names, STACKSET_WIRING)
    if full:
        # the multi-region trail goes into one region of each account
        t["Parameters"]["TrailRegion"] = {"Type": "String",
                                          "Description": "the one region where the stack creates the trail"}
        t["Conditions"]["CloudtrailTrail"] = {"Fn::And": [t["Conditions"]["CloudtrailTrail"],
                                                          {"Fn::Equals": [ref("AWS::Region"), ref("TrailRegion")]}]}
    return t


def render(t):
    return json.dumps(t, indent=2, sort_keys=False) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(REPO, "awstopo"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    files = {
        "stackstate-topo-cron.json": cron(),
        "stackstate-topo-kinesis.json": kinesis(),
        "stackstate-topo-cloudtrail.json": cloudtrail(),
        "stackstate-topo-cwevents.json": cwevents(a.binary),
        "stackstate-topo-publisher.json": publisher(),
        "stackstate-topo-role.json": topo_role(),
        "stackstate-topo-stackset-minimal.json": stackset_template(a.binary, False),
        "stackstate-topo-stackset-full.json": stackset_template(a.binary, True),
    }
    stale = []
    for name, t in files.items():
        path = os.path.join(OUT, name)
        text = render(t)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if a.check:
            stale.append(name)
        else:
            os.makedirs(OUT, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print("wrote", os.path.relpath(path, REPO))
    if stale:
        print("stale (run make templates):", " ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
