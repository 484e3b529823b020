-- mappings/elb.lua -- Classic Elastic Load Balancers (model elasticloadbalancing 2012-06-01).
--
-- One component per classic load balancer, id
-- arn:<p>:elasticloadbalancing:<region>:<account>:loadbalancer/<name>; its DNS name gives the
-- extra identifier "urn:dns:/<dns name>" (route53.lua's alias/CNAME records point at it).
-- Relations:
--   load balancer runs-in its VPC                  (VPCId; absent for EC2-Classic)
--   load balancer routes-to each registered instance (Instances[].InstanceId)
--   load balancer uses each security group          (SecurityGroups)
-- Auto Scaling groups attached to the load balancer are drawn by autoscaling.lua
-- (load balancer routes-to group), which sees the attachment.
--
-- Calls: DescribeLoadBalancers (paginated, 400 per page) + DescribeTags per 20 load
-- balancers (the API's maximum). ELBv2 (elbv2.lua) sends CloudTrail events with the same
-- names (CreateLoadBalancer, DeleteLoadBalancer, AddTags, ...); the handlers here act
-- only on classic records (apiVersion 2012-06-01 / loadBalancerName parameters).

local M = {
  service = "elb",
  scope = "regional",
  calls = { "DescribeLoadBalancers", "DescribeTags" },

  types = {
    ["aws.elb.load-balancer"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Load Balancer console",
        url = "{console}/ec2/home?region={region}#LoadBalancers:search={LoadBalancerName|url}",
      },
      cloudwatch = {
        namespace = "AWS/ELB",
        dimensions = { LoadBalancerName = "{LoadBalancerName}" },
        metrics = {
          RequestCount         = { stat = "Sum", unit = "Count" },
          Latency              = { stat = "Average", unit = "Seconds" },
          HealthyHostCount     = { stat = "Minimum", unit = "Count" },
          UnHealthyHostCount   = { stat = "Maximum", unit = "Count" },
          HTTPCode_ELB_5XX     = { stat = "Sum", unit = "Count" },
          HTTPCode_Backend_5XX = { stat = "Sum", unit = "Count" },
          SurgeQueueLength     = { stat = "Maximum", unit = "Count" },
        },
        default = { "RequestCount", "Latency", "UnHealthyHostCount" },
      },
    },
  },
}

M.TAGS_PER_CALL = 20   -- DescribeTags: LoadBalancerNames has at most 20 members
M.PAGE_SIZE = 400      -- DescribeLoadBalancers: PageSize maximum

-- "urn:dns:/<dns name>", lowercased, without a trailing dot: route53.lua points alias
-- and CNAME records at load balancers with this identifier.
local function dns_identifier(name)
  if type(name) ~= "string" or name == "" then return nil end
  return "urn:dns:/" .. (name:lower():gsub("%.$", ""))
end

local chunks = require("batch").chunks

function M.lb_arn(ctx, name)
  return ctx.arn("elasticloadbalancing", "loadbalancer/" .. name)
end

local function instance_arn(ctx, id) return ctx.arn("ec2", "instance/" .. id) end

-- Tags of the named load balancers: { name = {Key,Value list} }. A failing call
-- (AccessDenied) costs the tags of that chunk only, with a warning. A load balancer
-- deleted since it was listed fails its whole chunk (LoadBalancerNotFound): the chunk
-- is then asked one name at a time, and the gone one is skipped.
local GONE = { LoadBalancerNotFound = true, AccessPointNotFound = true }
local LB_GONE = { gone = "LoadBalancerNotFound" }   -- ctx.aws.call's option, for one name

local function tag_chunk(ctx, chunk, result)
  local resp, err = ctx.aws.try("DescribeTags", { LoadBalancerNames = chunk })
  if not resp then
    if GONE[err.code] and #chunk > 1 then
      ctx.each(chunk, function(name) tag_chunk(ctx, { name }, result) end)
    elseif not GONE[err.code] then
      ctx.warn("load balancers %s: DescribeTags: %s", table.concat(chunk, ","), err.code)
    end
    return
  end
  for _, d in ipairs(resp.TagDescriptions or {}) do
    if d.LoadBalancerName then result[d.LoadBalancerName] = d.Tags end
  end
end

function M.tags_of(ctx, names)
  local result = {}
  ctx.each(chunks(names, M.TAGS_PER_CALL), function(chunk) tag_chunk(ctx, chunk, result) end)
  return result
end

-- skip: instance ids whose routes-to relation must not be drawn (being deregistered).
function M.emit(ctx, lb, tags, skip)
  local id = M.lb_arn(ctx, lb.LoadBalancerName)
  ctx.component {
    type = "aws.elb.load-balancer",
    id = id,
    name = lb.LoadBalancerName,
    data = lb,
    tags = tags or {},
    identifiers = { dns_identifier(lb.DNSName) },
  }
  if lb.VPCId then ctx.relation(id, "runs-in", ctx.arn("ec2", "vpc/" .. lb.VPCId)) end
  for _, inst in ipairs(lb.Instances or {}) do
    if inst.InstanceId and not (skip and skip[inst.InstanceId]) then
      ctx.relation(id, "routes-to", instance_arn(ctx, inst.InstanceId))
    end
  end
  for _, sg in ipairs(lb.SecurityGroups or {}) do
    ctx.relation(id, "uses", ctx.arn("ec2", "security-group/" .. sg))
  end
  return id
end

function M.scan(ctx)
  local lbs, names = {}, {}
  for page in ctx.aws.paginate("DescribeLoadBalancers", { PageSize = M.PAGE_SIZE }) do
    for _, lb in ipairs(page.LoadBalancerDescriptions or {}) do
      lbs[#lbs + 1] = lb
      names[#names + 1] = lb.LoadBalancerName
    end
  end
  local tags = M.tags_of(ctx, names)
  for _, lb in ipairs(lbs) do M.emit(ctx, lb, tags[lb.LoadBalancerName]) end
end

-- Re-describes one load balancer (events). Gone already: nothing to emit.
function M.describe(ctx, name, skip)
  local resp = ctx.aws.call("DescribeLoadBalancers", { LoadBalancerNames = { name } }, LB_GONE)
  if not resp then return end
  for _, lb in ipairs(resp.LoadBalancerDescriptions or {}) do
    M.emit(ctx, lb, M.tags_of(ctx, { lb.LoadBalancerName })[lb.LoadBalancerName], skip)
  end
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource elasticloadbalancing.amazonaws.com)

-- Classic records carry apiVersion 2012-06-01 and name load balancers by name;
-- ELBv2 records (2015-12-01) use ARNs and are left to elbv2.lua.
local function classic(e)
  if e.apiVersion and e.apiVersion ~= "2012-06-01" then return nil end
  return e.requestParameters or nil
end

local function rescan(ctx, e)
  local p = classic(e)
  if not p then return end
  if p.loadBalancerName then M.describe(ctx, p.loadBalancerName) end
  for _, name in ipairs(p.loadBalancerNames or {}) do M.describe(ctx, name) end
end

M.events = {
  CreateLoadBalancer = rescan,
  ApplySecurityGroupsToLoadBalancer = rescan,
  AttachLoadBalancerToSubnets = rescan,
  DetachLoadBalancerFromSubnets = rescan,
  EnableAvailabilityZonesForLoadBalancer = rescan,
  DisableAvailabilityZonesForLoadBalancer = rescan,
  ConfigureHealthCheck = rescan,
  CreateLoadBalancerListeners = rescan,
  DeleteLoadBalancerListeners = rescan,
  RegisterInstancesWithLoadBalancer = rescan,
  AddTags = rescan,
  RemoveTags = rescan,

  DeregisterInstancesFromLoadBalancer = function(ctx, e)
    local p = classic(e)
    if not (p and p.loadBalancerName) then return end
    local skip, id = {}, M.lb_arn(ctx, p.loadBalancerName)
    for _, inst in ipairs(p.instances or {}) do
      if inst.instanceId then
        skip[inst.instanceId] = true
        ctx.delete_relation(id, "routes-to", instance_arn(ctx, inst.instanceId))
      end
    end
    M.describe(ctx, p.loadBalancerName, skip)
  end,

  DeleteLoadBalancer = function(ctx, e)
    local p = classic(e)
    if p and p.loadBalancerName then ctx.delete(M.lb_arn(ctx, p.loadBalancerName)) end
  end,
}

-- the load balancer an event is about (only the newest event per load balancer
-- of a batch is handled); not the deregistration, which deletes relations
M.event_resource = {}
for name in pairs(M.events) do M.event_resource[name] = "loadBalancerName" end
M.event_resource.DeregisterInstancesFromLoadBalancer = nil

return M
