-- mappings/cloudformation.lua -- AWS CloudFormation stacks.
--
-- One component per stack (id = StackId, the stack's ARN as AWS returns it;
-- DELETE_COMPLETE stacks are skipped), and
--   stack has resource  for every resource of the stack (ListStackResources)
-- whose type another mapping emits. The target is the id that mapping gives the
-- resource, built from (ResourceType, PhysicalResourceId) by the rules in
-- RESOURCE_IDS below (the same ARN formats as ec2.lua, vpc.lua, s3.lua, ...).
-- Skipped: resources without a PhysicalResourceId (not created yet, or failed),
-- resources in DELETE_COMPLETE (already gone), and types no mapping emits (counted
-- in one log line per scan).
-- An Auto Scaling group's ARN holds a UUID that its physical id (the group name)
-- does not: the names are resolved with autoscaling:DescribeAutoScalingGroups,
-- 100 names a call, after all stacks are read; a group not found draws nothing.
-- A nested stack (AWS::CloudFormation::Stack) is drawn as stack has stack.
--
-- Calls: DescribeStacks (paginated), ListStackResources per stack (paginated),
-- autoscaling:DescribeAutoScalingGroups per 100 Auto Scaling group names.
-- Events: CreateStack, UpdateStack, ExecuteChangeSet (when it names the stack) read
-- the stack again; DeleteStack deletes its StackId, read with DescribeStacks while
-- the delete is in progress when the event names the stack by name only.

local M = {
  service = "cloudformation",
  scope = "regional",
  calls = { "DescribeStacks", "ListStackResources", "autoscaling:DescribeAutoScalingGroups" },

  types = {
    ["aws.cloudformation.stack"] = {
      layer = "Applications",
      views = { "all" },
      action = {
        name = "Go to CloudFormation console",
        url = "{console}/cloudformation/home?region={region}#/stacks/stackinfo?stackId={StackId|url}",
      },
    },
  },
}

local ASG_BATCH = 100     -- DescribeAutoScalingGroups: 100 names with MaxRecords = 100

local function is_arn(s) return type(s) == "string" and s:match("^arn:") ~= nil end

