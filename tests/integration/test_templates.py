"""test_templates.py -- deploy/cloudformation/ against the CloudFormation resource
specification (npm @aws-cdk/aws-service-spec, tools/cfn_check.py) and our rules.

Checks: every template passes (types, properties, required properties, GetAtt
attributes, references, parameters used, tags); the committed templates are
what tools/gen-templates.py writes now (the cwevents rules follow the mappings'
`events`); the checker itself rejects each kind of mistake it is there to
catch; no template has a parameter or variable that could carry the API key.
"""
import copy
import glob
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import cfn_check  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
DIR = os.path.join(REPO, "deploy", "cloudformation")
STACKS = ["stackstate-topo-cron", "stackstate-topo-kinesis", "stackstate-topo-cloudtrail",
          "stackstate-topo-cwevents", "stackstate-topo-publisher", "stackstate-topo-role",
          "stackstate-topo-stackset-minimal", "stackstate-topo-stackset-full"]
SINGLE = STACKS[:5]
check = checklib.Checks()


def load(name):
    with open(os.path.join(DIR, name + ".json")) as f:
        return json.load(f)


def rejects(spec, template, mutate, expect, what):
    t = copy.deepcopy(template)
    mutate(t)
    errors = cfn_check.check(t, spec)
    check(any(expect in e for e in errors), "%s: expected an error with %r, got %s" % (what, expect, errors))


