-- mappings/autoscaling.lua -- EC2 Auto Scaling groups.
--
-- One component per group, id = AutoScalingGroupARN as AWS returns it
-- (arn:<p>:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>).
-- Tags come inline with the group.
-- Relations:
--   group has each of its instances           (Instances[].InstanceId -> EC2 instance ARN)
--   group runs-in each subnet of VPCZoneIdentifier
--   classic load balancer routes-to group     (LoadBalancerNames -> classic ELB ARN)
--   target group routes-to group              (TargetGroupARNs, and the elb / elbv2 /
--                                              vpc-lattice entries of TrafficSources)
-- The load balancer relations point from the load balancer to the group: the load
-- balancer sends requests on to the group's instances and depends on the group's
-- capacity (docs/relations.md, routes-to). The load balancer mappings draw load balancer
-- routes-to instance; only this mapping sees the attachment, so it draws these.
--
-- Calls: DescribeAutoScalingGroups, paginated, 100 groups per call, tags included.
-- Event caveat: a group's ARN holds a UUID that DeleteAutoScalingGroup records do not
-- carry; the delete handler reads it from DescribeAutoScalingGroups while the group is
-- still being deleted, else it warns and the next scan's snapshot removes the group.

local M = {
  service = "autoscaling",
  scope = "regional",
  calls = { "DescribeAutoScalingGroups" },

  types = {
    ["aws.autoscaling.group"] = {
      layer = "Machines",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Auto Scaling Group console",
        url = "{console}/ec2/home?region={region}#AutoScalingGroupDetails:id={AutoScalingGroupName|url};view=details",
      },
      cloudwatch = {
        namespace = "AWS/AutoScaling",
        dimensions = { AutoScalingGroupName = "{AutoScalingGroupName}" },
        metrics = {
          GroupDesiredCapacity      = { stat = "Average", unit = "None" },
          GroupInServiceInstances   = { stat = "Average", unit = "None" },
          GroupPendingInstances     = { stat = "Average", unit = "None" },
          GroupTerminatingInstances = { stat = "Average", unit = "None" },
          GroupTotalInstances       = { stat = "Average", unit = "None" },
        },
        default = { "GroupDesiredCapacity", "GroupInServiceInstances" },
      },
    },
  },
}

M.PAGE_SIZE = 100   -- DescribeAutoScalingGroups: MaxRecords maximum

local function instance_arn(ctx, id) return ctx.arn("ec2", "instance/" .. id) end
local function elb_arn(ctx, name) return ctx.arn("elasticloadbalancing", "loadbalancer/" .. name) end

-- The load balancers and target groups in front of the group, as ids, sorted, unique.
function M.fronts(ctx, group)
  local set = {}
  for _, name in ipairs(group.LoadBalancerNames or {}) do set[elb_arn(ctx, name)] = true end
  for _, tg in ipairs(group.TargetGroupARNs or {}) do set[tg] = true end
  for _, src in ipairs(group.TrafficSources or {}) do
    local ident = src.Identifier
    if type(ident) == "string" then
      if src.Type == "elb" and not ident:match("^arn:") then set[elb_arn(ctx, ident)] = true
      else set[ident] = true end
    end
  end
  local list = {}
  for id in pairs(set) do list[#list + 1] = id end
  table.sort(list)
  return list
end

-- skip: instance ids / front ids whose relation must not be drawn (being detached).
function M.emit(ctx, group, skip)
  skip = skip or {}
  local id = ctx.component {
    type = "aws.autoscaling.group",
    id = group.AutoScalingGroupARN,
    name = group.AutoScalingGroupName,
    data = group,
  }
  for _, inst in ipairs(group.Instances or {}) do
    if inst.InstanceId and not skip[inst.InstanceId] then
      ctx.relation(id, "has", instance_arn(ctx, inst.InstanceId))
    end
  end
  for subnet in (group.VPCZoneIdentifier or ""):gmatch("[^,%s]+") do
    ctx.relation(id, "runs-in", ctx.arn("ec2", "subnet/" .. subnet))
  end
  for _, front in ipairs(M.fronts(ctx, group)) do
    if not skip[front] then ctx.relation(front, "routes-to", id) end
  end
  return id
end

function M.scan(ctx)
  for page in ctx.aws.paginate("DescribeAutoScalingGroups", { MaxRecords = M.PAGE_SIZE }) do
    for _, group in ipairs(page.AutoScalingGroups or {}) do M.emit(ctx, group) end
  end
end

-- The group named `name`, or nil when it does not exist (any more).
function M.find(ctx, name)
  local resp = ctx.aws.call("DescribeAutoScalingGroups", { AutoScalingGroupNames = { name } })
  return (resp.AutoScalingGroups or {})[1]
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource autoscaling.amazonaws.com)

