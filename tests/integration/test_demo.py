"""test_demo.py -- the bundled demo account (demo/, made by tools/gen-demo.py).

`awstopo scan --demo` replays demo/<region>/<mapping>.json (docs/cli.md) for "Acme
shop", account 123456789012, in eu-west-1 and us-east-1. What is checked:

  a  demo/ is what tools/gen-demo.py makes (its responses checked against models/)
  b  the scan exits 0 with no failed run and no warning; every mapping on the
     mapping path produces components, in every region it has recordings for
  c  every externalId is unique (components and relations)
  d  every relation end is an emitted component's externalId or one of its
     identifiers, except the deliberately external ends of EXTERNAL below
  e  intake payloads: start_snapshot on the first, stop_snapshot on the last, none
     in between, instance {type aws, url demo}; together they hold the topology
  f  spot checks of relations the demo was designed to show
  g  --regions eu-west-1 alone still exits 0, and leaves us-east-1 out
  h  the dot output renders with Graphviz as `make demo` runs it (when dot is installed)

Run with /usr/bin/python3 from the repository root (tests/run does), AWSTOPO_BIN
naming the binary. The last line is "N passed, N failed"; the exit status is
non-zero on failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import checklib  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
PY = os.environ.get("PY") or sys.executable
REGIONS = ["eu-west-1", "us-east-1"]

# The 19 bundled mappings the demo covers, with the type prefix of their components.
MAPPINGS = {
    "apigateway": "aws.apigateway.", "autoscaling": "aws.autoscaling.", "cloudformation": "aws.cloudformation.",
    "dynamodb": "aws.dynamodb.", "ec2": "aws.ec2.instance", "ecs": "aws.ecs.", "elb": "aws.elb.",
    "elbv2": "aws.elbv2.", "firehose": "aws.firehose.", "kinesis": "aws.kinesis.", "lambda": "aws.lambda.",
    "rds": "aws.rds.", "redshift": "aws.redshift.", "route53": "aws.route53.", "s3": "aws.s3.",
    "sns": "aws.sns.", "sqs": "aws.sqs.", "vpc": "aws.ec2.vpc", "vpngateway": "aws.ec2.vpn-gateway",
}

# Relation ends no component carries, on purpose (docs/relations.md, "Ends that are
# not components"): (rule, why). A region rule matches an ARN or a load balancer DNS
# name (urn:dns:/...<region>.elb.amazonaws.com) of a region the scan left out.
EXTERNAL = [
    ("prefix urn:url:/", "the HTTP backend of an API Gateway HTTP/HTTP_PROXY integration: outside AWS"),
    ("prefix urn:ip:/", "an IP address target of a target group: no mapping emits bare addresses"),
    ("region not scanned", "a resource in a region the scan does not cover (e.g. --regions eu-west-1: the "
                           "us.acme-shop.com alias to the us-east-1 load balancer)"),
]
# The external ends the full demo scan has, exactly: the backoffice HTTP backend of
# GET /orders on shop-api.
EXPECTED_EXTERNAL = {"urn:url:/https://backoffice.acme-shop.com/api/orders"}

check = checklib.NamedChecks()
WORK = tempfile.mkdtemp(prefix="awstopo-demo-test-")


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    e.update(HOME=WORK, AWSTOPO_HOME=ROOT, AWS_CONFIG_FILE=os.path.join(WORK, "no-config"),
             AWS_SHARED_CREDENTIALS_FILE=os.path.join(WORK, "no-credentials"), AWS_EC2_METADATA_DISABLED="true")
    return e


def run(args, timeout=120):
    p = subprocess.run(args, env=env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


SUMMARY = re.compile(r"^scan: (\d+) components, (\d+) relations; (\d+) runs, (\d+) failed; .*; (\d+) warnings;", re.M)


def scan(name, *extra):
    """Scans the demo into json and intake files: (rc, stderr, topology, payloads)."""
    out_json = os.path.join(WORK, name + ".json")
    out_intake = os.path.join(WORK, name + ".intake.json")
    rc, _out, err = run([BIN, "scan", "--demo", "-v", *extra, "--output", out_json, "--format", "json",
                         "--output", out_intake, "--format", "intake"])
    topology = payloads = None
    if os.path.exists(out_json):
        with open(out_json, encoding="utf-8") as f:
            topology = json.load(f)
    if os.path.exists(out_intake):
        with open(out_intake, encoding="utf-8") as f:
            payloads = json.load(f)
    return rc, err, topology, payloads


# --- reading a topology ------------------------------------------------------------


class Topology:
    def __init__(self, data):
        self.components = data["components"]
        self.relations = data["relations"]
        self.ends = {}          # externalId or identifier -> the component's externalId
        for c in self.components:
            self.ends[c["externalId"]] = c["externalId"]
        for c in self.components:
            for ident in c["data"].get("identifiers") or []:
                self.ends.setdefault(ident, c["externalId"])
        self.triples = {(r["sourceId"], r["type"]["name"], r["targetId"]) for r in self.relations}

    def find(self, type_name, name):
        found = [c for c in self.components if c["type"]["name"] == type_name and c["data"].get("name") == name]
        if len(found) != 1:
            raise AssertionError("%d components %s named %s" % (len(found), type_name, name))
        return found[0]

    def id(self, type_name, name):
        return self.find(type_name, name)["externalId"]

    def has(self, source, rel, target):
        return (source, rel, target) in self.triples

    def external_ends(self):
        ends = set()
        for r in self.relations:
            for end in (r["sourceId"], r["targetId"]):
                if end not in self.ends:
                    ends.add(end)
        return ends


def region_of(end):
    """The region an ARN or a load balancer's urn:dns: name is in, or None."""
    if end.startswith("arn:"):
        parts = end.split(":")
        return parts[3] if len(parts) > 3 and parts[3] else None
    m = re.match(r"^urn:dns:/.*\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.elb\.amazonaws\.com(?:\.cn)?$", end) or \
        re.match(r"^urn:dns:/.*\.elb\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$", end)
    return m.group(1) if m else None


