"""test_stackpack.py -- `awstopo stackpack export`: the StackState configuration of an
instance, generated from the mappings' declarations (docs/stackpack.md).

Checks the document's structure (every node typed, ids negative and unique,
every negative-id reference resolving, identifiers unique), that every
component type of the 19 bundled mappings has its type node, layer, domain and
one "Go to ... console" action bound to that type, the three views' STQL
(instance label, the Networking/Storage/Machines layers, the S3/Lambda/ALB
types), the instance's data source and sync, that the demo scan's components
fit the configuration (types, layers, console URLs), that a user mapping
directory gets its own types, layer and action, and that bad declarations and
bad instance names are clear errors that write nothing.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
check = checklib.Checks()


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("AWSTOPO_MAPPING_PATH", None)
    e.pop("AWSTOPO_INSTANCE", None)
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, env=e, cwd=REPO)


def export(tmp, instance, *extra):
    out = os.path.join(tmp, "export-%s.json" % len(os.listdir(tmp)))
    p = run("stackpack", "export", "--instance", instance, "--output", out, *extra)
    if p.returncode != 0:
        print(p.stderr)
        return None, p
    with open(out) as f:
        return json.load(f), p


def declared_types(*extra):
    names = run("mappings", "list", *extra).stdout.split()[0::2]
    types = {}
    for name in names:
        decl = json.loads(run("mappings", "describe", name, *extra).stdout)
        for t, d in decl["types"].items():
            types[t] = d
    return names, types


def walk_ids(value, ids, refs, key=None):
    """Collects the ids defined ("id" members) and every other negative integer (references)."""
    if isinstance(value, dict):
        for k, v in value.items():
            walk_ids(v, ids, refs, k)
    elif isinstance(value, list):
        for v in value:
            walk_ids(v, ids, refs, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        if key == "id":
            ids.append(value)
        elif value < 0:
            refs.append((key, value))


def by_type(doc, t):
    return [n for n in doc["nodes"] if n["_type"] == t]


def structure(doc, what):
    check(isinstance(doc.get("_version"), str) and re.match(r"^\d+\.\d+\.\d+$", doc["_version"]),
          "%s: _version" % what)
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc.get("timestamp", "")), "%s: timestamp" % what)
    nodes = doc.get("nodes")
    check(isinstance(nodes, list) and nodes, "%s: nodes" % what)
    check(all(isinstance(n.get("_type"), str) for n in nodes), "%s: every node has a _type" % what)
    ids, refs = [], []
    walk_ids(doc, ids, refs)
    check(all(i < 0 for i in ids), "%s: ids are negative (new nodes)" % what)
    check(len(ids) == len(set(ids)), "%s: ids unique: %s" % (what, sorted(i for i in ids if ids.count(i) > 1)))
    missing = [r for r in refs if r[1] not in set(ids)]
    check(refs and not missing, "%s: every negative-id reference resolves: %s" % (what, missing))
    idents = [n["identifier"] for n in nodes]
    check(all(i.startswith("urn:stackpack:") for i in idents), "%s: every node has a urn:stackpack identifier" % what)
    check(len(idents) == len(set(idents)), "%s: identifiers unique" % what)
    return {n["id"]: n for n in nodes}


def bundled(tmp):
    doc, p = export(tmp, "prod")
    check(doc is not None, "export --instance prod")
    if doc is None:
        return None
    check(p.stderr == "", "bundled mappings: no warnings: %r" % p.stderr)
    nodes = structure(doc, "bundled")

    names, types = declared_types()
    check(len(names) == 19, "19 bundled mappings: %s" % names)
    ctypes = {n["name"]: n for n in by_type(doc, "ComponentType")}
    check(set(ctypes) == set(types), "one ComponentType per declared type: %s" % (set(ctypes) ^ set(types)))
    actions = by_type(doc, "ComponentActionDefinition")
    for t, d in sorted(types.items()):
        bound = [a for a in actions if re.search(r'\btype = "%s"' % re.escape(t), a["bindQuery"])]
        check(len(bound) == 1, "%s: exactly one action bound to it (%d)" % (t, len(bound)))
        if bound:
            a = bound[0]
            check(a["name"] == d["action"]["name"] and re.match(r"^Go to .+ console$", a["name"]),
                  "%s: action named like its declaration: %r" % (t, a["name"]))
            check('label = "stackpack:aws"' in a["bindQuery"], "%s: action bound to AWS components only" % t)
            check("ConsoleUrl" in a["script"] and "UI.redirectToURL(url)" in a["script"],
                  "%s: action opens the component's ConsoleUrl" % t)
    check(len(actions) == len(types), "no action beyond the types' (%d actions)" % len(actions))

    layers = {n["name"]: n for n in by_type(doc, "Layer")}
    check(set(layers) == {d["layer"] for d in types.values()}, "a Layer node per declared layer: %s" % sorted(layers))
    check(layers.get("Networking", {}).get("identifier") == "urn:stackpack:common:layer:networking",
          "common layers keep StackState's common identifier")
    check(layers["Machines"]["order"] < layers["Storage"]["order"] < layers["Networking"]["order"],
          "layer order as StackState's common layers")
    check([n["name"] for n in by_type(doc, "Domain")] == ["AWS"], "one Domain, AWS")

    views = {n["name"]: n for n in by_type(doc, "QueryView")}
    check(sorted(views) == ["AWS - prod - All", "AWS - prod - Infrastructure", "AWS - prod - Serverless"],
          "the three views: %s" % sorted(views))
    instance_label = 'label = "stackpack:aws" AND label = "aws-instance:prod"'
    for name, v in views.items():
        check(v["query"].startswith(instance_label), "%s selects the instance: %s" % (name, v["query"]))
        check(" OR " not in v["query"] and " NOT " not in v["query"],
              "%s: only AND (STQL binds NOT, OR before AND)" % name)
    infra = views.get("AWS - prod - Infrastructure", {}).get("query", "")
    m = re.search(r"layer IN \(([^)]*)\)", infra)
    check(m and set(re.findall(r'"([^"]+)"', m.group(1))) == {"Networking", "Storage", "Machines"},
          "Infrastructure = Networking, Storage, Machines: %s" % infra)
    sless = views.get("AWS - prod - Serverless", {}).get("query", "")
    m = re.search(r"type IN \(([^)]*)\)", sless)
    check(m and set(re.findall(r'"([^"]+)"', m.group(1))) == {
        "aws.s3.bucket", "aws.lambda.function", "aws.lambda.alias", "aws.elbv2.application-load-balancer"},
        "Serverless = S3 buckets, Lambdas, application load balancers: %s" % sless)

    ds = by_type(doc, "DataSource")
    check(len(ds) == 1 and ds[0]["config"]["topic"] == "sts_topo_aws_prod", "data source on sts_topo_aws_prod")
    sync = by_type(doc, "Sync")
    check(len(sync) == 1 and sync[0]["extTopology"] == ds[0]["extTopology"]["id"], "sync reads the data source")
    if sync:
        act = sync[0]["defaultComponentAction"]
        mapping = nodes.get(act["mappingFunction"], {})
        check(mapping.get("_type") == "ComponentMappingFunction" and '"aws-instance:prod"' in mapping.get("script", ""),
              "the sync labels components aws-instance:prod")
        check(nodes.get(act["templateFunction"], {}).get("_type") == "ComponentTemplateFunction",
              "component template function")
        q = sync[0]["topologyDataQuery"]
        check(nodes.get(q["componentIdExtractorFunction"], {}).get("_type") == "IdExtractorFunction" and
              nodes.get(q["relationIdExtractorFunction"], {}).get("_type") == "IdExtractorFunction",
              "id extractor functions")

    # what the mappings emit fits the configuration
    scan = run("scan", "--demo", "--output", "-", "--format", "json")
    comps = json.loads(scan.stdout)["components"] if scan.returncode == 0 else []
    check(len(comps) > 100, "demo scan: %d components" % len(comps))
    bad = [(c["type"]["name"], c["data"].get("layer")) for c in comps
           if c["type"]["name"] not in ctypes or c["data"].get("layer") not in layers
           or c["data"].get("domain") != "AWS" or "stackpack:aws" not in c["data"].get("labels", [])]
    check(not bad, "demo components have a type, layer, domain and label of the configuration: %s" % bad[:5])
    no_url = sorted({c["type"]["name"] for c in comps
                     if not str(c["data"].get("ConsoleUrl", "")).startswith("https://console.aws.amazon.com/")})
    check(not no_url, "demo components carry the ConsoleUrl their action opens: %s" % no_url)
    return doc


def second_instance(tmp, first):
    doc, _ = export(tmp, "staging")
    if doc is None or first is None:
        check(False, "export --instance staging")
        return
    shared = lambda d: {n["identifier"] for n in d["nodes"] if ":instance:" not in n["identifier"]}  # noqa: E731
    mine = lambda d: {n["identifier"] for n in d["nodes"] if ":instance:" in n["identifier"]}  # noqa: E731
    check(shared(doc) == shared(first), "shared nodes keep their identifiers across instances")
    check(mine(doc) and not (mine(doc) & mine(first)), "instance nodes are the instance's own")
    strip = lambda d: [n for n in d["nodes"] if ":instance:" not in n["identifier"]]  # noqa: E731
    check(json.dumps(strip(doc), sort_keys=True) == json.dumps(strip(first), sort_keys=True),
          "output is stable: shared nodes identical")
    p = run("stackpack", "export", "--instance", "a b.c", "--output", "-")
    d = json.loads(p.stdout) if p.returncode == 0 else {"nodes": []}
    check([n["config"]["topic"] for n in by_type(d, "DataSource")] == ["sts_topo_aws_a_b.c"],
          "topic: characters Kafka refuses become _")
    p = run("stackpack", "export", env={"AWSTOPO_INSTANCE": "fromenv"})
    check(p.returncode == 0 and "AWS - fromenv - All" in p.stdout, "AWSTOPO_INSTANCE gives the instance")


USER_MAPPING = """
local M = {
  service = "sqs",
  scope = "regional",
  calls = { "ListQueues" },
  types = {
    ["aws.widgets.widget"] = {
      layer = "Gadgets",
      views = { %s },
      action = { name = "Go to Widget console", url = "{console}/widgets/home?region={region}#{name|url}" },
    },
    ["aws.widgets.part"] = { layer = "%s" %s },
  },
}
function M.scan(ctx) ctx.log("no widgets") end
return M
"""


def user_mapping(tmp):
    udir = os.path.join(tmp, "user")
    os.makedirs(udir)

    def write(views, part_layer="Gadgets", part_extra=', views = { "all", "infrastructure" }'):
        with open(os.path.join(udir, "widgets.lua"), "w") as f:
            f.write(USER_MAPPING % (views, part_layer, part_extra))

    write('"all", "infrastructure", "serverless"')
    doc, p = export(tmp, "prod", "--mappings", udir)
    check(doc is not None, "export with a user mapping directory")
    if doc is None:
        return
    structure(doc, "user mapping")
    ctypes = {n["name"] for n in by_type(doc, "ComponentType")}
    check({"aws.widgets.widget", "aws.widgets.part", "aws.sqs.queue"} <= ctypes, "user types next to the bundled")
    acts = [a for a in by_type(doc, "ComponentActionDefinition") if "aws.widgets.widget" in a["bindQuery"]]
    check(len(acts) == 1 and acts[0]["name"] == "Go to Widget console", "the user type's own action")
    check(not [a for a in by_type(doc, "ComponentActionDefinition") if "aws.widgets.part" in a["bindQuery"]],
          "a type without action gets none")
    check("aws.widgets.part: no `action`" in p.stderr, "and a warning says so: %r" % p.stderr)
    layer = [n for n in by_type(doc, "Layer") if n["name"] == "Gadgets"]
    check(len(layer) == 1 and layer[0]["identifier"] == "urn:stackpack:awstopo:shared:layer:gadgets",
          "a layer StackState does not have gets the awstopo identifier")
    views = {n["name"]: n["query"] for n in by_type(doc, "QueryView")}
    check('"Gadgets"' in views.get("AWS - prod - Infrastructure", ""), "the user layer joins Infrastructure")
    check('"aws.widgets.widget"' in views.get("AWS - prod - Serverless", "") and
          '"aws.widgets.part"' not in views.get("AWS - prod - Serverless", ""), "the user type joins Serverless")

    out = os.path.join(tmp, "must-not-exist.json")

    def refused(what, expect, *args):
        p = run("stackpack", "export", "--instance", "prod", "--output", out, "--mappings", udir, *args)
        check(p.returncode == 2 and expect in p.stderr, "%s: exit 2 with %r, got %d %r" %
              (what, expect, p.returncode, p.stderr))
        check(not os.path.exists(out) and not [f for f in os.listdir(tmp) if ".tmp" in f],
              "%s: nothing written" % what)
        if os.path.exists(out):
            os.remove(out)

    write('"all", "everything"')
    refused("unknown view", 'mapping widgets, type aws.widgets.widget: unknown view "everything"')
    write('"all"', "Databases", ', views = { "all", "infrastructure" }')
    refused("a layer split over the Infrastructure view",
            "layer Databases: type aws.widgets.part declares the infrastructure view and type aws.dynamodb.table")
    write('"all"', "Gadgets", ', action = { name = "Go" }')
    refused("an action without url", "mapping widgets, type aws.widgets.part: `action` must be")
    write('"all"', 'Bad\\" layer', "")
    refused("a layer name STQL would need quoting for", "layer \"Bad\\\" layer\"")
    shutil.copy(os.path.join(REPO, "mappings", "sqs.lua"), os.path.join(udir, "sqs2.lua"))
    os.remove(os.path.join(udir, "widgets.lua"))
    refused("a type declared by two mappings", "mapping sqs2, type aws.sqs.queue: also declared by mapping sqs")


def usage():
    for args, expect in [
        (["stackpack"], "say what to do"),
        (["stackpack", "export"], "--instance NAME is required"),
        (["stackpack", "export", "--instance", ""], "1 to 100 characters"),
        (["stackpack", "export", "--instance", 'pro"d'], "may not contain quotes"),
        (["stackpack", "export", "--instance", "a{{b}}"], "braces"),
        (["stackpack", "export", "--instance", "x", "--bogus"], "unexpected '--bogus'"),
    ]:
        p = run(*args)
        check(p.returncode == 64 and expect in p.stderr and p.stdout == "",
              "%s: exit 64 with %r, got %d %r" % (args, expect, p.returncode, p.stderr))
    h = run("stackpack", "--help")
    check(h.returncode == 0 and all(o in h.stdout for o in ("--instance", "--output", "--mappings", "Serverless")),
          "stackpack --help lists the options")
    check("stackpack export" in run("--help").stdout, "awstopo --help lists stackpack export")
    p = run("stackpack", "export", "--instance", "x", "--output", "/nonexistent-dir/x.json")
    check(p.returncode == 2 and "/nonexistent-dir/x.json: cannot write there" in p.stderr, "unwritable output")


def main():
    tmp = tempfile.mkdtemp(prefix="awstopo-stackpack-")
    try:
        first = bundled(tmp)
        second_instance(tmp, first)
        user_mapping(tmp)
        usage()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