local function rescan(ctx, e)
  local p = e.requestParameters or {}
  local names = {}
  if p.autoScalingGroupName then names[1] = p.autoScalingGroupName end
  for _, t in ipairs(p.tags or {}) do       -- CreateOrUpdateTags / DeleteTags
    if t.resourceId and (t.resourceType == nil or t.resourceType == "auto-scaling-group") then
      names[#names + 1] = t.resourceId
    end
  end
  local seen = {}
  for _, name in ipairs(names) do
    if not seen[name] then
      seen[name] = true
      local group = M.find(ctx, name)
      if group then M.emit(ctx, group) end
    end
  end
end

-- Detach*: re-describe, without the relations being detached, and delete those.
local function detach(ctx, e)
  local p = e.requestParameters or {}
  if not p.autoScalingGroupName then return end
  local group = M.find(ctx, p.autoScalingGroupName)
  if not group then return end
  local id, skip = group.AutoScalingGroupARN, {}
  for _, inst in ipairs(p.instanceIds or {}) do
    skip[inst] = true
    ctx.delete_relation(id, "has", instance_arn(ctx, inst))
  end
  local fronts = {}
  for _, name in ipairs(p.loadBalancerNames or {}) do fronts[#fronts + 1] = elb_arn(ctx, name) end
  for _, tg in ipairs(p.targetGroupARNs or {}) do fronts[#fronts + 1] = tg end
  for _, src in ipairs(p.trafficSources or {}) do
    local ident = src.identifier
    if ident then
      fronts[#fronts + 1] = (src.type == "elb" and not ident:match("^arn:")) and elb_arn(ctx, ident) or ident
    end
  end
  for _, front in ipairs(fronts) do
    skip[front] = true
    ctx.delete_relation(front, "routes-to", id)
  end
  M.emit(ctx, group, skip)
end

M.events = {
  CreateAutoScalingGroup = rescan,
  UpdateAutoScalingGroup = rescan,
  AttachInstances = rescan,
  AttachLoadBalancers = rescan,
  AttachLoadBalancerTargetGroups = rescan,
  AttachTrafficSources = rescan,
  SetDesiredCapacity = rescan,
  CreateOrUpdateTags = rescan,
  DeleteTags = rescan,
  DetachInstances = detach,
  DetachLoadBalancers = detach,
  DetachLoadBalancerTargetGroups = detach,
  DetachTrafficSources = detach,

  DeleteAutoScalingGroup = function(ctx, e)
    local name = (e.requestParameters or {}).autoScalingGroupName
    if not name then return end
    local group = M.find(ctx, name)
    if group and group.AutoScalingGroupARN then
      ctx.delete(group.AutoScalingGroupARN)
    else
      ctx.warn("auto scaling group %s: deleted, ARN unknown; the next scan removes it", name)
    end
  end,
}

-- the group an event is about (only the newest event per group of a batch is
-- handled). Not the detaches (they delete relations a describe cannot) nor the
-- delete (a group of the same name made later is another group, another ARN).
M.event_resource = {
  CreateAutoScalingGroup = "autoScalingGroupName", UpdateAutoScalingGroup = "autoScalingGroupName",
  AttachInstances = "autoScalingGroupName", AttachLoadBalancers = "autoScalingGroupName",
  AttachLoadBalancerTargetGroups = "autoScalingGroupName", AttachTrafficSources = "autoScalingGroupName",
  SetDesiredCapacity = "autoScalingGroupName",
}

return M