def allowed_external(end, regions):
    """The EXTERNAL rule that lets `end` be outside the topology, or None."""
    for rule, _why in EXTERNAL:
        if rule.startswith("prefix ") and end.startswith(rule[len("prefix "):]):
            return rule
    region = region_of(end)
    if region and region not in regions:
        return "region not scanned"
    return None


# --- the tests ---------------------------------------------------------------------


def test_generated():
    """(a) demo/ is up to date with tools/gen-demo.py."""
    rc, out, err = run([PY, os.path.join(ROOT, "tools", "gen-demo.py"), "--check"])
    check("a: demo/ is what tools/gen-demo.py makes (python3 tools/gen-demo.py rewrites it)", rc == 0, out + err)


def mapping_info():
    rc, out, err = run([BIN, "mappings", "list"])
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    info = {}
    for name in names:
        rc2, desc, err2 = run([BIN, "mappings", "describe", name])
        d = json.loads(desc) if rc2 == 0 else {}
        info[name] = {"types": set(d.get("types", {})), "scope": d.get("scope")}
    return info


def test_full(info):
    rc, err, data, payloads = scan("full")
    summary = SUMMARY.search(err)
    check("b: scan --demo exits 0", rc == 0, err)
    check("b: no error or warning on stderr", not re.search(r"(?im)^(error|warning|awstopo: )", err), err)
    check("b: summary: no failed run, no warning",
          summary is not None and summary.group(4) == "0" and summary.group(5) == "0", err)
    if not check("b: the json output is there", isinstance(data, dict) and data.get("components"), err):
        return None
    t = Topology(data)
    print("     %d components, %d relations" % (len(t.components), len(t.relations)))

    # every mapping: the 19 bundled ones by type prefix, and each on the path by its types
    types = {c["type"]["name"] for c in t.components}
    for name, prefix in sorted(MAPPINGS.items()):
        check("b: mapping %s produced components (%s*)" % (name, prefix),
              any(ty.startswith(prefix) for ty in types))
    check("b: the 19 bundled mappings are on the mapping path", set(MAPPINGS) <= set(info), sorted(info))
    for name, m in sorted(info.items()):
        check("b: mapping %s produced components of its declared types" % name, m["types"] & types,
              sorted(m["types"]))
    # and in each region it has recordings for (regional mappings)
    for region in REGIONS:
        for path in sorted(os.listdir(os.path.join(ROOT, "demo", region))):
            name = path[:-len(".json")]
            m = info.get(name)
            if not m or m["scope"] != "regional":
                continue
            here = [c for c in t.components if c["type"]["name"] in m["types"]
                    and c["data"]["Location"]["AwsRegion"] == region]
            check("b: %s produced components in %s" % (name, region), here)

    # (c) unique ids
    ids = [c["externalId"] for c in t.components]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    check("c: every component externalId is unique", not dup, dup)
    rids = [r["externalId"] for r in t.relations]
    dup = sorted({i for i in rids if rids.count(i) > 1})
    check("c: every relation externalId is unique", not dup, dup)
    check("c: relation externalIds are <source>-<type>-<target>",
          all(r["externalId"] == "%s-%s-%s" % (r["sourceId"], r["type"]["name"], r["targetId"]) for r in t.relations))

    # (d) relation ends
    external = t.external_ends()
    bad = sorted(e for e in external if not allowed_external(e, REGIONS))
    check("d: every relation end is a component (externalId or identifier) or allowed external", not bad, bad)
    for e in sorted(external):
        print("     external end (%s): %s" % (allowed_external(e, REGIONS), e))
    check("d: the external ends are exactly the designed ones", external == EXPECTED_EXTERNAL, sorted(external))

    test_payloads(payloads, t, "e")
    return t


