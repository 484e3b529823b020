-- mappings/elbv2.lua -- Elastic Load Balancing v2: application, network and gateway
-- load balancers and their target groups (model elasticloadbalancing 2015-12-01).
--
-- Components (ids are the ARNs AWS returns):
--   aws.elbv2.application-load-balancer  ALBs   (views all, infrastructure, serverless:
--                                                the Serverless view includes ALBs)
--   aws.elbv2.network-load-balancer      NLBs   (views all, infrastructure)
--   aws.elbv2.gateway-load-balancer      GWLBs  (views all, infrastructure)
--   aws.elbv2.target-group               target groups
-- Views are declared per type, so the three kinds of load balancer are three types;
-- data.Type still says "application" / "network" / "gateway". A load balancer's DNS
-- name gives the extra identifier "urn:dns:/<dns name>" (route53.lua's alias/CNAME
-- records point at it).
--
-- Relations:
--   load balancer routes-to target group   (TargetGroup.LoadBalancerArns: no per-LB
--                                            DescribeListeners calls needed)
--   target group routes-to each registered target (DescribeTargetHealth):
--       instance -> arn:<p>:ec2:<region>:<account>:instance/<id>
--       lambda   -> the function ARN (Target.Id)
--       alb      -> the application load balancer ARN (Target.Id)
--       ip       -> "urn:ip:/<vpc-id>/<ip>": the address as seen from the target
--                   group's VPC. No mapping emits a component for a bare IP address (it
--                   is an ENI, an ECS task, a peered or on-premises host), so the
--                   relation stays pending until a component carries that identifier;
--                   the VPC scope keeps equal private addresses of different VPCs apart.
--   load balancer runs-in its VPC, target group runs-in its VPC (VpcId)
--   load balancer uses each security group
-- Auto Scaling groups attached to a target group (target group routes-to group) are
-- drawn by autoscaling.lua, ECS services (service uses target group) by ecs.lua.
--
-- Computed data fields, for the CloudWatch dimensions: LoadBalancerFullName
-- ("app/<name>/<id>", the ARN after "loadbalancer/") and TargetGroupFullName
-- ("targetgroup/<name>/<id>"), named like CloudFormation's attributes. A target group's
-- LoadBalancer dimension is that of its first load balancer. Its namespace,
-- CloudWatchNamespace, follows that load balancer's type (app/ -> AWS/ApplicationELB,
-- net/ -> AWS/NetworkELB, gwy/ -> AWS/GatewayELB), or, without one, its protocol.
--
-- Calls: DescribeLoadBalancers (paginated, 400 per page) + DescribeTargetGroups
-- (paginated, 400 per page) + DescribeTags per 20 ARNs (load balancers and target groups
-- together) + DescribeTargetHealth per target group.
-- Classic ELB (elb.lua) sends CloudTrail events with the same names; the handlers here
-- act only on ELBv2 records (apiVersion 2015-12-01 / ARN parameters).

-- What the three load balancer types share.
local LB_ACTION = {
  name = "Go to Load Balancer console",
  url = "{console}/ec2/home?region={region}#LoadBalancer:loadBalancerArn={LoadBalancerArn}",
}
local FLOW_METRICS = {
  ActiveFlowCount    = { stat = "Average", unit = "Count" },
  NewFlowCount       = { stat = "Sum", unit = "Count" },
  ProcessedBytes     = { stat = "Sum", unit = "Bytes" },
  HealthyHostCount   = { stat = "Minimum", unit = "Count" },
  UnHealthyHostCount = { stat = "Maximum", unit = "Count" },
}
local FLOW_DEFAULT = { "ActiveFlowCount", "ProcessedBytes", "UnHealthyHostCount" }

-- network and gateway load balancers: the same type in their own namespace
local function flow_load_balancer(namespace)
  return {
    layer = "Networking",
    views = { "all", "infrastructure" },
    action = LB_ACTION,
    cloudwatch = {
      namespace = namespace,
      dimensions = { LoadBalancer = "{LoadBalancerFullName}" },
      metrics = FLOW_METRICS,
      default = FLOW_DEFAULT,
    },
  }
