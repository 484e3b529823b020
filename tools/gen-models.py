#!/usr/bin/env python3
"""gen-models.py -- trims botocore models to what awstopo calls.

awstopo ships AWS service models in botocore's format (ARCHITECTURE.md decision 1),
but only the part it uses: the operations named by the mappings' `calls = { ... }`
declarations (mappings/*.lua and mappings/contrib/*.lua) and by tools/core-operations.txt, and exactly the shapes those
operations reach. Documentation is dropped. The full models are in
shared/aws-models (override with --src); the result goes to models/:

    models/<service>/<version>/service-2.json     metadata, kept operations, reached shapes
    models/<service>/<version>/paginators-1.json  paginators of the kept operations
    models/endpoints.json                         partitions + endpoints of the kept services

Output is deterministic: compact JSON, keys sorted -- except a structure's
"members", whose order is the wire order of rest-xml bodies and the order the
AWS CLI prints, so it is kept as in the source model.

    python3 tools/gen-models.py            regenerate models/ (make models)
    python3 tools/gen-models.py --check    exit 1 if models/ is not up to date

Standard library only.
"""

import argparse
import filecmp
import json
import os
import re
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Keys that only feed documentation; removed at any depth (but never a member
# name: see strip_docs).
DOC_KEYS = {"documentation", "documentationUrl", "deprecatedMessage", "deprecatedSince", "examples"}

# What an endpoint entry of endpoints.json keeps (botocore's EndpointResolver
# reads more: protocols, signatureVersions, variants for fips/dualstack, which
# awstopo does not use).
ENDPOINT_KEYS = ("hostname", "credentialScope")
PARTITION_DEFAULT_KEYS = ("hostname", "protocols", "signatureVersions")


class GenError(Exception):
    pass


# ---------------------------------------------------------------- mappings

def strip_lua_comments(text):
    """Returns text with Lua comments (-- line, --[[ long ]], --[==[ ]==]) blanked
    out, keeping newlines (for line numbers) and leaving strings untouched."""
    out = []
    i, n = 0, len(text)
    long_open = re.compile(r"\[(=*)\[")
    while i < n:
        c = text[i]
        if text.startswith("--", i):
            m = long_open.match(text, i + 2)
            if m:
                close = "]" + m.group(1) + "]"
                end = text.find(close, m.end())
                end = n if end < 0 else end + len(close)
            else:
                end = text.find("\n", i)
                end = n if end < 0 else end
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "[" and long_open.match(text, i):
            m = long_open.match(text, i)
            close = "]" + m.group(1) + "]"
            end = text.find(close, m.end())
            end = n if end < 0 else end + len(close)
            out.append(text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


SERVICE_RE = re.compile(r"""(?<![\w.])(?:service|\[\s*["']service["']\s*\])\s*=\s*(["'])([\w-]+)\1""")
CALLS_RE = re.compile(r"""(?<![\w.])(?:calls|\[\s*["']calls["']\s*\])\s*=\s*\{([^{}]*)\}""", re.S)
STRING_RE = re.compile(r"""(["'])((?:\\.|(?!\1)[^\\\n])*)\1""")


def parse_mapping(path):
    """Returns (service, [(service, operation)]) declared by one mapping file."""
    with open(path, encoding="utf-8") as f:
        text = strip_lua_comments(f.read())
    m = SERVICE_RE.search(text)
    service = m.group(2) if m else None
    calls = []
    for cm in CALLS_RE.finditer(text):
        body = cm.group(1)
        leftover = STRING_RE.sub("", body)
        if re.sub(r"[\s,;]", "", leftover):
            line = text.count("\n", 0, cm.start()) + 1
            raise GenError(f"{path}:{line}: calls must be a list of string literals")
        for sm in STRING_RE.finditer(body):
            name = sm.group(2)
            if ":" in name:
                svc, op = name.split(":", 1)
            elif service:
                svc, op = service, name
            else:
                line = text.count("\n", 0, cm.start()) + 1
                raise GenError(f"{path}:{line}: call {name!r} but the mapping declares no service")
            if not re.fullmatch(r"[\w-]+", svc) or not re.fullmatch(r"\w+", op):
                raise GenError(f"{path}: bad call name {name!r}")
            calls.append((svc, op))
    return service, calls


def parse_core_operations(path):
    calls = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise GenError(f"{path}:{lineno}: expected 'service Operation'")
            calls.append((parts[0], parts[1]))
    return calls


def needed_operations(mappings_dir, core_file):
    """{service: {operation: [where declared]}}"""
    needed = {}

    def add(svc, op, where):
        needed.setdefault(svc, {}).setdefault(op, []).append(where)

    for svc, op in parse_core_operations(core_file):
        add(svc, op, os.path.relpath(core_file, REPO) if core_file.startswith(REPO) else core_file)
    # the extras of mappings/contrib/ are bundled too (scanned only on request)
    for d in (mappings_dir, os.path.join(mappings_dir or "", "contrib")):
        if not (d and os.path.isdir(d)):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if name.endswith(".lua") and os.path.isfile(path):
                _, calls = parse_mapping(path)
                for svc, op in calls:
                    add(svc, op, path)
    return needed


# ---------------------------------------------------------------- models

# A service shared/aws-models lacks (ssm, for the Lambda runtime's API key)
# comes from the botocore that python3-botocore installs on every machine.
BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data"


def newest_model_dir(src, service):
    base = os.path.join(src, service)
    if not os.path.isdir(base) and os.path.isdir(os.path.join(BOTOCORE_DATA, service)):
        base = os.path.join(BOTOCORE_DATA, service)
    if not os.path.isdir(base):
        raise GenError(f"no model for service {service!r} in {src} or {BOTOCORE_DATA}")
    versions = sorted(v for v in os.listdir(base)
                      if os.path.isfile(os.path.join(base, v, "service-2.json")))
    if not versions:
        raise GenError(f"no service-2.json under {base}")
    return versions[-1], os.path.join(base, versions[-1])


def strip_docs(value, names=False):
    """Copy of value without DOC_KEYS. `names`: value is a dict keyed by names
    (structure members), whose keys must stay whatever they are."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not names and k in DOC_KEYS:
                continue
            out[k] = strip_docs(v, names=(k == "members" and not names))
        return out
    if isinstance(value, list):
        return [strip_docs(v) for v in value]
    return value


def shape_refs(shape):
    for m in shape.get("members", {}).values():
        yield m["shape"]
    for part in ("member", "key", "value"):
        if part in shape:
            yield shape[part]["shape"]


def trim_model(model, ops, service):
    missing = sorted(set(ops) - set(model["operations"]))
    if missing:
        raise GenError(f"{service}: no operation(s) {', '.join(missing)} in the model")
    out = {k: strip_docs(v) for k, v in model.items()
           if k not in ("operations", "shapes") and k not in DOC_KEYS}
    out["operations"] = {}
    todo = []
    for name in sorted(ops):
        op = strip_docs(model["operations"][name])
        out["operations"][name] = op
        for part in ("input", "output"):
            if part in op:
                todo.append(op[part]["shape"])
        todo.extend(e["shape"] for e in op.get("errors", []))
    shapes = {}
    while todo:
        name = todo.pop()
        if name in shapes:
            continue
        if name not in model["shapes"]:
            raise GenError(f"{service}: shape {name!r} is referenced but not defined")
        shapes[name] = strip_docs(model["shapes"][name])
        todo.extend(shape_refs(shapes[name]))
    out["shapes"] = shapes
    return out


def trim_paginators(pag, ops):
    return {"pagination": {k: v for k, v in pag.get("pagination", {}).items() if k in ops}}


# ---------------------------------------------------------------- endpoints

def trim_endpoint_service(svc):
    out = {k: svc[k] for k in ("partitionEndpoint", "isRegionalized") if k in svc}
    defaults = {k: v for k, v in svc.get("defaults", {}).items() if k in ENDPOINT_KEYS}
    if defaults:
        out["defaults"] = defaults
    out["endpoints"] = {name: {k: v for k, v in e.items() if k in ENDPOINT_KEYS}
                        for name, e in svc.get("endpoints", {}).items()
                        if not e.get("deprecated")}
    return out


def trim_endpoints(data, prefixes):
    """Keeps every partition (they are small once trimmed), the services of the
    kept models (by endpointPrefix), and every non-regionalized service (one
    entry each), so a user-added model of a global service (iam, cloudfront...)
    still resolves to its global endpoint."""
    parts = []
    for p in data["partitions"]:
        q = {k: p[k] for k in ("partition", "partitionName", "regionRegex", "dnsSuffix") if k in p}
        q["defaults"] = {k: v for k, v in p.get("defaults", {}).items() if k in PARTITION_DEFAULT_KEYS}
        q["regions"] = {r: {k: v for k, v in d.items() if k == "description"}
                        for r, d in p.get("regions", {}).items()}
        q["services"] = {name: trim_endpoint_service(svc)
                         for name, svc in p.get("services", {}).items()
                         if name in prefixes or svc.get("isRegionalized") is False}
        parts.append(q)
    return {"partitions": parts, "version": data.get("version", 3)}


# ---------------------------------------------------------------- output

def dumps(value, keep_order=False):
    """Compact JSON with sorted keys, except dicts under a "members" key."""
    if isinstance(value, dict):
        keys = list(value) if keep_order else sorted(value)
        return "{" + ",".join(json.dumps(k) + ":" + dumps(value[k], k == "members")
                              for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def generate(src, needed, out_dir):
    """Writes the trimmed tree into out_dir; returns summary rows."""
    rows = []
    prefixes = set()
    for service in sorted(needed):
        ops = needed[service]
        version, mdir = newest_model_dir(src, service)
        spath = os.path.join(mdir, "service-2.json")
        ppath = os.path.join(mdir, "paginators-1.json")
        model = load_json(spath)
        trimmed = trim_model(model, ops, service)
        prefixes.add(model["metadata"]["endpointPrefix"])
        pag = load_json(ppath) if os.path.exists(ppath) else {}
        pag_t = trim_paginators(pag, ops)
        odir = os.path.join(out_dir, service, version)
        os.makedirs(odir, exist_ok=True)
        s_text = dumps(trimmed) + "\n"
        p_text = dumps(pag_t) + "\n"
        for name, text in (("service-2.json", s_text), ("paginators-1.json", p_text)):
            with open(os.path.join(odir, name), "w", encoding="utf-8") as f:
                f.write(text)
        before = os.path.getsize(spath) + (os.path.getsize(ppath) if os.path.exists(ppath) else 0)
        after = len(s_text.encode()) + len(p_text.encode())
        rows.append((service, version, len(trimmed["operations"]), len(model["operations"]),
                     len(trimmed["shapes"]), len(model["shapes"]),
                     len(pag_t["pagination"]), before, after))
    epath = os.path.join(src, "endpoints.json")
    e_text = dumps(trim_endpoints(load_json(epath), prefixes)) + "\n"
    with open(os.path.join(out_dir, "endpoints.json"), "w", encoding="utf-8") as f:
        f.write(e_text)
    rows.append(("endpoints.json", "", 0, 0, 0, 0, 0, os.path.getsize(epath), len(e_text.encode())))
    return rows


def managed_files(root):
    """The files gen-models.py owns under a models/ directory (relative paths)."""
    found = set()
    if not os.path.isdir(root):
        return found
    if os.path.isfile(os.path.join(root, "endpoints.json")):
        found.add("endpoints.json")
    for service in os.listdir(root):
        sdir = os.path.join(root, service)
        if not os.path.isdir(sdir):
            continue
        for version in os.listdir(sdir):
            for name in ("service-2.json", "paginators-1.json"):
                if os.path.isfile(os.path.join(sdir, version, name)):
                    found.add(os.path.join(service, version, name))
    return found


def differences(new_root, old_root):
    new, old = managed_files(new_root), managed_files(old_root)
    diffs = [f"missing: {p}" for p in sorted(new - old)]
    diffs += [f"stale: {p}" for p in sorted(old - new)]
    diffs += [f"differs: {p}" for p in sorted(new & old)
              if not filecmp.cmp(os.path.join(new_root, p), os.path.join(old_root, p), shallow=False)]
    return diffs


def install(new_root, out_dir):
    """Copies changed files into out_dir and removes managed files no longer made."""
    new, old = managed_files(new_root), managed_files(out_dir)
    for p in sorted(new):
        dst = os.path.join(out_dir, p)
        if p in old and filecmp.cmp(os.path.join(new_root, p), dst, shallow=False):
            continue
        os.makedirs(os.path.dirname(dst) or out_dir, exist_ok=True)
        shutil.copyfile(os.path.join(new_root, p), dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    for p in sorted(old - new):
        os.remove(os.path.join(out_dir, p))
        d = os.path.dirname(os.path.join(out_dir, p))
        while d != os.path.abspath(out_dir) and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)
            d = os.path.dirname(d)


def print_summary(rows, out):
    out.write(f"{'service':<26}{'version':<12}{'ops':>10}{'shapes':>12}{'pag':>5}"
              f"{'before':>12}{'after':>10}\n")
    tb = ta = tops = tshapes = 0
    for svc, ver, ops, all_ops, shapes, all_shapes, pag, before, after in rows:
        tb += before
        ta += after
        if ver:
            tops += ops
            tshapes += shapes
            out.write(f"{svc:<26}{ver:<12}{f'{ops}/{all_ops}':>10}{f'{shapes}/{all_shapes}':>12}"
                      f"{pag:>5}{before:>12,}{after:>10,}\n")
        else:
            out.write(f"{svc:<26}{'':<12}{'':>10}{'':>12}{'':>5}{before:>12,}{after:>10,}\n")
    out.write(f"{len(rows) - 1} services, {tops} operations, {tshapes} shapes; "
              f"{tb:,} bytes -> {ta:,} bytes ({100.0 * ta / tb:.1f}%)\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default=os.path.join(REPO, "..", "shared", "aws-models"),
                    help="full botocore models (default: ../shared/aws-models from the repo root)")
    ap.add_argument("--mappings", default=os.path.join(REPO, "mappings"),
                    help="directory of mapping *.lua files (default: mappings/)")
    ap.add_argument("--core", default=os.path.join(REPO, "tools", "core-operations.txt"),
                    help="operations the core calls (default: tools/core-operations.txt)")
    ap.add_argument("--out", default=os.path.join(REPO, "models"),
                    help="output directory (default: models/)")
    ap.add_argument("--check", action="store_true",
                    help="verify --out is up to date; write nothing, exit 1 if not")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary")
    args = ap.parse_args(argv)

    try:
        needed = needed_operations(args.mappings, args.core)
        with tempfile.TemporaryDirectory(prefix="gen-models.") as tmp:
            rows = generate(os.path.abspath(args.src), needed, tmp)
            if args.check:
                diffs = differences(tmp, args.out)
                if diffs:
                    sys.stderr.write(f"{args.out} is out of date (run make models):\n  "
                                     + "\n  ".join(diffs) + "\n")
                    return 1
                if not args.quiet:
                    print(f"{args.out} is up to date")
                return 0
            install(tmp, args.out)
    except (GenError, OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"gen-models: {e}\n")
        return 2
    if not args.quiet:
        print_summary(rows, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