def test_payloads(payloads, t, label, max_items=None):
    """(e) intake payloads: snapshot flags, instance, contents."""
    if not check("%s: intake payloads written%s" % (label, " (%d per payload)" % max_items if max_items else ""),
                 isinstance(payloads, list) and payloads, payloads):
        return
    tops = [p["topologies"][0] for p in payloads]
    check("%s: one topology per payload" % label, all(len(p["topologies"]) == 1 for p in payloads))
    check("%s: start_snapshot on the first payload only" % label,
          [x["start_snapshot"] for x in tops] == [True] + [False] * (len(tops) - 1),
          [x["start_snapshot"] for x in tops])
    check("%s: stop_snapshot on the last payload only" % label,
          [x["stop_snapshot"] for x in tops] == [False] * (len(tops) - 1) + [True], [x["stop_snapshot"] for x in tops])
    check("%s: instance {type aws, url demo} in every payload" % label,
          all(x["instance"] == {"type": "aws", "url": "demo"} for x in tops), [x["instance"] for x in tops])
    comps = [c["externalId"] for x in tops for c in x["components"]]
    rels = [r["externalId"] for x in tops for r in x["relations"]]
    check("%s: the payloads hold the topology, each item once" % label,
          sorted(comps) == sorted(c["externalId"] for c in t.components)
          and sorted(rels) == sorted(r["externalId"] for r in t.relations), (len(comps), len(rels)))
    if max_items:
        check("%s: no payload over %d items" % (label, max_items),
              all(len(x["components"]) + len(x["relations"]) <= max_items for x in tops) and len(tops) > 2,
              [len(x["components"]) + len(x["relations"]) for x in tops])


def test_chunked(t):
    """(e) the same with many payloads."""
    rc, err, _data, payloads = scan("chunked", "--max-payload-items", "60")
    check("e: scan --demo --max-payload-items 60 exits 0", rc == 0, err)
    test_payloads(payloads, t, "e", max_items=60)


