#!/usr/bin/python3
"""test_gen_models.py -- tools/gen-models.py and the trimmed models it made.

Holds the committed models/ to botocore: every kept operation must describe the
same request and response shapes as the full model, and the trimmed
endpoints.json must resolve like the full one. Also exercises the generator on
a sample mappings directory (comments, "service:Operation", errors), its
determinism and its --check mode. Prints "N passed, N failed" last.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

from botocore.model import ServiceModel
from botocore.regions import EndpointResolver
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(REPO, "tools", "gen-models.py")
SRC = os.path.join(REPO, "..", "shared", "aws-models")
MODELS = os.path.join(REPO, "models")
DOC_KEYS = {"documentation", "documentationUrl", "deprecatedMessage", "deprecatedSince", "examples"}

check = checklib.Checks()


def gen(*args):
    return subprocess.run([sys.executable, GEN, "--src", SRC, *args],
                          capture_output=True, text=True)


def load(path):
    with open(path) as f:
        return json.load(f)


def model_dirs(root):
    for service in sorted(os.listdir(root)):
        sdir = os.path.join(root, service)
        if os.path.isdir(sdir):
            for version in sorted(os.listdir(sdir)):
                yield service, version, os.path.join(sdir, version)


def signature(shape, seen=None):
    """A shape tree as comparable data: names, types, serialization, members in order."""
    if shape is None:
        return None
    seen = seen or ()
    if shape.name in seen:
        return ("cycle", shape.name)
    seen = seen + (shape.name,)
    meta = {k: v for k, v in shape.metadata.items() if k not in DOC_KEYS}
    sig = [shape.name, shape.type_name, json.dumps(shape.serialization, sort_keys=True),
           json.dumps(meta, sort_keys=True, default=str)]
    if shape.type_name == "structure":
        sig.append([(n, signature(m, seen)) for n, m in shape.members.items()])
    elif shape.type_name == "list":
        sig.append(signature(shape.member, seen))
    elif shape.type_name == "map":
        sig.append((signature(shape.key, seen), signature(shape.value, seen)))
    return sig


def has_doc_keys(value, names=False):
    if isinstance(value, dict):
        for k, v in value.items():
            if not names and k in DOC_KEYS:
                return True
            if has_doc_keys(v, names=(k == "members" and not names)):
                return True
    elif isinstance(value, list):
        return any(has_doc_keys(v) for v in value)
    return False


def test_committed_models():
    r = gen("--check", "--mappings", os.path.join(REPO, "mappings"))
    check(r.returncode == 0, f"committed models/ are up to date: {r.stderr.strip()}")
    # what the models must hold: the core's operations and every mapping's calls
    spec = importlib.util.spec_from_file_location("gen_models", os.path.join(REPO, "tools", "gen-models.py"))
    gm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gm)
    needed = gm.needed_operations(os.path.join(REPO, "mappings"), os.path.join(REPO, "tools", "core-operations.txt"))
    core = {(svc, op) for svc, ops in needed.items() for op in ops}
    kept = set()
    for service, version, d in model_dirs(MODELS):
        trimmed = load(os.path.join(d, "service-2.json"))
        src = SRC if os.path.isdir(os.path.join(SRC, service)) else gm.BOTOCORE_DATA   # ssm: botocore's own
        full = load(os.path.join(src, service, version, "service-2.json"))
        tm, fm = ServiceModel(trimmed, service), ServiceModel(full, service)
        check(trimmed["metadata"] == full["metadata"], f"{service}: metadata kept whole")
        check(not has_doc_keys(trimmed), f"{service}: no documentation left")
        for op in tm.operation_names:
            kept.add((service, op))
            a, b = tm.operation_model(op), fm.operation_model(op)
            check(signature(a.input_shape) == signature(b.input_shape), f"{service}.{op}: input")
            check(signature(a.output_shape) == signature(b.output_shape), f"{service}.{op}: output")
            check([signature(e) for e in a.error_shapes] == [signature(e) for e in b.error_shapes],
                  f"{service}.{op}: errors")
            check(a.http == b.http and a.metadata == b.metadata, f"{service}.{op}: http, metadata")
        # exactly the reachable shapes: each kept shape is reached from a kept operation
        reached = set()

        def walk(name):
            if name in reached:
                return
            reached.add(name)
            s = trimmed["shapes"][name]
            for m in s.get("members", {}).values():
                walk(m["shape"])
            for part in ("member", "key", "value"):
                if part in s:
                    walk(s[part]["shape"])
        for op in trimmed["operations"].values():
            for part in ("input", "output"):
                if part in op:
                    walk(op[part]["shape"])
            for e in op.get("errors", []):
                walk(e["shape"])
        check(reached == set(trimmed["shapes"]), f"{service}: no unreachable shapes")
        # paginators: all those of the kept operations, no others
        tp = load(os.path.join(d, "paginators-1.json"))["pagination"]
        fp = load(os.path.join(src, service, version, "paginators-1.json"))["pagination"]
        check(tp == {k: v for k, v in fp.items() if k in trimmed["operations"]},
              f"{service}: paginators of the kept operations")
    check(kept == core, f"models hold exactly core-operations.txt and the calls of the mappings: "
                        f"extra {sorted(kept - core)}, missing {sorted(core - kept)}")
    # member order is the source's (rest-xml bodies, CLI output order)
    t = load(os.path.join(MODELS, "ec2", "2016-11-15", "service-2.json"))["shapes"]["Instance"]
    f = load(os.path.join(SRC, "ec2", "2016-11-15", "service-2.json"))["shapes"]["Instance"]
    check(list(t["members"]) == list(f["members"]) and list(t["members"]) != sorted(t["members"]),
          "structure members keep the source order")


def test_endpoints():
    full = load(os.path.join(SRC, "endpoints.json"))
    trim = load(os.path.join(MODELS, "endpoints.json"))
    fr, tr = EndpointResolver(full), EndpointResolver(trim)
    prefixes = set()
    for service, version, d in model_dirs(MODELS):
        prefixes.add(load(os.path.join(d, "service-2.json"))["metadata"]["endpointPrefix"])
    names = [p["partition"] for p in full["partitions"]]
    check(names == [p["partition"] for p in trim["partitions"]], "every partition kept, in order")
    for p, q in zip(full["partitions"], trim["partitions"]):
        check(prefixes & set(p["services"]) == prefixes & set(q["services"]),
              f"{p['partition']}: every kept service that the partition has")
    check(os.path.getsize(os.path.join(MODELS, "endpoints.json")) * 10
          < os.path.getsize(os.path.join(SRC, "endpoints.json")), "endpoints.json is trimmed")
    bad = []
    count = 0
    for p in full["partitions"]:
        regions = list(p["regions"]) + ["aws-global", "xx-future-1"]
        if p["partition"] == "aws":
            regions += ["eu-future-9", "us-future-3"]
        for prefix in sorted(prefixes | {"iam", "cloudfront", "unknownsvc"}):
            for region in regions:
                a = fr.construct_endpoint(prefix, region)
                b = tr.construct_endpoint(prefix, region)
                count += 1
                ka = a and (a["hostname"], a.get("credentialScope"), a["partition"])
                kb = b and (b["hostname"], b.get("credentialScope"), b["partition"])
                if ka != kb:
                    bad.append((prefix, region, ka, kb))
    check(not bad, f"trimmed endpoints.json resolves like the full one ({count} cases): {bad[:5]}")


SAMPLE = '''-- a sample mapping
--[[ calls = { "CommentedOut" } ]]
return {
  service = "ec2", scope = "regional",
  calls = {
    "DescribeInstances", -- instances
    'DescribeVpcs',
    --[==[ "AlsoCommentedOut" ]==]
    "elbv2:DescribeLoadBalancers",
  },
  types = { ["aws.ec2.instance"] = { name = "-- not a comment", calls2 = 1 } },
}
'''


def run_sample(files):
    tmp = tempfile.mkdtemp(prefix="gen-models-test.")
    mdir = os.path.join(tmp, "mappings")
    os.makedirs(os.path.join(mdir, "lib"))
    with open(os.path.join(mdir, "lib", "helpers.lua"), "w") as f:
        f.write('calls = { "NotAMapping" }\n')  # lib/ is not a mapping
    for name, text in files.items():
        with open(os.path.join(mdir, name), "w") as f:
            f.write(text)
    core = os.path.join(tmp, "core.txt")
    with open(core, "w") as f:
        f.write("# comment\nsts GetCallerIdentity  # trailing comment\n\n")
    out = os.path.join(tmp, "models")
    r = gen("--mappings", mdir, "--core", core, "--out", out)
    return tmp, out, r, mdir, core


def test_sample_mappings():
    tmp, out, r, mdir, core = run_sample({"ec2.lua": SAMPLE})
    try:
        check(r.returncode == 0, f"sample generates: {r.stderr}")
        check("3 services, 4 operations" in r.stdout, f"summary line: {r.stdout[-200:]}")
        ec2 = load(os.path.join(out, "ec2", "2016-11-15", "service-2.json"))
        check(sorted(ec2["operations"]) == ["DescribeInstances", "DescribeVpcs"],
              f"ec2 operations from calls (comments ignored): {sorted(ec2['operations'])}")
        elb = load(os.path.join(out, "elbv2", "2015-12-01", "service-2.json"))
        check(list(elb["operations"]) == ["DescribeLoadBalancers"], "service:Operation form")
        sts = load(os.path.join(out, "sts", "2011-06-15", "service-2.json"))
        check(list(sts["operations"]) == ["GetCallerIdentity"], "core operations file")
        check(sorted(os.listdir(out)) == ["ec2", "elbv2", "endpoints.json", "sts"], "one dir per service")
        ep = load(os.path.join(out, "endpoints.json"))
        aws = ep["partitions"][0]["services"]
        check({"ec2", "elasticloadbalancing", "sts"} <= set(aws) and "sqs" not in aws,
              f"endpoints of the kept services only (+ global ones): {sorted(aws)}")
        check("route53" in aws and "iam" in aws, "non-regionalized services kept")

        # deterministic: a second run into another dir gives the same bytes
        out2 = os.path.join(tmp, "models2")
        r2 = gen("--mappings", mdir, "--core", core, "--out", out2, "-q")
        check(r2.returncode == 0 and r2.stdout == "", "quiet run")
        same = all(open(os.path.join(out, p), "rb").read() == open(os.path.join(out2, p), "rb").read()
                   for p in ["endpoints.json", "ec2/2016-11-15/service-2.json",
                             "ec2/2016-11-15/paginators-1.json"])
        check(same, "output is deterministic")
        text = open(os.path.join(out, "ec2", "2016-11-15", "service-2.json")).read()
        check("\n" not in text.rstrip("\n") and ", " not in text[:2000], "compact output")

        # --check: up to date, then a modified, a stale and a missing file
        r = gen("--mappings", mdir, "--core", core, "--out", out, "--check")
        check(r.returncode == 0, f"--check on fresh output: {r.stderr}")
        with open(os.path.join(out, "ec2", "2016-11-15", "paginators-1.json"), "a") as f:
            f.write(" ")
        os.makedirs(os.path.join(out, "sqs", "2012-11-05"))
        shutil.copy(os.path.join(out, "sts", "2011-06-15", "service-2.json"),
                    os.path.join(out, "sqs", "2012-11-05", "service-2.json"))
        os.remove(os.path.join(out, "endpoints.json"))
        with open(os.path.join(out, "README"), "w") as f:
            f.write("not managed\n")
        r = gen("--mappings", mdir, "--core", core, "--out", out, "--check")
        check(r.returncode == 1, "--check fails when out of date")
        check("differs: ec2/2016-11-15/paginators-1.json" in r.stderr and
              "stale: sqs/2012-11-05/service-2.json" in r.stderr and
              "missing: endpoints.json" in r.stderr, f"--check says what: {r.stderr}")
        # regenerating repairs it, removes the stale model, leaves other files
        r = gen("--mappings", mdir, "--core", core, "--out", out, "-q")
        r = gen("--mappings", mdir, "--core", core, "--out", out, "--check")
        check(r.returncode == 0, f"regenerated: {r.stderr}")
        check(not os.path.exists(os.path.join(out, "sqs")), "stale service removed")
        check(os.path.exists(os.path.join(out, "README")), "unmanaged file left alone")
    finally:
        shutil.rmtree(tmp)

    for name, text, want in [
        ("bad.lua", 'return { service = "ec2", calls = { "NoSuchOperation" } }', "NoSuchOperation"),
        ("bad.lua", 'return { service = "nosuchsvc", calls = { "X" } }', "nosuchsvc"),
        ("bad.lua", 'local c = "A"\nreturn { service = "ec2", calls = { c } }', "string literals"),
        ("bad.lua", 'return { calls = { "DescribeVpcs" } }', "declares no service"),
    ]:
        tmp, out, r, _, _ = run_sample({name: text})
        check(r.returncode == 2 and want in r.stderr, f"error for {text!r}: rc {r.returncode} {r.stderr}")
        shutil.rmtree(tmp)


def main():
    if not os.path.isdir(SRC):
        # The generator reads botocore's full models from ../shared; a machine
        # without them cannot regenerate, so there is nothing to compare.
        print(f"skipped: {os.path.normpath(SRC)} is not here (the full models the generator reads)")
        print("0 passed, 0 failed")
        return 0
    test_committed_models()
    test_endpoints()
    test_sample_mappings()
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