local function ec2(kind, prefix)
  return function(ctx, p)
    if p:sub(1, #prefix) == prefix then return ctx.arn("ec2", kind .. "/" .. p) end
    return nil   -- e.g. an EC2-Classic security group, named not by id
  end
end

local function regional(service, resource_prefix, lower)
  return function(ctx, p)
    if is_arn(p) then return p end
    return ctx.arn(service, resource_prefix .. (lower and p:lower() or p))
  end
end

local function as_arn(_, p) return is_arn(p) and p or nil end

-- https://sqs.<region>.amazonaws.com/<account>/<name> (or the legacy queue.amazonaws.com)
local function sqs_queue(ctx, p)
  if is_arn(p) then return p end
  local account, name = p:match("^https?://[^/]+/(%d+)/([^/]+)$")
  return name and ctx.arn("sqs", name, { account = account }) or nil
end

local function lambda_function(ctx, p)
  if is_arn(p) then return p:match("^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+)") end
  return ctx.arn("lambda", "function:" .. p)
end

local function ecs_cluster(ctx, p)
  if is_arn(p) then return p end
  return ctx.arn("ecs", "cluster/" .. p)
end

local function global(service, prefix)
  return function(ctx, p)
    if is_arn(p) then return p end
    return ctx.arn(service, prefix .. p, { region = "", account = "" })
  end
end

-- ResourceType -> function(ctx, PhysicalResourceId) -> the component id other mappings emit.
local RESOURCE_IDS = {
  ["AWS::EC2::Instance"] = ec2("instance", "i-"),
  ["AWS::EC2::SecurityGroup"] = ec2("security-group", "sg-"),
  ["AWS::EC2::VPC"] = ec2("vpc", "vpc-"),
  ["AWS::EC2::Subnet"] = ec2("subnet", "subnet-"),
  ["AWS::EC2::VPNGateway"] = ec2("vpn-gateway", "vgw-"),
  ["AWS::S3::Bucket"] = global("s3", ""),
  ["AWS::SQS::Queue"] = sqs_queue,
  ["AWS::SNS::Topic"] = as_arn,
  ["AWS::Lambda::Function"] = lambda_function,
  ["AWS::Lambda::Alias"] = as_arn,                                 -- the alias ARN, as lambda.lua emits it
  ["AWS::DynamoDB::Table"] = regional("dynamodb", "table/"),
  ["AWS::Kinesis::Stream"] = regional("kinesis", "stream/"),
  ["AWS::KinesisFirehose::DeliveryStream"] = regional("firehose", "deliverystream/"),
  ["AWS::RDS::DBInstance"] = regional("rds", "db:", true),         -- RDS identifiers are lowercase
  ["AWS::RDS::DBCluster"] = regional("rds", "cluster:", true),
  ["AWS::Redshift::Cluster"] = regional("redshift", "cluster:", true),
  ["AWS::ElasticLoadBalancing::LoadBalancer"] = regional("elasticloadbalancing", "loadbalancer/"),
  ["AWS::ElasticLoadBalancingV2::LoadBalancer"] = as_arn,
  ["AWS::ElasticLoadBalancingV2::TargetGroup"] = as_arn,
  ["AWS::ECS::Cluster"] = ecs_cluster,                               -- Ref gives the name
  ["AWS::ECS::Service"] = as_arn,                                    -- Ref gives the ARN
  ["AWS::ApiGateway::RestApi"] = function(ctx, p) return ctx.arn("apigateway", "/restapis/" .. p, { account = "" }) end,
  ["AWS::Route53::HostedZone"] = global("route53", "hostedzone/"),
  ["AWS::CloudFormation::Stack"] = as_arn,                           -- nested stack: its StackId
}

local ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"

---------------------------------------------------------------------------
-- one run's bookkeeping: unmapped types, Auto Scaling groups to resolve

local function new_state()
  return { unmapped = {}, no_physical = 0, groups = {}, group_names = {} }
end

local function count(t, key) t[key] = (t[key] or 0) + 1 end

local function log_skipped(ctx, state)
  local types, total = {}, 0
  for t, n in pairs(state.unmapped) do
    types[#types + 1] = ("%s (%d)"):format(t, n)
    total = total + n
  end
  table.sort(types)
  if total > 0 then
    ctx.log("stack resources of types no mapping emits, skipped: %d: %s", total, table.concat(types, ", "))
  end
  if state.no_physical > 0 then
    ctx.log("stack resources without a physical id, skipped: %d", state.no_physical)
  end
end

---------------------------------------------------------------------------
-- stacks and their resources

local function relate_resource(ctx, state, stack_id, r)
  local physical = r.PhysicalResourceId
  if type(physical) ~= "string" or physical == "" then
    state.no_physical = state.no_physical + 1
    return
  end
  if r.ResourceStatus == "DELETE_COMPLETE" then return end
  if r.ResourceType == ASG_TYPE then
    local stacks = state.groups[physical]
    if not stacks then
      stacks = {}
      state.groups[physical] = stacks
      state.group_names[#state.group_names + 1] = physical
    end
    stacks[#stacks + 1] = stack_id
    return
  end
  local rule = RESOURCE_IDS[r.ResourceType]
  if not rule then
    count(state.unmapped, tostring(r.ResourceType))
    return
  end
  ctx.relation(stack_id, "has", rule(ctx, physical))
end

function M.describe_stack(ctx, state, stack)
  local id = ctx.component {
    type = "aws.cloudformation.stack",
    id = stack.StackId,
    name = stack.StackName,
    data = stack,
  }
  local err = ctx.aws.try_pages("ListStackResources", { StackName = stack.StackId }, function(page)
    for _, r in ipairs(page.StackResourceSummaries or {}) do relate_resource(ctx, state, id, r) end
  end)
  if err then ctx.warn("stack %s: ListStackResources: %s", stack.StackName, err.code) end
end

-- Auto Scaling group names -> their ARNs, then stack has group.
local function relate_groups(ctx, state)
  local names = state.group_names
  local batches = {}
  for i = 1, #names, ASG_BATCH do
    batches[#batches + 1] = table.move(names, i, math.min(i + ASG_BATCH - 1, #names), 1, {})
  end
  ctx.each(batches, function(batch)
    local params = { AutoScalingGroupNames = batch, MaxRecords = ASG_BATCH, IncludeInstances = false }
    local err = ctx.aws.try_pages("autoscaling:DescribeAutoScalingGroups", params, function(page)
      for _, g in ipairs(page.AutoScalingGroups or {}) do
        for _, stack_id in ipairs(state.groups[g.AutoScalingGroupName] or {}) do
          ctx.relation(stack_id, "has", g.AutoScalingGroupARN)
        end
      end
    end)
    if err then
      ctx.warn("Auto Scaling groups %s: DescribeAutoScalingGroups: %s", table.concat(batch, ","), err.code)
    end
  end)
end

local function describe_stacks(ctx, stacks)
  local state = new_state()
  ctx.each(stacks, function(stack)
    if stack.StackStatus ~= "DELETE_COMPLETE" then M.describe_stack(ctx, state, stack) end
  end)
  relate_groups(ctx, state)
  log_skipped(ctx, state)
end

function M.scan(ctx)
  local stacks = {}
  for page in ctx.aws.paginate("DescribeStacks") do
    for _, stack in ipairs(page.Stacks or {}) do stacks[#stacks + 1] = stack end
  end
  describe_stacks(ctx, stacks)
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource cloudformation.amazonaws.com)

-- The stack named (or ARN'd) `ref`, or nil when it does not exist (any more).
local function find_stack(ctx, ref)
  if type(ref) ~= "string" or ref == "" then return nil end
  local resp, err = ctx.aws.try("DescribeStacks", { StackName = ref })
  if resp then return (resp.Stacks or {})[1] end
  if err.code == "ValidationError" then return nil end   -- "Stack with id X does not exist"
  error(err, 0)
end

local function on_stack(ctx, e)
  local q, r = e.requestParameters or {}, e.responseElements or {}
  local ref = r.stackId or q.stackName
  if not ref then
    ctx.log("%s names no stack (a change set ARN only); the next scan picks the change up", e.eventName)
    return
  end
  local stack = find_stack(ctx, ref)
  if stack then describe_stacks(ctx, { stack }) end
end

M.events = {
  CreateStack = on_stack,
  UpdateStack = on_stack,
  ExecuteChangeSet = on_stack,    -- stackName is there when the change set is named, not ARN'd
  DeleteStack = function(ctx, e)
    local ref = (e.requestParameters or {}).stackName
    if is_arn(ref) then return ctx.delete(ref) end
    -- A name: the StackId (with its UUID) is readable while the delete is in progress.
    local stack = find_stack(ctx, ref)
    if stack then
      ctx.delete(stack.StackId)
    else
      ctx.warn("stack %s: deleted before it could be read; the next scan removes it", tostring(ref))
    end
  end,
}

-- the stack an event is about (only the newest event per stack of a batch is
-- handled); not the delete: a stack of the same name made later is another stack
M.event_resource = { CreateStack = "stackName", UpdateStack = "stackName" }

return M
