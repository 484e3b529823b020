-- mappings/ec2.lua -- Amazon EC2 instances and security groups.
--
-- Components:
--   aws.ec2.instance        one per instance that is not terminated
--                           (DescribeInstances, tags inline); identifiers
--                           urn:host:/<InstanceId> and urn:host:/<PrivateDnsName>
--                           so hosts reported by the StackState agent merge.
--   aws.ec2.security-group  one per security group (DescribeSecurityGroups).
-- Relations (docs/relations.md):
--   instance       runs-in  subnet   placement; the VPC when the instance has
--                                    no subnet, nothing for EC2-Classic
--   instance       uses     security group, for each of its groups
--   security group runs-in  VPC      (none for an EC2-Classic group)
-- Subnets and VPCs are emitted by mappings/vpc.lua; the ids meet because both
-- build the ARNs with ctx.arn in the scanned account. A resource shared into
-- this account from another one (RAM, OwnerId differs) also gets the owner's
-- ARN as an identifier, so the owner account's scan merges with it.
--
-- Calls per region: DescribeInstances and DescribeSecurityGroups, paginated
-- (1000 per page), run side by side. Nothing per resource.

local redescribe = require("redescribe")

local M = {
  service = "ec2",
  scope = "regional",
  calls = { "DescribeInstances", "DescribeSecurityGroups" },

  types = {
    ["aws.ec2.instance"] = {
      layer = "Machines",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to EC2 console",
        url = "{console}/ec2/v2/home?region={region}#InstanceDetails:instanceId={InstanceId}",
      },
      cloudwatch = {
        namespace = "AWS/EC2",
        dimensions = { InstanceId = "{InstanceId}" },
        metrics = {
          CPUUtilization    = { stat = "Average", unit = "Percent" },
          NetworkIn         = { stat = "Sum", unit = "Bytes" },
          NetworkOut        = { stat = "Sum", unit = "Bytes" },
          DiskReadOps       = { stat = "Sum", unit = "Count" },
          DiskWriteOps      = { stat = "Sum", unit = "Count" },
          StatusCheckFailed = { stat = "Maximum", unit = "Count" },
        },
        default = { "CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed" },
      },
    },
    ["aws.ec2.security-group"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Security Group console",
        url = "{console}/ec2/v2/home?region={region}#SecurityGroup:groupId={GroupId}",
      },
    },
  },
}

local PAGE = 1000

---------------------------------------------------------------------------
-- ARNs (arn:<p>:ec2:<region>:<account>:<type>/<id>)

function M.instance_arn(ctx, id) return ctx.arn("ec2", "instance/" .. id) end
function M.security_group_arn(ctx, id) return ctx.arn("ec2", "security-group/" .. id) end
local function subnet_arn(ctx, id) return ctx.arn("ec2", "subnet/" .. id) end
local function vpc_arn(ctx, id) return ctx.arn("ec2", "vpc/" .. id) end

local present = require("values").present
local name_tag = require("tags").name

-- The owner's ARN of a resource shared into this account; nil for our own.
local function owner_arn(ctx, resource, owner)
  if present(owner) and owner ~= ctx.account then
    return ctx.arn("ec2", resource, { account = owner })
  end
end

---------------------------------------------------------------------------
-- components