def test_spot_checks(t):
    """(f) relations the demo was designed to show."""
    alb = t.find("aws.elbv2.application-load-balancer", "shop-alb")
    web_tg = t.id("aws.elbv2.target-group", "shop-web-tg")
    api_tg = t.id("aws.elbv2.target-group", "orders-api-tg")
    inst = lambda name: t.id("aws.ec2.instance", name)  # noqa: E731
    fn = lambda name: t.id("aws.lambda.function", name)  # noqa: E731
    queue = lambda name: t.id("aws.sqs.queue", name)  # noqa: E731
    record = lambda name: t.id("aws.route53.record-set", name)  # noqa: E731
    checks = [
        ("the ALB routes-to the web target group", t.has(alb["externalId"], "routes-to", web_tg)),
        ("the ALB routes-to the orders-api target group", t.has(alb["externalId"], "routes-to", api_tg)),
        ("the web target group routes-to web-1 and web-2",
         t.has(web_tg, "routes-to", inst("web-1")) and t.has(web_tg, "routes-to", inst("web-2"))),
        ("the web target group routes-to its Auto Scaling group",
         t.has(web_tg, "routes-to", t.id("aws.autoscaling.group", "shop-web-asg"))),
        ("the Auto Scaling group has web-1",
         t.has(t.id("aws.autoscaling.group", "shop-web-asg"), "has", inst("web-1"))),
        ("the classic ELB routes-to the backoffice instance",
         t.has(t.id("aws.elb.load-balancer", "backoffice"), "routes-to", inst("backoffice-1"))),
        ("the ECS cluster runs-on both container hosts",
         all(t.has(t.id("aws.ecs.cluster", "shop-cluster"), "runs-on", inst(h)) for h in ("ecs-host-1", "ecs-host-2"))),
        ("the ECS service uses its target group", t.has(t.id("aws.ecs.service", "orders-api"), "uses", api_tg)),
        ("the orders-api target group routes-to the ECS hosts",
         all(t.has(api_tg, "routes-to", inst(h)) for h in ("ecs-host-1", "ecs-host-2"))),
        ("the SQS queue triggers the Lambda function", t.has(queue("orders-queue"), "triggers", fn("order-processor"))),
        ("the queue uses its dead-letter queue", t.has(queue("orders-queue"), "uses", queue("orders-dlq"))),
        ("a function uses the Kinesis stream", t.has(fn("clickstream-enricher"), "uses",
                                                    t.id("aws.kinesis.stream", "clickstream"))),
        ("a function uses the DynamoDB stream, which its table has",
         any(t.has(fn("orders-stream-indexer"), "uses", s["externalId"])
             and t.has(t.id("aws.dynamodb.table", "orders"), "has", s["externalId"])
             for s in t.components if s["type"]["name"] == "aws.dynamodb.stream")),
        ("the function has its alias", t.has(fn("order-api"), "has", t.id("aws.lambda.alias", "order-api:live"))),
        ("the function runs-in a private subnet", t.has(fn("order-api"), "runs-in",
                                                        t.id("aws.ec2.subnet", "acme-prod-private-a"))),
        ("the SNS topic publishes-to the SQS queue and the Lambda function",
         t.has(t.id("aws.sns.topic", "order-events"), "publishes-to", queue("order-notifications"))
         and t.has(t.id("aws.sns.topic", "order-events"), "publishes-to", fn("order-notifier"))),
        ("the S3 bucket publishes-to the Lambda function (both regions)",
         t.has(t.id("aws.s3.bucket", "acme-shop-uploads"), "publishes-to", fn("image-resizer"))
         and t.has(t.id("aws.s3.bucket", "acme-shop-us-uploads"), "publishes-to", fn("us-image-resizer"))),
        ("Kinesis stream delivers-to Firehose delivers-to S3",
         t.has(t.id("aws.kinesis.stream", "clickstream"), "delivers-to",
               t.id("aws.firehose.delivery-stream", "clickstream-archive"))
         and t.has(t.id("aws.firehose.delivery-stream", "clickstream-archive"), "delivers-to",
                   t.id("aws.s3.bucket", "acme-shop-clickstream-archive"))),
        ("the API method routes-to the Lambda function (unqualified)",
         t.has(t.id("aws.apigateway.method", "shop-api GET /orders/{orderId}"), "routes-to", fn("order-api"))),
        ("the API method routes-to the SQS queue",
         t.has(t.id("aws.apigateway.method", "shop-api POST /orders"), "routes-to", queue("orders-queue"))),
        ("the Aurora cluster has both instances",
         all(t.has(t.id("aws.rds.cluster", "shop-aurora"), "has", t.id("aws.rds.instance", i))
             for i in ("shop-aurora-1", "shop-aurora-2"))),
        ("the Redshift cluster runs-in the VPC",
         t.has(t.id("aws.redshift.cluster", "acme-analytics"), "runs-in", t.id("aws.ec2.vpc", "acme-prod"))),
        ("the VPN gateway is attached-to the VPC",
         t.has(t.id("aws.ec2.vpn-gateway", "office-vpn"), "attached-to", t.id("aws.ec2.vpc", "acme-prod"))),
        ("the stack has the Auto Scaling group (resolved by name) and the hosted zone",
         t.has(t.id("aws.cloudformation.stack", "acme-shop-app"), "has", t.id("aws.autoscaling.group", "shop-web-asg"))
         and t.has(t.id("aws.cloudformation.stack", "acme-network"), "has",
                   t.id("aws.route53.hosted-zone", "acme-shop.com"))),
        ("the apex alias routes-to the www record", t.has(record("acme-shop.com A"), "routes-to",
                                                          record("www.acme-shop.com A"))),
    ]
    for name, ok in checks:
        check("f: " + name, ok)

    # Route 53 alias -> urn:dns:/<ALB DNS name>, which the ALB carries
    dns = "urn:dns:/" + alb["data"]["DNSName"].lower()
    check("f: the www record routes-to urn:dns:/<ALB DNS name>", t.has(record("www.acme-shop.com A"), "routes-to", dns),
          dns)
    check("f: the ALB carries that identifier", dns in alb["data"]["identifiers"], alb["data"]["identifiers"])
    elb = t.find("aws.elb.load-balancer", "backoffice")
    dns = "urn:dns:/" + elb["data"]["DNSName"].lower()
    check("f: the admin CNAME routes-to the classic ELB's urn:dns identifier",
          t.has(record("admin.acme-shop.com CNAME"), "routes-to", dns) and dns in elb["data"]["identifiers"])
    us_alb = t.find("aws.elbv2.application-load-balancer", "shop-us-alb")
    check("f: the us record routes-to the us-east-1 ALB",
          t.ends.get("urn:dns:/" + us_alb["data"]["DNSName"].lower()) == us_alb["externalId"]
          and t.has(record("us.acme-shop.com A"), "routes-to", "urn:dns:/" + us_alb["data"]["DNSName"].lower()))

    # tags: team / env / cost-center labels and the stackstate-* variants
    check("f: tags become labels (team, env, cost-center)",
          {"team:storefront", "env:prod", "cost-center:CC-2040"} <= set(alb["data"]["labels"]), alb["data"]["labels"])
    check("f: stackstate-identifier tag -> identifier", "urn:service:/shop-frontend" in alb["data"]["identifiers"])
    aurora = t.find("aws.rds.cluster", "shop-aurora")
    check("f: stackstate_identifiers tag -> several identifiers",
          {"urn:db:/shop", "urn:service:/orders-db"} <= set(aurora["data"]["identifiers"]),
          aurora["data"]["identifiers"])
    check("f: StackstateIdentifier tag -> identifier",
          "urn:service:/order-processor" in t.find("aws.lambda.function", "order-processor")["data"]["identifiers"])
    check("f: STACKSTATE-ENVIRONMENT tag -> environment",
          t.find("aws.s3.bucket", "acme-shop-staging-assets")["data"]["environment"] == "Staging"
          and t.find("aws.apigateway.stage", "shop-api staging")["data"]["environment"] == "Staging"
          and alb["data"]["environment"] == "Production")