end

local M = {
  service = "elbv2",
  scope = "regional",
  calls = { "DescribeLoadBalancers", "DescribeTargetGroups", "DescribeTargetHealth", "DescribeTags" },

  types = {
    ["aws.elbv2.application-load-balancer"] = {
      layer = "Networking",
      views = { "all", "infrastructure", "serverless" },
      action = LB_ACTION,
      cloudwatch = {
        namespace = "AWS/ApplicationELB",
        dimensions = { LoadBalancer = "{LoadBalancerFullName}" },
        metrics = {
          RequestCount              = { stat = "Sum", unit = "Count" },
          TargetResponseTime        = { stat = "Average", unit = "Seconds" },
          HTTPCode_ELB_5XX_Count    = { stat = "Sum", unit = "Count" },
          HTTPCode_Target_5XX_Count = { stat = "Sum", unit = "Count" },
          ActiveConnectionCount     = { stat = "Sum", unit = "Count" },
        },
        default = { "RequestCount", "TargetResponseTime", "HTTPCode_ELB_5XX_Count" },
      },
    },
    ["aws.elbv2.network-load-balancer"] = flow_load_balancer("AWS/NetworkELB"),
    ["aws.elbv2.gateway-load-balancer"] = flow_load_balancer("AWS/GatewayELB"),
    ["aws.elbv2.target-group"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Target Group console",
        url = "{console}/ec2/home?region={region}#TargetGroup:targetGroupArn={TargetGroupArn}",
      },
      cloudwatch = {
        namespace = "{CloudWatchNamespace}",   -- per load balancer type: see tg_namespace
        dimensions = { TargetGroup = "{TargetGroupFullName}", LoadBalancer = "{LoadBalancerFullName}" },
        metrics = {
          HealthyHostCount      = { stat = "Minimum", unit = "Count" },
          UnHealthyHostCount    = { stat = "Maximum", unit = "Count" },
          RequestCountPerTarget = { stat = "Sum", unit = "Count" },
          TargetResponseTime    = { stat = "Average", unit = "Seconds" },
        },
        default = { "HealthyHostCount", "UnHealthyHostCount" },
      },
    },
  },
}

M.TAGS_PER_CALL = 20   -- DescribeTags: at most 20 ResourceArns
M.PAGE_SIZE = 400      -- DescribeLoadBalancers / DescribeTargetGroups: PageSize maximum

local LB_TYPES = {
  application = "aws.elbv2.application-load-balancer",
  network = "aws.elbv2.network-load-balancer",
  gateway = "aws.elbv2.gateway-load-balancer",
}

-- "urn:dns:/<dns name>", lowercased, without a trailing dot: route53.lua points alias
-- and CNAME records at load balancers with this identifier.
local function dns_identifier(name)
  if type(name) ~= "string" or name == "" then return nil end
  return "urn:dns:/" .. (name:lower():gsub("%.$", ""))
end

local chunks = require("batch").chunks

-- "app/<name>/<id>" from arn:...:loadbalancer/app/<name>/<id>
local function lb_full_name(lb_arn)
  return type(lb_arn) == "string" and lb_arn:match(":loadbalancer/(.+)$") or nil
end

-- "targetgroup/<name>/<id>" from arn:...:targetgroup/<name>/<id>
local function tg_full_name(tg_arn)
  return type(tg_arn) == "string" and tg_arn:match(":(targetgroup/.+)$") or nil
end

-- The namespace a target group's metrics are in: its load balancer's kind, else
-- what its protocol says (TCP, UDP, TLS: network; GENEVE: gateway).
local TG_NAMESPACE = { app = "AWS/ApplicationELB", net = "AWS/NetworkELB", gwy = "AWS/GatewayELB" }
local PROTOCOL_NAMESPACE = { TCP = "AWS/NetworkELB", UDP = "AWS/NetworkELB", TCP_UDP = "AWS/NetworkELB",
                             TLS = "AWS/NetworkELB", GENEVE = "AWS/GatewayELB" }