-- Emits one instance (as DescribeInstances returns it) and its relations.
-- A terminated instance is gone: skipped in a scan, deleted from an event.
function M.emit_instance(ctx, inst, from_event)
  local id = M.instance_arn(ctx, inst.InstanceId)
  if inst.State and inst.State.Name == "terminated" then
    if from_event then ctx.delete(id) end
    return
  end
  local identifiers = { "urn:host:/" .. inst.InstanceId }
  if present(inst.PrivateDnsName) then identifiers[#identifiers + 1] = "urn:host:/" .. inst.PrivateDnsName end
  ctx.component {
    type = "aws.ec2.instance",
    id = id,
    name = name_tag(inst.Tags) or inst.InstanceId,
    data = inst,
    identifiers = identifiers,
  }
  if present(inst.SubnetId) then
    ctx.relation(id, "runs-in", subnet_arn(ctx, inst.SubnetId))
  elseif present(inst.VpcId) then
    ctx.relation(id, "runs-in", vpc_arn(ctx, inst.VpcId))
  end
  for _, g in ipairs(inst.SecurityGroups or {}) do
    if present(g.GroupId) then ctx.relation(id, "uses", M.security_group_arn(ctx, g.GroupId)) end
  end
end

function M.emit_security_group(ctx, sg)
  local id = M.security_group_arn(ctx, sg.GroupId)
  local owner = owner_arn(ctx, "security-group/" .. sg.GroupId, sg.OwnerId)
  ctx.component {
    type = "aws.ec2.security-group",
    id = id,
    name = name_tag(sg.Tags) or sg.GroupName or sg.GroupId,
    data = sg,
    identifiers = { owner },
  }
  if present(sg.VpcId) then ctx.relation(id, "runs-in", vpc_arn(ctx, sg.VpcId)) end
end

local function emit_reservations(ctx, page, from_event)
  for _, r in ipairs(page.Reservations or {}) do
    for _, inst in ipairs(r.Instances or {}) do M.emit_instance(ctx, inst, from_event) end
  end
end

local function emit_security_groups(ctx, page)
  for _, sg in ipairs(page.SecurityGroups or {}) do M.emit_security_group(ctx, sg) end
end

---------------------------------------------------------------------------
-- scan

local function scan_instances(ctx)
  for page in ctx.aws.paginate("DescribeInstances", { MaxResults = PAGE }) do emit_reservations(ctx, page) end
end

local function scan_security_groups(ctx)
  for page in ctx.aws.paginate("DescribeSecurityGroups", { MaxResults = PAGE }) do
    emit_security_groups(ctx, page)
  end
end

function M.scan(ctx)
  ctx.each({ scan_instances, scan_security_groups }, function(scan) scan(ctx) end)
end

---------------------------------------------------------------------------
-- events: re-describe what the event names; what no longer exists is deleted

local KIND = {
  instance = { name = "instance", op = "DescribeInstances", param = "InstanceIds",
               notfound = "InvalidInstanceID.NotFound", arn = M.instance_arn,
               emit = function(ctx, page) emit_reservations(ctx, page, true) end },
  group = { name = "group", op = "DescribeSecurityGroups", param = "GroupIds",
            notfound = "InvalidGroup.NotFound", arn = M.security_group_arn, emit = emit_security_groups },
}

function M.describe(ctx, kind, ids)
  redescribe.ids(ctx, KIND[kind], ids)
end

-- CloudTrail writes EC2 id lists as { items = { { <field> = id }, ... } }.
local function items(set, field, prefix)
  local ids = {}
  for _, item in ipairs(type(set) == "table" and set.items or {}) do
    local id = item[field]
    if present(id) and (prefix == nil or id:sub(1, #prefix) == prefix) then ids[#ids + 1] = id end
  end
  return ids
end

local function request(e) return e.requestParameters or {} end
local function response(e) return e.responseElements or {} end

local function instances_of(e)
  local ids = items(request(e).instancesSet, "instanceId")
  if #ids == 0 then ids = items(response(e).instancesSet, "instanceId") end
  return ids
end

local function changed_instances(ctx, e) M.describe(ctx, "instance", instances_of(e)) end

-- The group id: groupId in older EC2 records; newer operations
-- (ModifySecurityGroupRules) log { <Operation>Request = { GroupId = .. } }.
local function group_of(e)
  local id = request(e).groupId or response(e).groupId
  if present(id) then return id end
  for _, wrapped in pairs(request(e)) do
    if type(wrapped) == "table" and present(wrapped.GroupId) then return wrapped.GroupId end
  end
end

local function changed_group(ctx, e)
  local id = group_of(e)
  if present(id) then M.describe(ctx, "group", { id }) end
end

local function retagged(ctx, e)
  local set = request(e).resourcesSet
  M.describe(ctx, "instance", items(set, "resourceId", "i-"))
  M.describe(ctx, "group", items(set, "resourceId", "sg-"))
end

M.events = {
  RunInstances = function(ctx, e) M.describe(ctx, "instance", items(response(e).instancesSet, "instanceId")) end,
  StartInstances = changed_instances,
  StopInstances = changed_instances,
  ModifyInstanceAttribute = function(ctx, e)
    local id = request(e).instanceId
    if present(id) then M.describe(ctx, "instance", { id }) end
  end,
  TerminateInstances = function(ctx, e)
    for _, id in ipairs(instances_of(e)) do ctx.delete(M.instance_arn(ctx, id)) end
  end,
  -- EventBridge's own event: "terminated" deletes the instance at once, any
  -- other state (pending, running, stopping, stopped, shutting-down) describes it
  ["EC2 Instance State-change Notification"] = function(ctx, e)
    local d = type(e.detail) == "table" and e.detail or {}
    local id = d["instance-id"]
    if not present(id) then return end
    if d.state == "terminated" then
      ctx.delete(M.instance_arn(ctx, id))
    else
      M.describe(ctx, "instance", { id })
    end
  end,

  CreateSecurityGroup = changed_group,
  AuthorizeSecurityGroupIngress = changed_group,
  AuthorizeSecurityGroupEgress = changed_group,
  RevokeSecurityGroupIngress = changed_group,
  RevokeSecurityGroupEgress = changed_group,
  ModifySecurityGroupRules = changed_group,
  UpdateSecurityGroupRuleDescriptionsIngress = changed_group,
  UpdateSecurityGroupRuleDescriptionsEgress = changed_group,
  DeleteSecurityGroup = function(ctx, e)
    local id = request(e).groupId
    if present(id) then
      ctx.delete(M.security_group_arn(ctx, id))
    else   -- deleted by name (default VPC): the id is not in the record
      ctx.warn("DeleteSecurityGroup of %s without a group id: left to the next scan",
               tostring(request(e).groupName))
    end
  end,

  CreateTags = retagged,
  DeleteTags = retagged,
}

-- the instance or security group an event is about (only the newest event per
-- resource of a batch is handled): one instance, or a group by id
function M.event_resource(e)
  if e["detail-type"] then return (e.detail or {})["instance-id"] end
  local p = request(e)
  if e.eventName == "CreateTags" or e.eventName == "DeleteTags" or e.eventName == "RunInstances" then return nil end
  if present(p.instanceId) then return p.instanceId end
  local set = type(p.instancesSet) == "table" and p.instancesSet.items
  if type(set) == "table" and #set == 1 and present(set[1].instanceId) then return set[1].instanceId end
  return present(p.groupId) and p.groupId or nil
end

return M
