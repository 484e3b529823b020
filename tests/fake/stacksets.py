"""stacksets.py -- the install account's AWS Organization and service-managed
CloudFormation StackSets (mixed into install_account.InstallAccount).

The settings of the `account` control key this adds:
  organization    true (a default organization) or an object:
                    {"root": "r-...", "management": "<account id>" (default: the account),
                     "accounts": [ids directly under the root],
                     "ous": [{"id": "ou-...", "name": "...", "parent": "r-... or ou-...",
                              "accounts": [ids]}]}
                  absent: the account belongs to no organization (AWSOrganizationsNotInUseException)
  trusted_access  false: StackSets' trusted access with Organizations is not enabled, so a
                  SERVICE_MANAGED stack set cannot be created (default true)
  fail_instances  list of "ACCOUNT" or "ACCOUNT/REGION": deploying a stack instance there fails
                  (the instance stays OUTDATED with DetailedStatus FAILED, the operation FAILED)

An instance's stack is the template evaluated in its account and region (its
resource types are in inventory()'s instance_resources). It fails as
CloudFormation would when a Lambda function's code is not readable there: the
S3Bucket missing, in another region (Lambda reads code from its own region
only), without a bucket policy granting s3:GetObject to the organization
(Principal "*" with aws:PrincipalOrgID), or without the key.

Like AWS: only the management account may call Organizations and create
service-managed stack sets; they deploy to the accounts of the target OUs and
their child OUs, never to the management account; instances of an OU are
named by DeploymentTargets.OrganizationalUnitIds; with AutoDeployment an
account moved (organizations MoveAccount) into a target OU gets the stack
set's instances in every region the stack set has, and one moved out loses
them unless RetainStacksOnAccountRemoval; a stack set with instances cannot be
deleted (StackSetNotEmptyException); operations complete at once and
DescribeStackSetOperation tells how they went.
"""
import datetime
import json
import uuid

HANDLES = {
    "cloudformation": {"CreateStackSet", "UpdateStackSet", "DescribeStackSet", "ListStackSets", "DeleteStackSet",
                       "CreateStackInstances", "DeleteStackInstances", "ListStackInstances",
                       "DescribeStackSetOperation", "ListStackSetOperations"},
    "organizations": {"DescribeOrganization", "ListRoots", "ListOrganizationalUnitsForParent",
                      "ListAccounts", "ListAccountsForParent", "MoveAccount"},
}