local function tg_namespace(tg)
  local kind = tg.LoadBalancerFullName and tg.LoadBalancerFullName:match("^(%a+)/")
  return TG_NAMESPACE[kind] or PROTOCOL_NAMESPACE[tg.Protocol] or "AWS/ApplicationELB"
end

local function is_tg_arn(s) return tg_full_name(s) ~= nil end

-- Tags of the given ARNs: { arn = {Key,Value list} }. A failing call (AccessDenied)
-- costs the tags of that chunk only, with a warning. A resource deleted since it was
-- listed fails its whole chunk (LoadBalancerNotFound / TargetGroupNotFound): the chunk
-- is then asked one ARN at a time, and the gone one is skipped.
local GONE = { LoadBalancerNotFound = true, TargetGroupNotFound = true }

local function tag_chunk(ctx, chunk, result)
  local resp, err = ctx.aws.try("DescribeTags", { ResourceArns = chunk })
  if not resp then
    if GONE[err.code] and #chunk > 1 then
      ctx.each(chunk, function(a) tag_chunk(ctx, { a }, result) end)
    elseif not GONE[err.code] then
      ctx.warn("DescribeTags (%d resources): %s", #chunk, err.code)
    end
    return
  end
  for _, d in ipairs(resp.TagDescriptions or {}) do
    if d.ResourceArn then result[d.ResourceArn] = d.Tags end
  end
end

function M.tags_of(ctx, arns)
  local result = {}
  ctx.each(chunks(arns, M.TAGS_PER_CALL), function(chunk) tag_chunk(ctx, chunk, result) end)
  return result
end

-- Where a target group sends requests, from a DescribeTargetHealth target.
function M.target_id(ctx, tg, target)
  local id = target.Id
  if type(id) ~= "string" then return nil end
  if tg.TargetType == "instance" or (tg.TargetType == nil and id:match("^i%-")) then
    return ctx.arn("ec2", "instance/" .. id)
  elseif tg.TargetType == "ip" then
    return tg.VpcId and ("urn:ip:/" .. tg.VpcId .. "/" .. id) or ("urn:ip:/" .. id)
  end
  return id   -- lambda and alb targets are named by their ARN
end

function M.emit_lb(ctx, lb, tags)
  local type_name = LB_TYPES[lb.Type] or LB_TYPES.application
  lb.LoadBalancerFullName = lb_full_name(lb.LoadBalancerArn)
  local id = ctx.component {
    type = type_name,
    id = lb.LoadBalancerArn,
    name = lb.LoadBalancerName,
    data = lb,
    tags = tags or {},
    identifiers = { dns_identifier(lb.DNSName) },
  }
  if lb.VpcId then ctx.relation(id, "runs-in", ctx.arn("ec2", "vpc/" .. lb.VpcId)) end
  for _, sg in ipairs(lb.SecurityGroups or {}) do
    ctx.relation(id, "uses", ctx.arn("ec2", "security-group/" .. sg))
  end
  return id
end

-- targets: the DescribeTargetHealth descriptions, or nil when unknown (the call failed).
-- skip: target ids whose routes-to relation must not be drawn (being deregistered).
function M.emit_tg(ctx, tg, tags, targets, skip)
  tg.TargetGroupFullName = tg_full_name(tg.TargetGroupArn)
  tg.LoadBalancerFullName = lb_full_name((tg.LoadBalancerArns or {})[1])
  tg.CloudWatchNamespace = tg_namespace(tg)
  local id = ctx.component {
    type = "aws.elbv2.target-group",
    id = tg.TargetGroupArn,
    name = tg.TargetGroupName,
    data = tg,
    tags = tags or {},
  }
  if tg.VpcId then ctx.relation(id, "runs-in", ctx.arn("ec2", "vpc/" .. tg.VpcId)) end
  for _, lb_arn in ipairs(tg.LoadBalancerArns or {}) do
    ctx.relation(lb_arn, "routes-to", id)
  end
  for _, d in ipairs(targets or {}) do
    local target = d.Target or {}
    if not (skip and skip[target.Id]) then
      ctx.relation(id, "routes-to", M.target_id(ctx, tg, target))
    end
  end
  return id
end

function M.targets_of(ctx, tg)
  local resp, err = ctx.aws.try("DescribeTargetHealth", { TargetGroupArn = tg.TargetGroupArn })
  if not resp then
    if not GONE[err.code] then   -- deleted since it was listed: no warning
      ctx.warn("target group %s: DescribeTargetHealth: %s", tg.TargetGroupName or tg.TargetGroupArn, err.code)
    end
    return nil
  end
  return resp.TargetHealthDescriptions
end

function M.scan(ctx)
  local lbs, tgs, arns = {}, {}, {}
  for page in ctx.aws.paginate("DescribeLoadBalancers", { PageSize = M.PAGE_SIZE }) do
    for _, lb in ipairs(page.LoadBalancers or {}) do
      lbs[#lbs + 1] = lb
      arns[#arns + 1] = lb.LoadBalancerArn
    end
  end
  for page in ctx.aws.paginate("DescribeTargetGroups", { PageSize = M.PAGE_SIZE }) do
    for _, tg in ipairs(page.TargetGroups or {}) do
      tgs[#tgs + 1] = tg
      arns[#arns + 1] = tg.TargetGroupArn
    end
  end
  local tags = M.tags_of(ctx, arns)
  local targets = {}
  ctx.each(tgs, function(tg, i) targets[i] = M.targets_of(ctx, tg) or false end)
  for _, lb in ipairs(lbs) do M.emit_lb(ctx, lb, tags[lb.LoadBalancerArn]) end
  for i, tg in ipairs(tgs) do M.emit_tg(ctx, tg, tags[tg.TargetGroupArn], targets[i] or nil) end
end

-- Re-describe one load balancer / target group by ARN (events); gone: nothing.
local NOT_FOUND = GONE

function M.describe_lb(ctx, lb_arn)
  local resp, err = ctx.aws.try("DescribeLoadBalancers", { LoadBalancerArns = { lb_arn } })
  if not resp then
    if NOT_FOUND[err.code] then return end
    error(err, 0)
  end
  for _, lb in ipairs(resp.LoadBalancers or {}) do
    M.emit_lb(ctx, lb, M.tags_of(ctx, { lb.LoadBalancerArn })[lb.LoadBalancerArn])
  end
end

function M.describe_tg(ctx, tg_arn, skip)
  local resp, err = ctx.aws.try("DescribeTargetGroups", { TargetGroupArns = { tg_arn } })
  if not resp then
    if NOT_FOUND[err.code] then return end
    error(err, 0)
  end
  for _, tg in ipairs(resp.TargetGroups or {}) do
    local tags = M.tags_of(ctx, { tg.TargetGroupArn })[tg.TargetGroupArn]
    M.emit_tg(ctx, tg, tags, M.targets_of(ctx, tg), skip)
  end
end

function M.describe(ctx, resource_arn)
  if is_tg_arn(resource_arn) then M.describe_tg(ctx, resource_arn)
  elseif lb_full_name(resource_arn) then M.describe_lb(ctx, resource_arn) end
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource elasticloadbalancing.amazonaws.com)

-- ELBv2 records carry apiVersion 2015-12-01; classic ones (2012-06-01) are elb.lua's.
local function v2(e)
  if e.apiVersion and e.apiVersion ~= "2015-12-01" then return nil end
  return e.requestParameters or {}, e.responseElements or {}
end

local function on_lb(ctx, e)
  local p, r = v2(e)
  if not p then return end
  if p.loadBalancerArn then return M.describe_lb(ctx, p.loadBalancerArn) end
  for _, lb in ipairs(r.loadBalancers or {}) do M.describe_lb(ctx, lb.loadBalancerArn) end
end

local function on_tg(ctx, e)
  local p, r = v2(e)
  if not p then return end
  if p.targetGroupArn then return M.describe_tg(ctx, p.targetGroupArn) end
  for _, tg in ipairs(r.targetGroups or {}) do M.describe_tg(ctx, tg.targetGroupArn) end
end

-- A listener or rule change can add a load balancer -> target group relation: the
-- target groups its actions forward to are re-described.
local function forwarded_tgs(actions, out)
  for _, a in ipairs(actions or {}) do
    if a.targetGroupArn then out[a.targetGroupArn] = true end
    local fwd = a.forwardConfig
    for _, t in ipairs(fwd and fwd.targetGroups or {}) do
      if t.targetGroupArn then out[t.targetGroupArn] = true end
    end
  end
  return out
end

local function on_listener(ctx, e)
  local p, r = v2(e)
  if not p then return end
  local tgs = forwarded_tgs(p.defaultActions or p.actions, {})
  for _, l in ipairs(r.listeners or r.rules or {}) do forwarded_tgs(l.defaultActions or l.actions, tgs) end
  local list = {}
  for tg_arn in pairs(tgs) do list[#list + 1] = tg_arn end
  table.sort(list)
  for _, tg_arn in ipairs(list) do M.describe_tg(ctx, tg_arn) end
end

local function on_tags(ctx, e)
  local p = v2(e)
  if not p then return end
  for _, a in ipairs(p.resourceArns or {}) do M.describe(ctx, a) end
end

M.events = {
  CreateLoadBalancer = on_lb,
  SetSecurityGroups = on_lb,
  SetSubnets = on_lb,
  SetIpAddressType = on_lb,
  CreateTargetGroup = on_tg,
  ModifyTargetGroup = on_tg,
  RegisterTargets = on_tg,
  CreateListener = on_listener,
  ModifyListener = on_listener,
  CreateRule = on_listener,
  ModifyRule = on_listener,
  AddTags = on_tags,
  RemoveTags = on_tags,

  DeregisterTargets = function(ctx, e)
    local p = v2(e)
    if not (p and p.targetGroupArn) then return end
    local resp, err = ctx.aws.try("DescribeTargetGroups", { TargetGroupArns = { p.targetGroupArn } })
    if not resp then
      if NOT_FOUND[err.code] then return end
      error(err, 0)
    end
    local tg = (resp.TargetGroups or {})[1]
    if not tg then return end
    local skip = {}
    for _, t in ipairs(p.targets or {}) do
      if t.id then
        skip[t.id] = true
        ctx.delete_relation(p.targetGroupArn, "routes-to", M.target_id(ctx, tg, { Id = t.id }))
      end
    end
    local tags = M.tags_of(ctx, { tg.TargetGroupArn })[tg.TargetGroupArn]
    M.emit_tg(ctx, tg, tags, M.targets_of(ctx, tg), skip)
  end,

  DeleteLoadBalancer = function(ctx, e)
    local p = v2(e)
    if p and p.loadBalancerArn then ctx.delete(p.loadBalancerArn) end
  end,
  DeleteTargetGroup = function(ctx, e)
    local p = v2(e)
    if p and p.targetGroupArn then ctx.delete(p.targetGroupArn) end
  end,
}

-- the load balancer or target group an event is about (only the newest event
-- per resource of a batch is handled); not the deregistration, which deletes relations
M.event_resource = {
  SetSecurityGroups = "loadBalancerArn", SetSubnets = "loadBalancerArn", SetIpAddressType = "loadBalancerArn",
  DeleteLoadBalancer = "loadBalancerArn",
  ModifyTargetGroup = "targetGroupArn", RegisterTargets = "targetGroupArn", DeleteTargetGroup = "targetGroupArn",
}

return M
