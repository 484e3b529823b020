"""install_account.py -- a stateful AWS account for the install paths:
CloudFormation (stacks, change sets, stack events, rollback), S3 (buckets,
versioned objects) and SSM parameters.

Enabled with the control key `account` (a JSON object, or true for the
defaults; setting it again starts an empty account, false removes it);
`account_settings` changes only the failure injection (fail, fail_update,
fail_delete, fail_instances) of the account there is. Unlike the recorded fixtures, what one call changes the next one
sees: a change set executed creates the template's resources in this account
(an AWS::S3::Bucket becomes a bucket of the fake S3, every other resource an
entry in the inventory), a deleted stack removes them. Operations complete at
once (a stack is CREATE_COMPLETE by the first DescribeStacks), with the events
AWS writes.

Settings:
  fail      list of "STACK/LogicalId" or "STACK/AWS::Type" (STACK may be *):
            creating or updating that resource fails, the stack rolls back
  fail_update  the same, for updating only (a re-install whose update fails)
  fail_delete  the same for deleting
  account   the account id (default 123456789012)
  roles     roles the user already has (for --topo-cron-role): a name (the role trusts
            lambda.amazonaws.com) or {"name": ..., "service": "ec2.amazonaws.com"} (trusts that)
  trails    trails the account already has: [{"name", "region" (home, default us-east-1),
            "multi_region" (default true), "logging" (default true)}]
  buckets   names of buckets the user already has (for --topo-cron-bucket)

STS GetCallerIdentity answers the account id. IAM GetRole, Lambda GetFunction and EventBridge DescribeRule answer from the
user's roles and what the stacks created (by physical id: role and function
names, rule names), so an installer can check what it is given and a test what
is there.

Like AWS: a template with IAM resources needs CAPABILITY_IAM (CAPABILITY_NAMED_IAM
when it names a role); missing or unknown parameters are a ValidationError; a
change set without changes FAILS with AWS's reason; a stack in ROLLBACK_COMPLETE
cannot be updated, only deleted; deleting a bucket that holds objects (any
version) fails with BucketNotEmpty, so a stack with a non-empty bucket ends
DELETE_FAILED; deleting a stack that does not exist succeeds.

inventory() lists what exists (buckets, objects, parameters, stacks not deleted,
resources by type; stack sets and their instances when there are any) -- what
a test checks is empty after an uninstall.

The organization and service-managed StackSets (settings organization,
trusted_access, fail_instances) are in stacksets.py, mixed in here.
"""
import datetime
import hashlib
import itertools
import json
import re
import threading
import urllib.parse
import uuid

import stacksets

HANDLES = {
    "cloudformation": {"CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DeleteChangeSet",
                       "DescribeStacks", "DescribeStackEvents", "DescribeStackResources",
                       "ListStackResources", "DeleteStack", "ListStacks", "ValidateTemplate"},
    "s3": {"CreateBucket", "HeadBucket", "DeleteBucket", "PutBucketVersioning", "PutObject", "HeadObject",
           "DeleteObject", "DeleteObjects", "ListObjectVersions", "PutBucketTagging",
           "PutPublicAccessBlock", "PutBucketPolicy", "ListBuckets"},
    "ssm": {"PutParameter", "GetParameter", "DeleteParameter", "AddTagsToResource"},
    "iam": {"GetRole"},
    "cloudtrail": {"DescribeTrails", "GetTrailStatus"},
    "lambda": {"GetFunction"},
    "events": {"DescribeRule"},
    "sts": {"GetCallerIdentity"},
}
IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User")
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


def p_true(v):
    return v is True or str(v).lower() == "true"


class Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validation(message):
    return Error(400, "ValidationError", message)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plist(params, key, fields=None):
    """A query-protocol list (key.member.N[.Field]) as a list of values or dicts."""
    items = {}
    pat = re.compile(r"^%s\.member\.(\d+)(?:\.(.+))?$" % re.escape(key))
    for k, v in params.items():
        m = pat.match(k)
        if m:
            n, field = int(m.group(1)), m.group(2)
            if field:
                items.setdefault(n, {})[field] = v
            else:
                items[n] = v
    return [items[n] for n in sorted(items)]


