"""cfn_check.py -- checks a CloudFormation template (JSON) against the resource
specification and the project's rules.

The specification is npm's @aws-cdk/aws-service-spec (db.json.gz: the database
the AWS CDK generates its resource classes from), installed by tools/setup.sh
into tools/node. It gives every resource type, its properties with their types,
the required ones, the GetAtt attributes and how a resource is tagged.

    spec = Spec.load()
    errors = check(template, spec)        # [] when the template is good

The project's rules on top of the specification: every parameter is used,
every Ref / GetAtt / Fn::Sub variable resolves (a conditional resource only
from the same condition or inside an Fn::If on it), and every taggable
resource carries the awstopo version and configuration id tags.
"""
import gzip
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(REPO, "tools", "node", "node_modules", "@aws-cdk", "aws-service-spec", "db.json.gz")
PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
          "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
REQUIRED_TAGS = {"stackstate:awstopo-version": "AwstopoVersion", "stackstate:configuration-id": "ConfigurationId"}
SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


class Spec:
    def __init__(self, resources, types, version):
        self.resources = resources      # cfn type -> resource entity
        self.types = types              # $id -> type definition
        self.version = version

    @classmethod
    def load(cls, path=SPEC):
        with gzip.open(path) as f:
            db = json.load(f)["schema"]
        resources = {r["cloudFormationType"]: r for r in db["resource"]["entities"]}
        types = {t["$id"]: t for t in db["typeDefinition"]["entities"]}
        with open(os.path.join(os.path.dirname(path), "package.json")) as f:
            version = json.load(f)["version"]
        return cls(resources, types, version)


def intrinsic(v):
    return isinstance(v, dict) and len(v) == 1 and (next(iter(v)) == "Ref" or next(iter(v)).startswith("Fn::"))