def main():
    spec = cfn_check.Spec.load()
    print("resource specification: @aws-cdk/aws-service-spec", spec.version,
          "(%d resource types)" % len(spec.resources))

    check(sorted(os.path.basename(f)[:-5] for f in glob.glob(os.path.join(DIR, "*.json"))) == sorted(STACKS),
          "deploy/cloudformation holds exactly the eight templates")
    templates = {}
    for name in STACKS:
        templates[name] = t = load(name)
        errors = cfn_check.check(t, spec)
        check(errors == [], "%s: %s" % (name, "\n  ".join(errors)))
        print("%-28s %2d resources, %2d parameters" % (name, len(t["Resources"]), len(t["Parameters"])))

    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen-templates.py"), "--check",
                        "--binary", BIN], capture_output=True, text=True)
    check(r.returncode == 0, "templates are stale: " + r.stderr)

    # the cwevents rules cover exactly the mappings' events
    cw = templates["stackstate-topo-cwevents"]["Resources"]
    rules = {}
    for res in cw.values():
        pat = res.get("Properties", {}).get("EventPattern", {})
        if pat.get("detail-type") == ["AWS API Call via CloudTrail"]:
            rules[pat["detail"]["eventSource"][0]] = set(pat["detail"]["eventName"])
    sns = json.loads(subprocess.run([BIN, "mappings", "describe", "sns"], capture_output=True, text=True,
                                    check=True).stdout)
    check(rules.get("sns.amazonaws.com") == set(sns["events"]), "sns rule == sns mapping's events")
    check("elasticloadbalancing.amazonaws.com" in rules and "elbv2.amazonaws.com" not in rules,
          "event sources named as CloudTrail names them (endpointPrefix)")
    check(any(res.get("Properties", {}).get("EventPattern", {}).get("detail-type") ==
              ["EC2 Instance State-change Notification"] for res in cw.values()), "EC2 state-change rule")
    for res in cw.values():
        if res["Type"] == "AWS::Events::Rule":
            check(len(json.dumps(res["Properties"]["EventPattern"])) < 2048, "pattern under 2048 characters")

    # the publisher's event source mapping as the issue asks
    esm = templates["stackstate-topo-publisher"]["Resources"]["EventSource"]["Properties"]
    check(esm["BisectBatchOnFunctionError"] is True and esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
          and 0 < esm["MaximumRetryAttempts"] <= 10 and "OnFailure" in esm["DestinationConfig"],
          "publisher: bisect, batch item failures, bounded retries, on-failure destination")
    check(templates["stackstate-topo-cloudtrail"]["Resources"]["Trail"]["Properties"]["IsMultiRegionTrail"],
          "multi-region trail")
    check("ScheduleRule" in templates["stackstate-topo-cron"]["Resources"]
          and templates["stackstate-topo-cron"]["Parameters"]["Schedule"]["Default"] == "rate(1 hour)",
          "cron: hourly schedule")

    # the StackSet templates: the single-account stacks' resources in one stack each
    def uses(v, name):
        return name in json.dumps(v)
    for kind, parts in (("minimal", SINGLE[:1]), ("full", SINGLE)):
        t = templates["stackstate-topo-stackset-" + kind]
        want = sorted(r["Type"] for p in parts for r in templates[p]["Resources"].values()
                      if r["Type"] != "AWS::CloudFormation::WaitConditionHandle") + ["AWS::SecretsManager::Secret"]
        check(sorted(r["Type"] for r in t["Resources"].values()) == sorted(want),
              "stackset-%s: the resources of %s plus the secret" % (kind, ", ".join(parts)))
        check(t["Parameters"]["ApiKey"].get("NoEcho") is True, "stackset-%s: ApiKey is NoEcho" % kind)
        users = [k for k, r in t["Resources"].items() if uses(r, '"ApiKey"')]
        check(users == ["ApiKeySecret"] and t["Resources"]["ApiKeySecret"]["Properties"]["SecretString"] ==
              {"Ref": "ApiKey"}, "stackset-%s: only the secret sees the key (%s)" % (kind, users))
        check(not uses(t.get("Outputs", {}), "ApiKey"), "stackset-%s: no output shows the key" % kind)
        for k, r in t["Resources"].items():
            env = r.get("Properties", {}).get("Environment", {}).get("Variables")
            if env is not None:
                check(env.get("AWSTOPO_API_KEY_SECRET") == {"Ref": "ApiKeySecret"} and
                      "AWSTOPO_API_KEY_PARAMETER" not in env, "stackset-%s: %s reads the secret" % (kind, k))
                check(r["Properties"]["Code"]["S3Bucket"] == {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
                      "stackset-%s: %s's code from its region's bucket" % (kind, k))
    full = templates["stackstate-topo-stackset-full"]
    check(full["Conditions"]["CloudtrailTrail"]["Fn::And"][1] ==
          {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "TrailRegion"}]}, "stackset-full: the trail in one region")

    # the API key: only the name of an SSM parameter reaches a single-account template
    for name, t in templates.items():
        if "stackset" in name:
            continue
        for p in t["Parameters"]:
            check("apikey" not in p.lower() or p == "ApiKeyParameterName", "%s: parameter %s" % (name, p))
        for res in t["Resources"].values():
            env = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
            check("AWSTOPO_API_KEY" not in env, "%s: AWSTOPO_API_KEY in a function environment" % name)
            if env:
                check(env.get("AWSTOPO_API_KEY_PARAMETER") == {"Ref": "ApiKeyParameterName"},
                      "%s: function reads the key from SSM" % name)

    # the checker catches what it is there for
    cron = templates["stackstate-topo-cron"]
    fn = lambda t: t["Resources"]["Function"]["Properties"]  # noqa: E731
    rejects(spec, cron, lambda t: fn(t).update(Handlr="x"), "unknown property Handlr", "misspelt property")
    rejects(spec, cron, lambda t: fn(t).pop("Code"), "required property Code", "missing required")
    rejects(spec, cron, lambda t: fn(t).update(Timeout="soon"), "expected integer", "wrong type")
    rejects(spec, cron, lambda t: fn(t)["Code"].update(S3Bukket="b"), "unknown property S3Bukket", "nested property")
    rejects(spec, cron, lambda t: t["Resources"]["ScheduleRule"]["Properties"]["Targets"][0].update(
        Arn={"Fn::GetAtt": ["Function", "Arnn"]}), "no attribute Arnn", "bad GetAtt")
    rejects(spec, cron, lambda t: fn(t).update(MemorySize={"Ref": "Memory"}), "Memory resolves to no",
            "dangling Ref")
    rejects(spec, cron, lambda t: fn(t).update(FunctionName={"Fn::Sub": "x-${Nope}"}), "Nope resolves to no",
            "dangling Fn::Sub variable")
    rejects(spec, cron, lambda t: t["Parameters"].update(Unused={"Type": "String"}), "never used", "unused parameter")
    rejects(spec, cron, lambda t: fn(t).update(Tags=[]), "not tagged stackstate:awstopo-version", "untagged")
    rejects(spec, cron, lambda t: t["Resources"].update(X={"Type": "AWS::Lambda::Funktion"}),
            "unknown resource type", "unknown type")
    rejects(spec, cron, lambda t: fn(t).update(Role={"Fn::GetAtt": ["Role", "Arn"]}),
            "exists only under condition CreateRole", "conditional resource used unconditionally")
    rejects(spec, cron, lambda t: t["Resources"].update(Schedule=t["Resources"]["ScheduleRule"]),
            "logical id also used by a parameter", "a resource named like a parameter")
    pub = templates["stackstate-topo-publisher"]
    check(cfn_check.check(pub, spec) == [], "publisher with BisectBatchOnFunctionError passes (current spec)")

    return check.report()


if __name__ == "__main__":
    sys.exit(main())
