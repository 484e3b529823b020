-- mappings/lambda.lua -- AWS Lambda functions and their aliases.
--
-- One component per function ($LATEST, unqualified ARN) with its tags, and one
-- per alias (id = the alias ARN "<function arn>:<alias>"). Relations:
--   function runs-in each subnet of its VpcConfig (or the VPC when no subnet
--     is known), function uses each security group of its VpcConfig: the
--     network placement, as for EC2 instances;
--   function uses its dead-letter queue / topic (DeadLetterConfig.TargetArn);
--   function has alias: the alias only exists with its function;
--   event source mappings (listed once per region): SQS queue triggers
--     function; function uses the Kinesis stream or DynamoDB stream it reads
--     (a Kinesis enhanced fan-out consumer ARN counts as its stream).
--
-- Every relation that ends at a Lambda (here, and in s3.lua and sns.lua) ends
-- at the unqualified function ARN: a "fn:prod" or "fn:3" qualifier is
-- stripped, so a broken function shows on every path that reaches it. The
-- alias components hang off their function (function has alias).
--
-- Environment variable values are not copied into the component: they often
-- hold secrets. Their names stay (Environment.VariableNames).
--
-- Calls: 1 ListFunctions per 50 functions + 1 GetResources per 100 tagged
-- functions (lib/tagging.lua; none in a region without functions) + per
-- function 1 ListAliases per 50 aliases; 1 ListEventSourceMappings per 100
-- mappings per region. When GetResources fails (denied), one warning and 1
-- ListTags per function instead. Events: GetFunction + ListTags + ListAliases
-- for the function named, GetEventSourceMapping for a mapping.

local arn = require("arn")
local tagslib = require("tags")
local tagging = require("tagging")

-- what a Get* answers for a function or mapping deleted meanwhile
local GONE = { gone = "ResourceNotFoundException" }

local M = {
  service = "lambda",
  scope = "regional",
  calls = { "ListFunctions", "GetFunction", "ListTags", "ListAliases",
            "ListEventSourceMappings", "GetEventSourceMapping", "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.lambda.function"] = {
      layer = "Serverless",
      views = { "all", "serverless" },
      action = {
        name = "Go to Lambda console",
        url = "{console}/lambda/home?region={region}#/functions/{name|url}",
      },
      cloudwatch = {
        namespace = "AWS/Lambda",
        dimensions = { FunctionName = "{name}" },
        metrics = {
          Invocations          = { stat = "Sum", unit = "Count" },
          Errors               = { stat = "Sum", unit = "Count" },
          Duration             = { stat = "Average", unit = "Milliseconds" },
          Throttles            = { stat = "Sum", unit = "Count" },
          ConcurrentExecutions = { stat = "Maximum", unit = "Count" },
        },
        default = { "Invocations", "Errors", "Duration", "Throttles" },
      },
    },
    ["aws.lambda.alias"] = {
      layer = "Serverless",
      views = { "all", "serverless" },
      action = {
        name = "Go to Lambda console",
        url = "{console}/lambda/home?region={region}#/functions/{FunctionName|url}/aliases/{Name|url}",
      },
      cloudwatch = {
        namespace = "AWS/Lambda",
        dimensions = { FunctionName = "{FunctionName}", Resource = "{FunctionName}:{Name}" },
        metrics = {
          Invocations = { stat = "Sum", unit = "Count" },
          Errors      = { stat = "Sum", unit = "Count" },
          Duration    = { stat = "Average", unit = "Milliseconds" },
          Throttles   = { stat = "Sum", unit = "Count" },
        },
        default = { "Invocations", "Errors" },
      },
    },
  },
}

-- "arn:...:function:name[:qualifier]" -> "arn:...:function:name"; nil when
-- s is not a Lambda function ARN.
local function_arn = require("arn").lambda_function
M.function_arn = function_arn

-- The function name from a name, an ARN or a partial ARN ("123:function:fn"),
-- qualified or not.
local function function_name(s)
  if type(s) ~= "string" or s == "" then return nil end
  return s:match("^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)")
      or s:match("^%d+:function:([^:]+)")
      or s:match("^([^:]+)")
end

-- The qualifier of a qualified function reference, if any.
local function qualifier_of(s)
  if type(s) ~= "string" then return nil end
  return s:match("^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+:([^:]+)$")
      or s:match("^%d+:function:[^:]+:([^:]+)$")
      or s:match("^[^:]+:([^:]+)$")