DEFAULT_ORG = {
    "root": "r-a1b2",
    "accounts": ["210987654321"],
    "ous": [{"id": "ou-a1b2-prod0001", "name": "Production", "parent": "r-a1b2",
             "accounts": ["111111111111", "222222222222"]},
            {"id": "ou-a1b2-team0001", "name": "Team A", "parent": "ou-a1b2-prod0001",
             "accounts": ["333333333333"]},
            {"id": "ou-a1b2-sand0001", "name": "Sandbox", "parent": "r-a1b2", "accounts": ["444444444444"]}],
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StackSetsMixin:
    # --- state ------------------------------------------------------------------------
    def init_stacksets(self, cfg, error, validation, plist):
        """error(status, code, message) and validation(message) make the fake's errors;
        plist reads query-protocol lists."""
        self._Error, self._validation, self._plist = error, validation, plist
        org = cfg.get("organization")
        self.org = None
        if org:
            org = DEFAULT_ORG if org is True else org
            self.org = {"id": "o-" + uuid.uuid5(uuid.NAMESPACE_DNS, self.account).hex[:10],
                        "root": org["root"], "management": str(org.get("management", self.account)),
                        "parent": {}, "ous": {}}
            self.org["parent"][self.org["management"]] = org["root"]
            for a in org.get("accounts", []):
                self.org["parent"][a] = org["root"]
            for ou in org.get("ous", []):
                self.org["ous"][ou["id"]] = {"name": ou["name"], "parent": ou["parent"]}
                for a in ou.get("accounts", []):
                    self.org["parent"][a] = ou["id"]
        self.trusted_access = cfg.get("trusted_access", True)
        self.fail_instances = list(cfg.get("fail_instances", []))
        self.stack_sets = {}        # name -> dict (live)
        self.operations = {}        # operation id -> dict

    def stacksets_inventory(self):
        """stack_sets and stack_instances ("NAME ACCOUNT REGION"), present only when there are any."""
        if not self.stack_sets:
            return {}
        return {"stack_sets": sorted(self.stack_sets),
                "stack_instances": sorted("%s %s %s" % (n, i["Account"], i["Region"])
                                          for n, s in self.stack_sets.items() for i in s["instances"]),
                "instance_resources": {"%s %s %s" % (n, i["Account"], i["Region"]): i.get("resources", [])
                                       for n, s in self.stack_sets.items() for i in s["instances"]}}

    # --- Organizations --------------------------------------------------------------
    def _org(self):
        if self.org is None:
            raise self._Error(400, "AWSOrganizationsNotInUseException",
                              "Your account is not a member of an organization.")
        if self.account != self.org["management"]:
            raise self._Error(400, "AccessDeniedException", "You don't have permissions to access this resource.")
        return self.org

    def _arn(self, kind, ident):
        org = self.org
        if kind == "account":
            return "arn:aws:organizations::%s:account/%s/%s" % (org["management"], org["id"], ident)
        return "arn:aws:organizations::%s:%s/%s/%s" % (org["management"], kind, org["id"], ident)

    def _account(self, a):
        return {"Id": a, "Arn": self._arn("account", a), "Name": "account-" + a, "Email": "aws+%s@example.com" % a,
                "Status": "ACTIVE", "JoinedMethod": "CREATED", "JoinedTimestamp": "2024-01-02T03:04:05Z"}

    def _parent_exists(self, pid):
        org = self._org()
        if pid != org["root"] and pid not in org["ous"]:
            raise self._Error(400, "ParentNotFoundException", "We can't find a root or OU with the ParentId "
                              "that you specified.")

    @staticmethod
    def _page(items, p, key, size=20):
        """A page of items and the NextToken of the next (organizations pages at MaxResults or 20)."""
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or size)
        out = {key: items[start:start + size]}
        if start + size < len(items):
            out["NextToken"] = str(start + size)
        return out

    def organizations_DescribeOrganization(self, p, region, body):
        org = self._org()
        arn = "arn:aws:organizations::%s:organization/%s" % (org["management"], org["id"])
        return {"Organization": {"Id": org["id"], "Arn": arn, "FeatureSet": "ALL",
            "MasterAccountId": org["management"], "MasterAccountArn": self._arn("account", org["management"]),
            "MasterAccountEmail": "aws+%s@example.com" % org["management"]}}, {}

    def organizations_ListRoots(self, p, region, body):
        org = self._org()
        return self._page([{"Id": org["root"], "Arn": self._arn("root", org["root"]), "Name": "Root",
                            "PolicyTypes": []}], p, "Roots"), {}

    def organizations_ListOrganizationalUnitsForParent(self, p, region, body):
        self._parent_exists(p.get("ParentId"))
        ous = [{"Id": i, "Arn": self._arn("ou", i), "Name": ou["name"]}
               for i, ou in sorted(self.org["ous"].items()) if ou["parent"] == p["ParentId"]]
        return self._page(ous, p, "OrganizationalUnits"), {}

    def organizations_ListAccounts(self, p, region, body):
        org = self._org()
        return self._page([self._account(a) for a in sorted(org["parent"])], p, "Accounts"), {}

    def organizations_ListAccountsForParent(self, p, region, body):
        self._parent_exists(p.get("ParentId"))
        return self._page([self._account(a) for a, parent in sorted(self.org["parent"].items())
                           if parent == p["ParentId"]], p, "Accounts"), {}

    def organizations_MoveAccount(self, p, region, body):
        org = self._org()
        a, src, dst = p.get("AccountId"), p.get("SourceParentId"), p.get("DestinationParentId")
        if a not in org["parent"]:
            raise self._Error(400, "AccountNotFoundException", "You specified an account that doesn't exist.")
        self._parent_exists(dst)
        if org["parent"][a] != src:
            raise self._Error(400, "SourceParentNotFoundException", "We can't find a source root or OU with the "
                              "ParentId that you specified.")
        before = self._targeted_by()
        org["parent"][a] = dst
        self._auto_deploy(a, before.get(a, set()), self._targeted_by().get(a, set()))
        return {}, {}

    def _accounts_under(self, ou):
        """Accounts of an OU or root and of all OUs below it, without the management account."""
        org = self.org
        units = {ou}
        grew = True
        while grew:
            more = {i for i, x in org["ous"].items() if x["parent"] in units} - units
            grew = bool(more)
            units |= more
        return sorted(a for a, parent in org["parent"].items() if parent in units and a != org["management"])

    # --- StackSets ------------------------------------------------------------------------
    def _stack_set(self, name):
        s = self.stack_sets.get(name)
        if s is None:
            s = next((x for x in self.stack_sets.values() if x["StackSetId"] == name), None)
        if s is None:
            raise self._Error(404, "StackSetNotFoundException", "StackSet %s not found" % name)
        return s

    def _operation(self, s, action, p, status="SUCCEEDED", reason=None, targets=None):
        op_id = p.get("OperationId") or str(uuid.uuid4())
        if op_id in self.operations:
            raise self._Error(409, "OperationIdAlreadyExistsException",
                              "The specified operation ID already exists.")
        op = {"OperationId": op_id, "StackSetId": s["StackSetId"], "Action": action, "Status": status,
              "CreationTimestamp": _now(), "EndTimestamp": _now(),
              "OperationPreferences": {"FailureToleranceCount": 0, "MaxConcurrentCount": 1},
              "RetainStacks": p.get("RetainStacks") == "true"}
        if targets:
            op["DeploymentTargets"] = {"OrganizationalUnitIds": targets}
        if reason:
            op["StatusReason"] = reason
        self.operations[op_id] = op
        return op_id

    def cloudformation_CreateStackSet(self, p, region, body):
        name = p.get("StackSetName", "")
        if name in self.stack_sets:
            raise self._Error(409, "NameAlreadyExistsException", "StackSet %s already exists" % name)
        model = p.get("PermissionModel", "SELF_MANAGED")
        auto = p.get("AutoDeployment.Enabled") == "true"
        if model == "SERVICE_MANAGED":
            self._org()
            if not self.trusted_access:
                raise self._validation("You must enable organizations access to operate a service managed stack set")
            if "AutoDeployment.Enabled" not in p:
                raise self._validation("AutoDeployment must be specified for a SERVICE_MANAGED stack set")
        elif auto:
            raise self._validation("AutoDeployment is only supported for SERVICE_MANAGED stack sets")
        given = {x["ParameterKey"]: x.get("ParameterValue", "") for x in self._plist(p, "Parameters")}
        caps = self._plist(p, "Capabilities")
        t, values = self._check_template(p.get("TemplateBody", ""), given, caps)
        set_id = "%s:%s" % (name, uuid.uuid4())
        self.stack_sets[name] = {
            "StackSetName": name, "StackSetId": set_id, "Status": "ACTIVE", "Template": t, "Values": values,
            "Capabilities": caps, "Tags": self._plist(p, "Tags"), "PermissionModel": model,
            "Description": p.get("Description", ""),
            "AutoDeployment": {"Enabled": auto,
                               "RetainStacksOnAccountRemoval": p.get("AutoDeployment.RetainStacksOnAccountRemoval")
                               == "true"},
            "StackSetARN": "arn:aws:cloudformation:%s:%s:stackset/%s" % (region, self.account, set_id),
            "ous": [], "regions": [], "instances": []}
        return {"StackSetId": set_id}, {}

    def _describe_set(self, s):
        out = {k: v for k, v in s.items() if k not in ("Template", "Values", "ous", "regions", "instances")}
        out["TemplateBody"] = json.dumps(s["Template"])
        out["Parameters"] = [{"ParameterKey": k, "ParameterValue": "****" if s["Template"].get(
            "Parameters", {}).get(k, {}).get("NoEcho") else str(v)} for k, v in sorted(s["Values"].items())]
        out["OrganizationalUnitIds"] = list(s["ous"])
        return out

    def cloudformation_DescribeStackSet(self, p, region, body):
        return {"StackSet": self._describe_set(self._stack_set(p.get("StackSetName")))}, {}

    def cloudformation_ListStackSets(self, p, region, body):
        want = p.get("Status")
        return {"Summaries": [{k: v for k, v in self._describe_set(s).items()
                               if k in ("StackSetName", "StackSetId", "Status", "PermissionModel",
                                        "AutoDeployment", "Description")}
                              for s in self.stack_sets.values() if not want or s["Status"] == want]}, {}

    def cloudformation_UpdateStackSet(self, p, region, body):
        """A new template or parameters for the stack set and all its instances."""
        s = self._stack_set(p.get("StackSetName"))
        given = {x["ParameterKey"]: x.get("ParameterValue", "") for x in self._plist(p, "Parameters")}
        body_text = p.get("TemplateBody") or json.dumps(s["Template"])
        t, values = self._check_template(body_text, given, self._plist(p, "Capabilities"))
        s["Template"], s["Values"] = t, values
        if "AutoDeployment.Enabled" in p:
            s["AutoDeployment"] = {"Enabled": p["AutoDeployment.Enabled"] == "true",
                                   "RetainStacksOnAccountRemoval":
                                       p.get("AutoDeployment.RetainStacksOnAccountRemoval") == "true"}
        failed = self._deploy(s, [(i["Account"], i["Region"], i["OrganizationalUnitId"]) for i in s["instances"]])
        return {"OperationId": self._operation(s, "UPDATE", p, *self._outcome(failed))}, {}

    @staticmethod
    def _outcome(failed):
        if not failed:
            return ("SUCCEEDED", None)
        return ("FAILED", "%d of the stack instances failed: %s" % (len(failed), ", ".join(failed)))

    def _deploy(self, s, targets):
        """Creates or updates the instances (account, region, ou); returns the failed ones."""
        failed = []
        for account, reg, ou in targets:
            inst = next((i for i in s["instances"] if i["Account"] == account and i["Region"] == reg), None)
            if inst is None:
                inst = {"Account": account, "Region": reg, "OrganizationalUnitId": ou, "StackSetId": s["StackSetId"],
                        "StackId": "arn:aws:cloudformation:%s:%s:stack/StackSet-%s-%s/%s" % (
                            reg, account, s["StackSetName"], uuid.uuid4().hex[:12], uuid.uuid4())}
                s["instances"].append(inst)
            why = "injected failure for %s/%s" % (account, reg) if (
                account in self.fail_instances or "%s/%s" % (account, reg) in self.fail_instances) \
                else self._instance_problem(s, account, reg)
            if why:
                inst.update(Status="OUTDATED", StatusReason=why, StackInstanceStatus={"DetailedStatus": "FAILED"})
                inst.setdefault("resources", [])   # a failed create rolls back; a failed update keeps the old
                failed.append("%s/%s" % (account, reg))
            else:
                inst.update(Status="CURRENT", StackInstanceStatus={"DetailedStatus": "SUCCEEDED"},
                            resources=self._instance_resources(s, account, reg))
                inst.pop("StatusReason", None)
        return failed

    def _instance_stack(self, s, account, reg):
        """A stand-in stack for evaluating the template in the instance's account and region."""
        st = type("InstanceStack", (), {})()
        st.region, st.name, st.resources = reg, "StackSet-%s" % s["StackSetName"], {}
        st.id = "arn:aws:cloudformation:%s:%s:stack/%s/fake" % (reg, account, st.name)
        return st

    def _instance_resources(self, s, account, reg):
        """The resource types the instance's stack holds (the template's, under its conditions)."""
        st = self._instance_stack(s, account, reg)
        return sorted(rtype for rtype, _ in self._wanted(s["Template"], s["Values"], st).values())

    def _instance_problem(self, s, account, reg):
        """Why the instance's stack would fail, as CloudFormation reports it, or None: a
        function's code must be an object in a bucket of the instance's region that the
        organization may read (the bucket is the management account's)."""
        st = self._instance_stack(s, account, reg)
        for logical, (rtype, props) in sorted(self._wanted(s["Template"], s["Values"], st).items()):
            code = props.get("Code", {}) if rtype == "AWS::Lambda::Function" else {}
            if "S3Bucket" not in code:
                continue
            bucket = str(self._eval(code["S3Bucket"], s["Values"], st))
            key = str(self._eval(code.get("S3Key", ""), s["Values"], st))
            b = self.buckets.get(bucket)
            if b is None:
                err = "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified " \
                      "bucket does not exist"
            elif b.get("region", "us-east-1") != reg:
                err = "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: The " \
                      "bucket is in this region: %s. Please use this region to retry the request" % b.get("region")
            elif not self._org_may_read(b, bucket, key):
                err = "Your access has been denied by S3, please make sure your request credentials have " \
                      "permission to GetObject for %s/%s. S3 Error Code: AccessDenied. S3 Error Message: Access " \
                      "Denied" % (bucket, key)
            elif not any(o[0] == key for o in b["objects"]):
                err = "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified " \
                      "key does not exist."
            else:
                continue
            return "ResourceLogicalId:%s, ResourceType:%s, ResourceStatusReason:Resource handler returned " \
                   "message: \"%s (Service: Lambda, Status Code: 400)\" (HandlerErrorCode: InvalidRequest)." % (
                       logical, rtype, err)
        return None

    def _org_may_read(self, b, bucket, key):
        """Does the bucket policy let any principal of the organization s3:GetObject the key?"""
        import fnmatch
        for st in (b.get("policy") or {}).get("Statement", []):
            listify = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
            principal = st.get("Principal")
            if st.get("Effect") != "Allow" or principal not in ("*", {"AWS": "*"}):
                continue
            if not any(a in ("s3:GetObject", "s3:*", "*") for a in listify(st.get("Action"))):
                continue
            if not any(fnmatch.fnmatchcase("arn:aws:s3:::%s/%s" % (bucket, key), r)
                       for r in listify(st.get("Resource"))):
                continue
            if st.get("Condition") == {"StringEquals": {"aws:PrincipalOrgID": self.org["id"]}}:
                return True
        return False

    def _targets(self, p):
        ous = self._plist(p, "DeploymentTargets.OrganizationalUnitIds")
        regions = self._plist(p, "Regions")
        if self._plist(p, "DeploymentTargets.Accounts") and not ous:
            raise self._validation("StackSets with SERVICE_MANAGED permission model can only have "
                                   "OrganizationalUnit as target")
        if not ous or not regions:
            raise self._validation("DeploymentTargets.OrganizationalUnitIds and Regions are required")
        for ou in ous:
            self._parent_exists(ou)
        return ous, regions

    def cloudformation_CreateStackInstances(self, p, region, body):
        s = self._stack_set(p.get("StackSetName"))
        if s["PermissionModel"] != "SERVICE_MANAGED":
            raise self._validation("the fake deploys service-managed stack sets only")
        ous, regions = self._targets(p)
        s["ous"] = sorted(set(s["ous"]) | set(ous))
        s["regions"] = sorted(set(s["regions"]) | set(regions), key=(s["regions"] + regions).index)
        targets = [(a, reg, ou) for ou in ous for a in self._accounts_under(ou) for reg in regions]
        failed = self._deploy(s, targets)
        return {"OperationId": self._operation(s, "CREATE", p, *self._outcome(failed), targets=ous)}, {}

    def cloudformation_DeleteStackInstances(self, p, region, body):
        s = self._stack_set(p.get("StackSetName"))
        if "RetainStacks" not in p:
            raise self._validation("1 validation error detected: Value null at 'retainStacks' failed to satisfy "
                                   "constraint: Member must not be null")
        ous, regions = self._targets(p)
        accounts = {a for ou in ous for a in self._accounts_under(ou)}
        s["instances"] = [i for i in s["instances"] if not (i["Account"] in accounts and i["Region"] in regions)]
        if not any(i["Region"] in regions for i in s["instances"]):
            s["regions"] = [r for r in s["regions"] if r not in regions]
        s["ous"] = [ou for ou in s["ous"] if ou not in ous]
        return {"OperationId": self._operation(s, "DELETE", p, targets=ous)}, {}

    def cloudformation_ListStackInstances(self, p, region, body):
        s = self._stack_set(p.get("StackSetName"))
        items = [dict(i, DriftStatus="NOT_CHECKED") for i in s["instances"]
                 if p.get("StackInstanceAccount") in (None, i["Account"])
                 and p.get("StackInstanceRegion") in (None, i["Region"])]
        return self._page(items, p, "Summaries", 100), {}

    def cloudformation_DescribeStackSetOperation(self, p, region, body):
        s = self._stack_set(p.get("StackSetName"))
        op = self.operations.get(p.get("OperationId"))
        if op is None or op["StackSetId"] != s["StackSetId"]:
            raise self._Error(404, "OperationNotFoundException", "Operation %s not found" % p.get("OperationId"))
        return {"StackSetOperation": op}, {}

    def cloudformation_ListStackSetOperations(self, p, region, body):
        s = self._stack_set(p.get("StackSetName"))
        return {"Summaries": [{k: op[k] for k in ("OperationId", "Action", "Status", "CreationTimestamp",
                                                  "EndTimestamp") if k in op}
                              for op in self.operations.values() if op["StackSetId"] == s["StackSetId"]]}, {}

    def cloudformation_DeleteStackSet(self, p, region, body):
        name = p.get("StackSetName")
        s = self.stack_sets.get(name)
        if s is None:
            return {}, {}       # AWS answers a deleted or unknown stack set with success
        if s["instances"]:
            raise self._Error(409, "StackSetNotEmptyException", "StackSet is not empty")
        del self.stack_sets[name]
        return {}, {}

    # --- auto-deployment --------------------------------------------------------------
    def _targeted_by(self):
        """account -> {stack set names whose target OUs hold it}."""
        out = {}
        for name, s in self.stack_sets.items():
            for ou in s["ous"]:
                for a in self._accounts_under(ou):
                    out.setdefault(a, set()).add(name)
        return out

    def _auto_deploy(self, account, before, after):
        for name in sorted(after - before):
            s = self.stack_sets[name]
            if s["AutoDeployment"]["Enabled"]:
                ou = next(o for o in s["ous"] if account in self._accounts_under(o))
                self._deploy(s, [(account, reg, ou) for reg in s["regions"]])
        for name in sorted(before - after):
            s = self.stack_sets[name]
            if s["AutoDeployment"]["Enabled"] and not s["AutoDeployment"]["RetainStacksOnAccountRemoval"]:
                s["instances"] = [i for i in s["instances"] if i["Account"] != account]