class Checker:
    def __init__(self, template, spec):
        self.t = template
        self.spec = spec
        self.errors = []
        self.params = set(template.get("Parameters", {}))
        self.resources = template.get("Resources", {})
        self.conditions = set(template.get("Conditions", {}))
        self.used = set()

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    # -- references ---------------------------------------------------------
    def target(self, where, name, attr, conds):
        """A Ref (attr None) or GetAtt target, used under the conditions conds."""
        if attr is None and (name in self.params or name in PSEUDO):
            self.used.add(name)
            return
        res = self.resources.get(name)
        if res is None:
            self.err(where, "%s resolves to no parameter or resource" % name)
            return
        cond = res.get("Condition")
        if cond and cond not in conds:
            self.err(where, "%s exists only under condition %s" % (name, cond))
        if attr is not None:
            spec = self.spec.resources.get(res.get("Type"))
            if spec is not None and attr.split(".")[0] not in spec.get("attributes", {}):
                self.err(where, "%s has no attribute %s" % (res.get("Type"), attr))

    def refs(self, where, v, conds):
        """Walks any value for intrinsic functions and checks what they name."""
        if isinstance(v, list):
            for i, x in enumerate(v):
                self.refs("%s[%d]" % (where, i), x, conds)
            return
        if not isinstance(v, dict):
            return
        if intrinsic(v):
            fn, arg = next(iter(v.items()))
            if fn == "Ref":
                self.target(where, arg, None, conds)
                return
            if fn == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else arg.split(".", 1)
                self.target(where, parts[0], parts[1], conds)
                return
            if fn == "Fn::Sub":
                text, env = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for var in SUB_VAR.findall(text):
                    if var in env:
                        continue
                    name, _, attr = var.partition(".")
                    self.target(where, name, attr or None, conds)
                self.refs(where, env, conds)
                return
            if fn == "Fn::If":
                cond, yes, no = arg
                if cond not in self.conditions:
                    self.err(where, "Fn::If on unknown condition %s" % cond)
                self.refs(where, yes, conds | {cond})
                self.refs(where, no, conds)
                return
            if fn == "Condition":
                return
        for k, x in v.items():
            self.refs("%s.%s" % (where, k), x, conds)

    # -- property types -----------------------------------------------------
    def value(self, where, ty, v):
        if intrinsic(v):
            if "Fn::If" in v:
                for branch in v["Fn::If"][1:]:
                    if branch != {"Ref": "AWS::NoValue"}:
                        self.value(where, ty, branch)
            return
        kind = ty.get("type")
        if kind == "string":
            ok = isinstance(v, (str, int, float)) and not isinstance(v, bool)
        elif kind in ("integer", "number"):
            ok = (isinstance(v, (int, float)) and not isinstance(v, bool)) or \
                 (isinstance(v, str) and re.fullmatch(r"-?[0-9.]+", v) is not None)
        elif kind == "boolean":
            ok = isinstance(v, bool) or v in ("true", "false")
        elif kind in ("json", "date-time"):
            ok = True
        elif kind == "array":
            ok = isinstance(v, list)
            if ok:
                for i, x in enumerate(v):
                    self.value("%s[%d]" % (where, i), ty["element"], x)
        elif kind == "map":
            ok = isinstance(v, dict)
            if ok:
                for k, x in v.items():
                    self.value("%s.%s" % (where, k), ty["element"], x)
        elif kind == "tag":
            ok = isinstance(v, dict) and set(v) == {"Key", "Value"}
        elif kind == "ref":
            ok = isinstance(v, dict)
            if ok:
                self.props(where, self.spec.types[ty["reference"]["$ref"]], v)
        elif kind == "union":
            # the first member that takes the value without errors
            before = list(self.errors)
            for member in ty["types"]:
                self.errors = list(before)
                self.value(where, member, v)
                if len(self.errors) == len(before):
                    return
            self.errors = before + ["%s: matches no member of a union type" % where]
            return
        else:
            ok = False
        if not ok:
            self.err(where, "expected %s, got %s" % (kind, json.dumps(v)[:60]))

    def props(self, where, entity, given):
        spec = entity.get("properties", {})
        for name, v in given.items():
            if name not in spec:
                self.err(where, "unknown property %s" % name)
            else:
                self.value("%s.%s" % (where, name), spec[name]["type"], v)
        for name, p in spec.items():
            if p.get("required") and name not in given:
                self.err(where, "required property %s missing" % name)

    def tagged(self, where, entity, given):
        info = entity.get("tagInformation")
        if not info:
            return
        tags = given.get(info["tagPropertyName"])
        found = {}
        if info["variant"] == "map" and isinstance(tags, dict):
            found = tags
        elif isinstance(tags, list):
            found = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)}
        for key, param in REQUIRED_TAGS.items():
            if found.get(key) != {"Ref": param}:
                self.err(where, "not tagged %s = Ref %s" % (key, param))

    # -- the template ---------------------------------------------------------
    def run(self):
        if not self.resources:
            self.err("Resources", "none")
        # parameters and resources share one namespace of logical ids
        for name in sorted(self.params & set(self.resources)):
            self.err("Resources.%s" % name, "logical id also used by a parameter")
        for name, cond in self.t.get("Conditions", {}).items():
            self.refs("Conditions.%s" % name, cond, set())
        for name, res in self.resources.items():
            where = "Resources.%s" % name
            ty = res.get("Type")
            entity = self.spec.resources.get(ty)
            if entity is None:
                self.err(where, "unknown resource type %s" % ty)
                continue
            cond = res.get("Condition")
            if cond is not None and cond not in self.conditions:
                self.err(where, "unknown condition %s" % cond)
            conds = {cond} if cond else set()
            given = res.get("Properties", {})
            self.props(where, entity, given)
            self.tagged(where, entity, given)
            self.refs(where, given, conds)
            for dep in res.get("DependsOn", []):
                if dep not in self.resources:
                    self.err(where, "DependsOn %s: no such resource" % dep)
        for name, out in self.t.get("Outputs", {}).items():
            cond = out.get("Condition")
            self.refs("Outputs.%s" % name, out.get("Value"), {cond} if cond else set())
        for p in sorted(self.params - self.used):
            self.err("Parameters.%s" % p, "never used")
        return self.errors


def check(template, spec):
    return Checker(template, spec).run()