end

local function nonempty(list)
  return type(list) == "table" and next(list) ~= nil
end

local function str(v)
  return type(v) == "string" and v ~= "" and v or nil
end

-- Environment variable names only: their values are often secrets.
local function redact_environment(cfg)
  local env = cfg.Environment
  if type(env) ~= "table" or type(env.Variables) ~= "table" then return end
  local names = json.array()
  for k in pairs(env.Variables) do names[#names + 1] = k end
  table.sort(names)
  env.Variables = nil
  env.VariableNames = names
end

local function draw_network(ctx, id, vpc)
  if type(vpc) ~= "table" then return end
  if nonempty(vpc.SubnetIds) then
    for _, subnet in ipairs(vpc.SubnetIds) do ctx.relation(id, "runs-in", ctx.arn("ec2", "subnet/" .. subnet)) end
  elseif str(vpc.VpcId) then
    ctx.relation(id, "runs-in", ctx.arn("ec2", "vpc/" .. vpc.VpcId))
  end
  for _, sg in ipairs(vpc.SecurityGroupIds or {}) do
    ctx.relation(id, "uses", ctx.arn("ec2", "security-group/" .. sg))
  end
end

local function emit_alias(ctx, fn, alias, environment)
  alias.FunctionName = fn.FunctionName
  alias.FunctionArn = fn.FunctionArn
  local id = ctx.component {
    type = "aws.lambda.alias",
    id = alias.AliasArn or (fn.FunctionArn .. ":" .. alias.Name),
    name = fn.FunctionName .. ":" .. alias.Name,
    data = alias,
    tags = {},                    -- aliases carry no tags; the environment follows the function
    environment = environment,
  }
  ctx.relation(fn.FunctionArn, "has", id)
end

-- The tags of one function, by itself (events; scans when GetResources failed).
local function function_tags(ctx, cfg)
  local tags, err = ctx.aws.try("ListTags", { Resource = cfg.FunctionArn })
  if not tags then ctx.warn("function %s: ListTags: %s", cfg.FunctionName, err.code) end
  return tags and tags.Tags
end

-- Emits a function (a FunctionConfiguration as ListFunctions returns it),
-- its aliases and its own relations. `index`: the run's tags by unqualified
-- function ARN (lib/tagging.lua), or nil / false to ask ListTags.
function M.describe_function(ctx, cfg, index)
  local id = cfg.FunctionArn
  local tagmap = tagslib.to_map(tagging.of(index, function_arn(id) or id,
                                           function() return function_tags(ctx, cfg) end))

  redact_environment(cfg)
  ctx.component {
    type = "aws.lambda.function",
    id = id,
    name = cfg.FunctionName,
    data = cfg,
    tags = tagmap,
  }
  draw_network(ctx, id, cfg.VpcConfig)
  local dlq = cfg.DeadLetterConfig and cfg.DeadLetterConfig.TargetArn
  if arn.parse(dlq) then ctx.relation(id, "uses", dlq) end

  local environment = tagslib.stackstate(tagmap).environment
  local err = ctx.aws.try_pages("ListAliases", { FunctionName = cfg.FunctionName }, function(page)
    for _, alias in ipairs(page.Aliases or {}) do emit_alias(ctx, cfg, alias, environment) end
  end)
  if err then ctx.warn("function %s: ListAliases: %s", cfg.FunctionName, err.code) end
end

-- An event source mapping as a relation: (source, type, target), or nil for
-- sources that are not components (Kafka, MQ, DocumentDB).
function M.event_source_relation(m)
  local fn = function_arn(m.FunctionArn)
  local src = arn.parse(m.EventSourceArn)
  if not fn or not src then return nil end
  if src.service == "sqs" then
    return m.EventSourceArn, "triggers", fn
  elseif src.service == "kinesis" then
    -- ".../stream/<name>/consumer/<consumer>:<ts>" reads ".../stream/<name>"
    return fn, "uses", m.EventSourceArn:match("^(.-:stream/[^/]+)") or m.EventSourceArn
  elseif src.service == "dynamodb" and src.resource:match("^table/[^/]+/stream/") then
    return fn, "uses", m.EventSourceArn
  end
  return nil
end

local function draw_event_source(ctx, m)
  local source, rel, target = M.event_source_relation(m)
  if source then ctx.relation(source, rel, target, { UUID = m.UUID, State = m.State }) end
end

function M.scan(ctx)
  local index
  for page in ctx.aws.paginate("ListFunctions") do
    if index == nil and next(page.Functions or {}) then
      -- GetResources names functions by their unqualified ARN, as this mapping does
      index = tagging.index(ctx, { "lambda:function" }, { key = function_arn })
    end
    ctx.each(page.Functions, function(cfg) M.describe_function(ctx, cfg, index) end)
  end
  local err = ctx.aws.try_pages("ListEventSourceMappings", {}, function(page)
    for _, m in ipairs(page.EventSourceMappings or {}) do draw_event_source(ctx, m) end
  end)
  if err then ctx.warn("ListEventSourceMappings: %s", err.code) end
end

---------------------------------------------------------------------------
-- events (CloudTrail names Lambda's events with the API version appended)

local function describe_by_name(ctx, ref)
  local name = function_name(ref)
  if not name then return end
  local result = ctx.aws.call("GetFunction", { FunctionName = name }, GONE)
  if result then M.describe_function(ctx, result.Configuration) end
end

local function arn_of(ctx, ref)
  return function_arn(ref) or ctx.arn("lambda", "function:" .. function_name(ref))
end

local function uuid_of(e)
  local r, q = e.responseElements or {}, e.requestParameters or {}
  return r.uUID or r.uuid or r.UUID or q.uUID or q.uuid or q.UUID
end

local function on_function(ctx, e)
  local r, q = e.responseElements or {}, e.requestParameters or {}
  describe_by_name(ctx, r.functionArn or q.functionName or q.resource)
end

local function on_tags(ctx, e)
  local resource = (e.requestParameters or {}).resource
  if function_arn(resource) then describe_by_name(ctx, resource) end
end

local function on_delete_function(ctx, e)
  local q = e.requestParameters or {}
  -- deleting one version (a qualifier) keeps the function
  if not q.functionName or q.qualifier or qualifier_of(q.functionName) then return end
  ctx.delete(arn_of(ctx, q.functionName))
end

local function on_delete_alias(ctx, e)
  local q = e.requestParameters or {}
  if not (q.functionName and q.name) then return end
  ctx.delete(arn_of(ctx, q.functionName) .. ":" .. q.name)
end

local function on_event_source(ctx, e)
  local uuid = uuid_of(e)
  if not uuid then return end
  local m = ctx.aws.call("GetEventSourceMapping", { UUID = uuid }, GONE)
  if m then draw_event_source(ctx, m) end
end

local function on_delete_event_source(ctx, e)
  local r = e.responseElements or {}
  local source, rel, target = M.event_source_relation { FunctionArn = r.functionArn, EventSourceArn = r.eventSourceArn }
  if source then ctx.delete_relation(source, rel, target) end
end

M.events = {}
local handlers = {
  { on_function, "CreateFunction", "UpdateFunctionConfiguration", "UpdateFunctionCode",
                 "CreateAlias", "UpdateAlias" },
  { on_tags, "TagResource", "UntagResource" },
  { on_delete_function, "DeleteFunction" },
  { on_delete_alias, "DeleteAlias" },
  { on_event_source, "CreateEventSourceMapping", "UpdateEventSourceMapping" },
  { on_delete_event_source, "DeleteEventSourceMapping" },
}
-- the plain name and every API-version suffix CloudTrail uses for it
local SUFFIXES = { "", "20150331", "20150331v2", "20170331", "20170331v2" }
for _, h in ipairs(handlers) do
  for i = 2, #h do
    for _, suffix in ipairs(SUFFIXES) do M.events[h[i] .. suffix] = h[1] end
  end
end

-- the function an event is about (only the newest event per function of a
-- batch is handled): its own changes, and its deletion (not of a version)
function M.event_resource(e)
  local q = e.requestParameters or {}
  local name = (e.eventName or ""):gsub("%d%d%d%d%d%d%d%dv?%d*$", "")   -- the API-version suffix
  if name == "DeleteFunction" and (q.qualifier or qualifier_of(q.functionName or "")) then return nil end
  if name == "DeleteFunction" or name == "UpdateFunctionConfiguration" or name == "UpdateFunctionCode"
     or name == "CreateFunction" then
    return q.functionName
  end
  return nil
end

return M