def test_one_region(t_full):
    """(g) --regions eu-west-1 alone."""
    rc, err, data, payloads = scan("eu-only", "--regions", "eu-west-1")
    summary = SUMMARY.search(err)
    check("g: scan --demo --regions eu-west-1 exits 0", rc == 0, err)
    check("g: no failed run, no warning", summary is not None and summary.group(4) == "0"
          and summary.group(5) == "0", err)
    if not isinstance(data, dict):
        return
    t = Topology(data)
    print("     %d components, %d relations" % (len(t.components), len(t.relations)))
    us = sorted(c["externalId"] for c in t.components if region_of(c["externalId"]) == "us-east-1"
                or (c["type"]["name"] == "aws.s3.bucket" and c["data"]["Location"]["AwsRegion"] == "us-east-1"))
    check("g: nothing of us-east-1 is scanned", not us, us)
    check("g: the global mappings (Route 53, S3) ran in eu-west-1",
          any(c["type"]["name"].startswith("aws.route53.") for c in t.components)
          and any(c["type"]["name"] == "aws.s3.bucket" for c in t.components))
    external = t.external_ends()
    bad = sorted(e for e in external if not allowed_external(e, ["eu-west-1"]))
    check("g: every relation end is a component or allowed external", not bad, bad)
    for e in sorted(external):
        print("     external end (%s): %s" % (allowed_external(e, ["eu-west-1"]), e))
    us_dns = "urn:dns:/" + t_full.find("aws.elbv2.application-load-balancer", "shop-us-alb")["data"]["DNSName"].lower()
    check("g: the alias to the us-east-1 ALB is now an end in a region not scanned",
          us_dns in external and allowed_external(us_dns, ["eu-west-1"]) == "region not scanned", sorted(external))
    test_payloads(payloads, t, "g")


def test_dot():
    """(h) the picture `make demo` draws."""
    dot = shutil.which("dot")
    if not dot:
        print("skip h: graphviz (dot) is not installed")
        return
    out = os.path.join(WORK, "demo.dot")
    rc, _out, err = run([BIN, "scan", "--demo", "--output", out])
    check("h: scan --demo --output demo.dot exits 0", rc == 0, err)
    rc, svg, err = run([dot, "-Gnewrank=true", "-Tsvg", out])
    check("h: dot -Gnewrank=true -Tsvg renders it (as make demo does)", rc == 0 and "<svg" in svg, err)


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL no awstopo binary at %s (set AWSTOPO_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    try:
        test_generated()
        info = mapping_info()
        t = test_full(info)
        if t:
            test_chunked(t)
            test_spot_checks(t)
            test_one_region(t)
        test_dot()
    except Exception:
        check("no exception", False, traceback.format_exc())
    shutil.rmtree(WORK, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