class Stack:
    def __init__(self, name, stack_id):
        self.name, self.id = name, stack_id
        self.status = "REVIEW_IN_PROGRESS"
        self.reason = None
        self.template = None
        self.parameters = {}
        self.tags = []
        self.resources = {}         # logical id -> (type, physical id)
        self.events = []
        self.created = now()
        self.change_sets = {}


class InstallAccount(stacksets.StackSetsMixin):
    def __init__(self, cfg):
        cfg = cfg if isinstance(cfg, dict) else {}
        self.account = str(cfg.get("account", "123456789012"))
        self.fail = list(cfg.get("fail", []))
        self.fail_delete = list(cfg.get("fail_delete", []))
        self.fail_update = list(cfg.get("fail_update", []))
        self.stacks = {}            # name -> Stack (live)
        self.deleted = []
        self.buckets = {}           # name -> {"versioning": bool, "objects": [(key, version, body)]}
        self.parameters = {}        # name -> {"Type", "Value", "Version"}
        self.inventory_res = {}     # (type, physical id) -> stack name
        self.user_roles = {r if isinstance(r, str) else r["name"]:
                           "lambda.amazonaws.com" if isinstance(r, str) else r.get("service", "lambda.amazonaws.com")
                           for r in cfg.get("roles", [])}
        self.user_trails = [dict({"region": "us-east-1", "multi_region": True, "logging": True}, **t)
                            for t in cfg.get("trails", [])]
        for b in cfg.get("buckets", []):
            self.buckets[b] = {"versioning": False, "objects": [], "user": True}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.init_stacksets(cfg, Error, validation, plist)

    def settings(self, cfg):
        """The control key account_settings: new failure injection, the same account."""
        unknown = sorted(set(cfg) - {"fail", "fail_update", "fail_delete", "fail_instances"})
        if unknown:
            raise ValueError("account_settings: only failure injection can change: " + ", ".join(unknown))
        with self.lock:
            for k, v in cfg.items():
                setattr(self, k, list(v))

    def handles(self, service, operation):
        return operation in HANDLES.get(service, ()) or operation in stacksets.HANDLES.get(service, ())

    def respond(self, service, operation, params, region, body):
        """(result dict in the CLI's shape, extra headers); raises Error."""
        with self.lock:
            return getattr(self, "%s_%s" % (service, operation))(params, region, body)

    def inventory(self):
        with self.lock:
            return {"stacks": sorted(self.stacks),
                    "buckets": {b: len(v["objects"]) for b, v in self.buckets.items() if not v.get("user")},
                    "user_buckets": {b: len(v["objects"]) for b, v in self.buckets.items() if v.get("user")},
                    "parameters": sorted(self.parameters),
                    "resources": sorted("%s %s" % k for k in self.inventory_res),
                    **self.stacksets_inventory()}

    # --- CloudFormation ---------------------------------------------------------
    def _stack(self, name):
        s = self.stacks.get(name)
        if s is None:
            s = next((x for x in self.stacks.values() if x.id == name), None)
        if s is None:
            raise validation("Stack with id %s does not exist" % name)
        return s

    def _event(self, s, logical, rtype, status, reason=None, physical=None):
        s.events.append({"StackId": s.id, "StackName": s.name, "EventId": str(uuid.uuid4()),
                         "LogicalResourceId": logical, "ResourceType": rtype,
                         "PhysicalResourceId": physical or "", "Timestamp": now(),
                         "ResourceStatus": status, **({"ResourceStatusReason": reason} if reason else {})})

    def _stack_event(self, s, status, reason=None):
        s.status, s.reason = status, reason
        self._event(s, s.name, "AWS::CloudFormation::Stack", status, reason, s.id)

    def _fails(self, rules, s, logical, rtype):
        for r in rules:
            stack, _, what = r.partition("/")
            if stack in ("*", s.name) and what in (logical, rtype):
                return True
        return False

    def _check_template(self, body, given, capabilities):
        try:
            t = json.loads(body)
        except ValueError as e:
            raise validation("Template format error: JSON not well-formed. (%s)" % e)
        if not isinstance(t.get("Resources"), dict) or not t["Resources"]:
            raise validation("Template format error: At least one Resources member must be defined.")
        declared = t.get("Parameters", {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise validation("Parameters: [%s] do not exist in the template" % ", ".join(unknown))
        missing = sorted(p for p, d in declared.items() if p not in given and "Default" not in d)
        if missing:
            raise validation("Parameters: [%s] must have values" % ", ".join(missing))
        values = {p: given.get(p, d.get("Default")) for p, d in declared.items()}
        for p, d in declared.items():
            if "AllowedValues" in d and str(values[p]) not in map(str, d["AllowedValues"]):
                raise validation("Parameter '%s' must be one of AllowedValues" % p)
            if "AllowedPattern" in d and not re.fullmatch(d["AllowedPattern"], str(values[p])):
                raise validation("Parameter '%s' must match pattern %s" % (p, d["AllowedPattern"]))
        iam = [r for r in t["Resources"].values() if r.get("Type") in IAM_TYPES]
        if iam:
            named = any("RoleName" in r.get("Properties", {}) for r in iam)
            need = "CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"
            if need not in capabilities and "CAPABILITY_NAMED_IAM" not in capabilities:
                raise Error(400, "InsufficientCapabilitiesException", "Requires capabilities : [%s]" % need)
        return t, values

    def _eval(self, v, values, s):
        """Ref / Fn::Sub / Fn::Equals / Fn::If, enough for names and conditions."""
        if isinstance(v, dict) and len(v) == 1:
            fn, arg = next(iter(v.items()))
            pseudo = {"AWS::AccountId": self.account, "AWS::Partition": "aws", "AWS::Region": s.region,
                      "AWS::StackName": s.name, "AWS::StackId": s.id}
            if fn == "Ref":
                if arg in values:
                    return values[arg]
                if arg in pseudo:
                    return pseudo[arg]
                return s.resources.get(arg, (None, arg))[1]
            if fn == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([^!}][^}.]*)(?:\.[^}]*)?\}",
                              lambda m: str(self._eval({"Ref": m.group(1)}, values, s)), text)
            if fn == "Fn::Equals":
                return str(self._eval(arg[0], values, s)) == str(self._eval(arg[1], values, s))
            if fn == "Fn::And":
                return all(self._eval(x, values, s) for x in arg)
            if fn == "Fn::Or":
                return any(self._eval(x, values, s) for x in arg)
            if fn == "Fn::Not":
                return not self._eval(arg[0], values, s)
        return v

    def _wanted(self, t, values, s):
        """{logical id: (type, properties)} the template creates with these values."""
        conds = {n: self._eval(c, values, s) for n, c in t.get("Conditions", {}).items()}
        return {k: (r["Type"], r.get("Properties", {})) for k, r in t["Resources"].items()
                if not r.get("Condition") or conds.get(r["Condition"])}

    def cloudformation_ValidateTemplate(self, p, region, body):
        try:
            t = json.loads(p.get("TemplateBody", ""))
        except ValueError as e:
            raise validation("Template format error: JSON not well-formed. (%s)" % e)
        return {"Parameters": [{"ParameterKey": k, "NoEcho": bool(d.get("NoEcho"))}
                               for k, d in t.get("Parameters", {}).items()]}, {}

    def cloudformation_CreateChangeSet(self, p, region, body):
        name, cs_name, kind = p.get("StackName"), p.get("ChangeSetName"), p.get("ChangeSetType", "UPDATE")
        given = {x["ParameterKey"]: x.get("ParameterValue", "") for x in plist(p, "Parameters")}
        caps = plist(p, "Capabilities")
        s = self.stacks.get(name)
        if kind == "CREATE":
            if s is not None and s.status != "REVIEW_IN_PROGRESS":
                raise Error(400, "AlreadyExistsException", "Stack [%s] already exists" % name)
            if s is None:
                s = Stack(name, "arn:aws:cloudformation:%s:%s:stack/%s/%s" % (region, self.account, name, uuid.uuid4()))
                s.region = region
                self.stacks[name] = s
                self._stack_event(s, "REVIEW_IN_PROGRESS", "User Initiated")
        else:
            s = self._stack(name)
            if s.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
                raise validation("Stack:%s is in %s state and can not be updated." % (s.id, s.status))
        t, values = self._check_template(p.get("TemplateBody", ""), given, caps)
        wanted = self._wanted(t, values, s)
        changes = []
        for k, (rtype, props) in wanted.items():
            if k not in s.resources:
                changes.append(("Add", k, rtype))
            elif s.template is None or json.dumps(props, sort_keys=True) != json.dumps(
                    s.template["Resources"].get(k, {}).get("Properties", {}), sort_keys=True) \
                    or values != s.parameters:
                changes.append(("Modify", k, rtype))
        changes += [("Remove", k, s.resources[k][0]) for k in s.resources if k not in wanted]
        tags = plist(p, "Tags")
        cs_id = "arn:aws:cloudformation:%s:%s:changeSet/%s/%s" % (region, self.account, cs_name, uuid.uuid4())
        cs = {"ChangeSetName": cs_name, "ChangeSetId": cs_id, "StackId": s.id, "StackName": name,
              "CreationTime": now(), "Template": t, "Values": values, "Tags": tags,
              "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(values.items())
                             if not t["Parameters"][k].get("NoEcho")],
              "Changes": [{"Type": "Resource", "ResourceChange": {
                  "Action": a, "LogicalResourceId": k, "ResourceType": rt,
                  "PhysicalResourceId": s.resources.get(k, (None, ""))[1] or "",
                  **({"Replacement": "False"} if a == "Modify" else {})}} for a, k, rt in changes]}
        if changes:
            cs.update(Status="CREATE_COMPLETE", ExecutionStatus="AVAILABLE")
        else:
            cs.update(Status="FAILED", ExecutionStatus="UNAVAILABLE", StatusReason=NO_CHANGES)
        s.change_sets[cs_name] = cs
        return {"Id": cs_id, "StackId": s.id}, {}

    def _change_set(self, p):
        cs_name = p.get("ChangeSetName", "")
        for s in self.stacks.values():
            for cs in s.change_sets.values():
                if cs_name in (cs["ChangeSetName"], cs["ChangeSetId"]) and \
                        (cs_name.startswith("arn:") or p.get("StackName") in (s.name, s.id)):
                    return s, cs
        raise Error(404, "ChangeSetNotFound", "ChangeSet [%s] does not exist" % cs_name)

    def cloudformation_DescribeChangeSet(self, p, region, body):
        _, cs = self._change_set(p)
        return {k: v for k, v in cs.items() if k not in ("Template", "Values")}, {}

    def cloudformation_DeleteChangeSet(self, p, region, body):
        s, cs = self._change_set(p)
        del s.change_sets[cs["ChangeSetName"]]
        if s.status == "REVIEW_IN_PROGRESS" and not s.change_sets:
            del self.stacks[s.name]
        return {}, {}

    def _physical(self, s, logical, rtype, props, values):
        name_prop = {"AWS::S3::Bucket": "BucketName", "AWS::Lambda::Function": "FunctionName",
                     "AWS::IAM::Role": "RoleName", "AWS::Kinesis::Stream": "Name",
                     "AWS::Logs::LogGroup": "LogGroupName", "AWS::CloudTrail::Trail": "TrailName"}.get(rtype)
        if name_prop and name_prop in props:
            return str(self._eval(props[name_prop], values, s))
        suffix = hashlib.sha1(("%s/%s/%d" % (s.id, logical, next(self.ids))).encode()).hexdigest()[:12].upper()
        name = "%s-%s-%s" % (s.name, logical, suffix)
        return name.lower() if rtype == "AWS::S3::Bucket" else name

    def _create(self, s, logical, rtype, props, values):
        phys = self._physical(s, logical, rtype, props, values)
        self._event(s, logical, rtype, "CREATE_IN_PROGRESS")
        if self._fails(self.fail, s, logical, rtype):
            self._event(s, logical, rtype, "CREATE_FAILED",
                        "Resource handler returned message: \"injected failure for %s\" (HandlerErrorCode: "
                        "GeneralServiceException)" % logical)
            return False
        if rtype == "AWS::S3::Bucket":
            self.buckets[phys] = {"versioning": False, "objects": []}
        self.inventory_res[(rtype, phys)] = s.name
        s.resources[logical] = (rtype, phys)
        self._event(s, logical, rtype, "CREATE_COMPLETE", physical=phys)
        return True

    def _delete(self, s, logical):
        rtype, phys = s.resources[logical]
        self._event(s, logical, rtype, "DELETE_IN_PROGRESS", physical=phys)
        if self._fails(self.fail_delete, s, logical, rtype):
            self._event(s, logical, rtype, "DELETE_FAILED", "injected delete failure for %s" % logical, phys)
            return False
        if rtype == "AWS::S3::Bucket" and phys in self.buckets:
            if self.buckets[phys]["objects"]:
                self._event(s, logical, rtype, "DELETE_FAILED",
                            "The bucket you tried to delete is not empty. You must delete all versions in "
                            "the bucket. (Service: S3, Status Code: 409, Error Code: BucketNotEmpty)", phys)
                return False
            del self.buckets[phys]
        self.inventory_res.pop((rtype, phys), None)
        del s.resources[logical]
        self._event(s, logical, rtype, "DELETE_COMPLETE", physical=phys)
        return True

    def cloudformation_ExecuteChangeSet(self, p, region, body):
        s, cs = self._change_set(p)
        if cs["ExecutionStatus"] != "AVAILABLE":
            raise Error(400, "InvalidChangeSetStatus", "ChangeSet [%s] cannot be executed in its current "
                        "status of [%s]" % (cs["ChangeSetId"], cs["Status"]))
        creating = s.status == "REVIEW_IN_PROGRESS"
        verb = "CREATE" if creating else "UPDATE"
        self._stack_event(s, verb + "_IN_PROGRESS", "User Initiated")
        before = dict(s.resources)
        ok = True
        for ch in cs["Changes"]:
            rc = ch["ResourceChange"]
            k, rtype = rc["LogicalResourceId"], rc["ResourceType"]
            props = cs["Template"]["Resources"].get(k, {}).get("Properties", {})
            if rc["Action"] == "Add":
                ok = self._create(s, k, rtype, props, cs["Values"])
            elif rc["Action"] == "Modify":
                self._event(s, k, rtype, "UPDATE_IN_PROGRESS", physical=s.resources[k][1])
                ok = not self._fails(self.fail + self.fail_update, s, k, rtype)
                self._event(s, k, rtype, "UPDATE_COMPLETE" if ok else "UPDATE_FAILED",
                            None if ok else "Resource handler returned message: \"injected failure for %s\"" % k,
                            s.resources[k][1])
            if not ok:
                break
        if ok:
            for ch in cs["Changes"]:
                if ch["ResourceChange"]["Action"] == "Remove":
                    self._delete(s, ch["ResourceChange"]["LogicalResourceId"])
            s.template, s.parameters, s.tags = cs["Template"], cs["Values"], cs["Tags"]
            s.change_sets.clear()
            self._stack_event(s, verb + "_COMPLETE")
            return {}, {}
        # roll back what this execution added; an update keeps what it had
        s.change_sets.clear()
        if creating:
            self._stack_event(s, "ROLLBACK_IN_PROGRESS",
                              "The following resource(s) failed to create: [%s]. Rollback requested by user." % k)
            for logical in reversed([x for x in s.resources if x not in before]):
                self._delete(s, logical)
            s.template, s.parameters = cs["Template"], cs["Values"]
            self._stack_event(s, "ROLLBACK_COMPLETE" if not s.resources else "ROLLBACK_FAILED")
        else:
            self._stack_event(s, "UPDATE_ROLLBACK_IN_PROGRESS",
                              "The following resource(s) failed to update: [%s]." % k)
            for logical in reversed([x for x in s.resources if x not in before]):
                self._delete(s, logical)
            self._stack_event(s, "UPDATE_ROLLBACK_COMPLETE")
        return {}, {}

    def cloudformation_DeleteStack(self, p, region, body):
        s = self.stacks.get(p.get("StackName"))
        if s is None:
            return {}, {}
        self._stack_event(s, "DELETE_IN_PROGRESS", "User Initiated")
        ok = all([self._delete(s, k) for k in reversed(list(s.resources))])
        if not ok:
            self._stack_event(s, "DELETE_FAILED", "The following resource(s) failed to delete: [%s]. "
                              % ", ".join(k for k in s.resources))
            return {}, {}
        self._stack_event(s, "DELETE_COMPLETE")
        self.deleted.append(self.stacks.pop(s.name))
        return {}, {}

    def _describe(self, s):
        out = {"StackId": s.id, "StackName": s.name, "StackStatus": s.status, "CreationTime": s.created,
               "Tags": s.tags,
               "Parameters": [{"ParameterKey": k, "ParameterValue": "****" if
                               (s.template or {}).get("Parameters", {}).get(k, {}).get("NoEcho") else str(v)}
                              for k, v in sorted(s.parameters.items())]}
        if s.reason:
            out["StackStatusReason"] = s.reason
        if s.template and s.status.endswith("_COMPLETE") and "ROLLBACK" not in s.status:
            outs = []
            for k, o in s.template.get("Outputs", {}).items():
                v = o.get("Value")
                if isinstance(v, dict) and "Fn::GetAtt" in v:
                    v = s.resources.get(v["Fn::GetAtt"][0], (None, ""))[1]
                outs.append({"OutputKey": k, "OutputValue": str(self._eval(v, s.parameters, s))})
            out["Outputs"] = outs
        return out

    def cloudformation_DescribeStacks(self, p, region, body):
        if p.get("StackName"):
            return {"Stacks": [self._describe(self._stack(p["StackName"]))]}, {}
        return {"Stacks": [self._describe(s) for s in self.stacks.values()]}, {}

    def cloudformation_ListStacks(self, p, region, body):
        return {"StackSummaries": [{"StackId": s.id, "StackName": s.name, "StackStatus": s.status,
                                    "CreationTime": s.created}
                                   for s in list(self.stacks.values()) + self.deleted]}, {}

    def cloudformation_DescribeStackEvents(self, p, region, body):
        name = p.get("StackName")
        s = self.stacks.get(name) or next((x for x in self.deleted if name in (x.id,)), None)
        if s is None:
            s = self._stack(name)
        return {"StackEvents": list(reversed(s.events))}, {}

    def _resources(self, s):
        return [{"StackName": s.name, "StackId": s.id, "LogicalResourceId": k, "PhysicalResourceId": phys,
                 "ResourceType": rt, "ResourceStatus": "CREATE_COMPLETE", "Timestamp": now(),
                 "LastUpdatedTimestamp": now()} for k, (rt, phys) in s.resources.items()]

    def cloudformation_DescribeStackResources(self, p, region, body):
        return {"StackResources": self._resources(self._stack(p.get("StackName")))}, {}

    def cloudformation_ListStackResources(self, p, region, body):
        return {"StackResourceSummaries": self._resources(self._stack(p.get("StackName")))}, {}

    # --- S3 -------------------------------------------------------------------------
    def _bucket(self, name):
        b = self.buckets.get(name)
        if b is None:
            raise Error(404, "NoSuchBucket", "The specified bucket does not exist")
        return b

    def s3_CreateBucket(self, p, region, body):
        name = p.get("Bucket")
        if name in self.buckets:
            raise Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                        "succeeded and you already own it.")
        self.buckets[name] = {"versioning": False, "objects": [], "region": region}
        return {"Location": "/" + name}, {"Location": "/" + name}

    def s3_PutBucketPolicy(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        try:
            b["policy"] = json.loads(body)
        except ValueError:
            raise Error(400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
        return {}, {}

    def s3_ListBuckets(self, p, region, body):
        return {"Buckets": [{"Name": n, "CreationDate": "2026-01-02T03:04:05.000Z",
                             "BucketRegion": b.get("region", "us-east-1")} for n, b in sorted(self.buckets.items())],
                "Owner": {"ID": "fakeowner"}}, {}

    def s3_HeadBucket(self, p, region, body):
        self._bucket(p.get("Bucket"))
        return {}, {"x-amz-bucket-region": region}

    def s3_DeleteBucket(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        if b["objects"]:
            raise Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete "
                        "all versions in the bucket.")
        del self.buckets[p["Bucket"]]
        return {}, {}

    def s3_PutBucketVersioning(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        b["versioning"] = b"<Status>Enabled</Status>" in body
        return {}, {}

    def s3_PutBucketTagging(self, p, region, body):
        self._bucket(p.get("Bucket"))
        return {}, {}

    def s3_PutPublicAccessBlock(self, p, region, body):
        self._bucket(p.get("Bucket"))
        return {}, {}

    def s3_PutObject(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        key = p.get("Key")
        version = "v%08d" % next(self.ids) if b["versioning"] else "null"
        if not b["versioning"]:
            b["objects"] = [o for o in b["objects"] if o[0] != key]
        b["objects"].append((key, version, body))
        etag = '"%s"' % hashlib.md5(body).hexdigest()
        headers = {"ETag": etag}
        if b["versioning"]:
            headers["x-amz-version-id"] = version
        return {}, headers

    def s3_HeadObject(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        found = [o for o in b["objects"] if o[0] == p.get("Key")]
        if not found:
            raise Error(404, "NotFound", "Not Found")
        return {}, {"ETag": '"%s"' % hashlib.md5(found[-1][2]).hexdigest(),
                    "Content-Length-Object": str(len(found[-1][2]))}

    def s3_DeleteObject(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        key, version = p.get("Key"), p.get("VersionId") or p.get("versionId")
        b["objects"] = [o for o in b["objects"] if not (o[0] == key and (version is None or o[1] == version))]
        return {}, {}

    def s3_DeleteObjects(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        text = body.decode("utf-8", "replace")
        deleted = []
        for obj in re.findall(r"<Object>(.*?)</Object>", text, re.S):
            key = re.search(r"<Key>(.*?)</Key>", obj, re.S).group(1)
            ver = re.search(r"<VersionId>(.*?)</VersionId>", obj, re.S)
            ver = ver.group(1) if ver else None
            b["objects"] = [o for o in b["objects"] if not (o[0] == key and (ver is None or o[1] == ver))]
            deleted.append({"Key": key, **({"VersionId": ver} if ver else {})})
        return {"Deleted": deleted}, {}

    def s3_ListObjectVersions(self, p, region, body):
        b = self._bucket(p.get("Bucket"))
        latest = {}
        for o in b["objects"]:
            latest[o[0]] = o[1]
        return {"Name": p["Bucket"], "IsTruncated": False,
                "Versions": [{"Key": k, "VersionId": v, "IsLatest": latest[k] == v, "Size": len(data),
                              "ETag": '"%s"' % hashlib.md5(data).hexdigest()} for k, v, data in b["objects"]]}, {}

    # --- SSM ------------------------------------------------------------------------
    def ssm_PutParameter(self, p, region, body):
        name = p.get("Name")
        old = self.parameters.get(name)
        if old and not p.get("Overwrite"):
            raise Error(400, "ParameterAlreadyExists", "The parameter already exists.")
        version = (old["Version"] + 1) if old else 1
        self.parameters[name] = {"Type": p.get("Type", "String"), "Value": p.get("Value"), "Version": version}
        return {"Version": version, "Tier": "Standard"}, {}

    def ssm_GetParameter(self, p, region, body):
        par = self.parameters.get(p.get("Name"))
        if par is None:
            raise Error(400, "ParameterNotFound", "")
        value = par["Value"]
        if par["Type"] == "SecureString" and not p.get("WithDecryption"):
            value = "AQICAH" + hashlib.sha256(value.encode()).hexdigest()     # ciphertext stand-in
        return {"Parameter": {"Name": p["Name"], "Type": par["Type"], "Value": value,
                              "Version": par["Version"]}}, {}

    def ssm_DeleteParameter(self, p, region, body):
        if self.parameters.pop(p.get("Name"), None) is None:
            raise Error(400, "ParameterNotFound", "")
        return {}, {}

    def ssm_AddTagsToResource(self, p, region, body):
        if p.get("ResourceId") not in self.parameters:
            raise Error(400, "InvalidResourceId", "")
        return {}, {}

    # --- STS: who is calling -------------------------------------------------------------
    def sts_GetCallerIdentity(self, p, region, body):
        return {"Account": self.account, "UserId": "AIDAFAKEINSTALLER",
                "Arn": "arn:aws:iam::%s:user/installer" % self.account}, {}

    # --- IAM, Lambda, EventBridge: what exists ----------------------------------------
    def _exists(self, rtype, name):
        return (rtype, name) in self.inventory_res

    def iam_GetRole(self, p, region, body):
        name = p.get("RoleName")
        if name not in self.user_roles and not self._exists("AWS::IAM::Role", name):
            raise Error(404, "NoSuchEntity", "The role with name %s cannot be found." % name)
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": self.user_roles.get(name, "lambda.amazonaws.com")},
            "Action": "sts:AssumeRole"}]}
        return {"Role": {"Path": "/", "RoleName": name, "RoleId": "AROA" + hashlib.sha1(name.encode()).hexdigest()[:17].upper(),
                         "Arn": "arn:aws:iam::%s:role/%s" % (self.account, name), "CreateDate": now(),
                         # IAM answers the trust policy URL-encoded
                         "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(trust))}}, {}

    # --- CloudTrail: the account's trails and those the stacks made --------------------
    def _trails(self, region, shadow=True):
        out = [{"Name": t["name"], "HomeRegion": t["region"], "IsMultiRegionTrail": t["multi_region"],
                "TrailARN": "arn:aws:cloudtrail:%s:%s:trail/%s" % (t["region"], self.account, t["name"]),
                "S3BucketName": "user-trail-bucket", "logging": t["logging"]} for t in self.user_trails]
        out += [{"Name": phys, "HomeRegion": region, "IsMultiRegionTrail": True,
                 "TrailARN": "arn:aws:cloudtrail:%s:%s:trail/%s" % (region, self.account, phys),
                 "S3BucketName": "stack-bucket", "logging": True}
                for (rtype, phys) in self.inventory_res if rtype == "AWS::CloudTrail::Trail"]
        # without shadow trails: only those of this region
        return [t for t in out if shadow or t["HomeRegion"] == region]

    def cloudtrail_DescribeTrails(self, p, region, body):
        shadow = p_true(p.get("includeShadowTrails", True))
        return {"trailList": [{k: v for k, v in t.items() if k != "logging"} for t in self._trails(region, shadow)]}, {}

    def cloudtrail_GetTrailStatus(self, p, region, body):
        name = p.get("Name", "")
        t = next((t for t in self._trails(region) if name in (t["Name"], t["TrailARN"])), None)
        if t is None or (t["HomeRegion"] != region and not name.startswith("arn:")):
            raise Error(400, "TrailNotFoundException", "Unknown trail: %s for the user: %s" % (name, self.account))
        return {"IsLogging": t["logging"]}, {}

    def lambda_GetFunction(self, p, region, body):
        name = p.get("FunctionName", "")
        name = name.rsplit(":function:", 1)[-1]
        if not self._exists("AWS::Lambda::Function", name):
            raise Error(404, "ResourceNotFoundException", "Function not found: %s" % name)
        return {"Configuration": {"FunctionName": name, "FunctionArn": "arn:aws:lambda:%s:%s:function:%s"
                                  % (region, self.account, name), "Runtime": "provided.al2023"}}, {}

    def events_DescribeRule(self, p, region, body):
        name = p.get("Name")
        if not self._exists("AWS::Events::Rule", name):
            raise Error(400, "ResourceNotFoundException", "Rule %s does not exist." % name)
        return {"Name": name, "Arn": "arn:aws:events:%s:%s:rule/%s" % (region, self.account, name),
                "State": "ENABLED"}, {}
