-- mappings/dynamodb.lua -- Amazon DynamoDB tables and their streams.
--
-- One component per table (DescribeTable, tags from the Resource Groups
-- Tagging API) and one per enabled stream (id = the table's LatestStreamArn,
-- the ARN Lambda event source mappings name). Relation: table has stream.
-- Lambda functions reading a stream are drawn by lambda.lua (function uses
-- stream).
--
-- A stream has no tags of its own; it takes its table's stackstate-environment.
--
-- Calls: 1 ListTables per 100 tables + 1 GetResources per 100 tagged tables
-- (lib/tagging.lua; none in a region without tables) + 1 DescribeTable per
-- table. When GetResources fails (denied), one warning and ListTagsOfResource
-- per table instead (a page per NextToken); events (one table) use it too.

local arn = require("arn")
local tagslib = require("tags")
local tagging = require("tagging")

local GONE = { gone = "ResourceNotFoundException" }   -- deleted since it was listed

local M = {
  service = "dynamodb",
  scope = "regional",
  calls = { "ListTables", "DescribeTable", "ListTagsOfResource", "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.dynamodb.table"] = {
      layer = "Databases",
      views = { "all" },
      action = {
        name = "Go to DynamoDB console",
        url = "{console}/dynamodbv2/home?region={region}#table?name={name|url}",
      },
      cloudwatch = {
        namespace = "AWS/DynamoDB",
        dimensions = { TableName = "{name}" },
        metrics = {
          ConsumedReadCapacityUnits  = { stat = "Sum", unit = "Count" },
          ConsumedWriteCapacityUnits = { stat = "Sum", unit = "Count" },
          ReadThrottleEvents         = { stat = "Sum", unit = "Count" },
          WriteThrottleEvents        = { stat = "Sum", unit = "Count" },
        },
        default = { "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits" },
      },
    },
    ["aws.dynamodb.stream"] = {
      layer = "Messaging",
      views = { "all" },
      action = {
        name = "Go to DynamoDB console",
        url = "{console}/dynamodbv2/home?region={region}#table?name={TableName|url}&tab=exports-streams",
      },
      cloudwatch = {
        namespace = "AWS/DynamoDB",
        dimensions = { TableName = "{TableName}", StreamLabel = "{StreamLabel}", Operation = "GetRecords" },
        metrics = {
          ReturnedRecordsCount     = { stat = "Sum", unit = "Count" },
          ReturnedBytes            = { stat = "Sum", unit = "Bytes" },
          SuccessfulRequestLatency = { stat = "Average", unit = "Milliseconds" },
        },
        default = { "ReturnedRecordsCount" },
      },
    },
  },
}

local function table_arn(ctx, name)
  return ctx.arn("dynamodb", "table/" .. name)
end

-- All the tags of a table (ListTagsOfResource pages); nil after a warning.
local function table_tags(ctx, name, id)
  local all = {}
  local err = ctx.aws.try_pages("ListTagsOfResource", { ResourceArn = id }, function(page)
    for _, t in ipairs(page.Tags or {}) do all[#all + 1] = t end
  end)
  if not err then return all end
  ctx.warn("table %s: ListTagsOfResource: %s", name, err.code)
  return nil
end

local function stream_enabled(t)
  return type(t.StreamSpecification) == "table" and t.StreamSpecification.StreamEnabled == true
     and type(t.LatestStreamArn) == "string"
end

local function emit_stream(ctx, t, environment)
  local id = ctx.component {
    type = "aws.dynamodb.stream",
    id = t.LatestStreamArn,
    name = t.TableName .. "/stream/" .. (t.LatestStreamLabel or ""),
    data = {
      StreamArn = t.LatestStreamArn,
      StreamLabel = t.LatestStreamLabel,
      StreamViewType = t.StreamSpecification.StreamViewType,
      TableName = t.TableName,
      TableArn = t.TableArn,
    },
    tags = {},
    environment = environment,
  }
  ctx.relation(t.TableArn, "has", id)
end

-- Emits one table and its stream. `index`: the run's tags by table ARN
-- (lib/tagging.lua), or nil / false to ask ListTagsOfResource. With
-- `deleting_stale`, a stream the table no longer has enabled is deleted
-- (events; a scan's snapshot does that).
function M.describe_table(ctx, name, index, deleting_stale)
  local result, err = ctx.aws.try("DescribeTable", { TableName = name }, GONE)
  if not (result or err) then return end   -- gone
  if err then ctx.warn("table %s: DescribeTable: %s", name, err.code) end
  local t = result and result.Table or { TableName = name }
  name = t.TableName
  t.TableArn = t.TableArn or table_arn(ctx, name)
  local tags = tagging.of(index, t.TableArn, function() return table_tags(ctx, name, t.TableArn) end)

  ctx.component {
    type = "aws.dynamodb.table",
    id = t.TableArn,
    name = name,
    data = t,
    tags = tags or {},
  }
  if stream_enabled(t) then
    emit_stream(ctx, t, tagslib.stackstate(tagslib.to_map(tags)).environment)
  elseif deleting_stale and type(t.LatestStreamArn) == "string" then
    ctx.delete(t.LatestStreamArn)
  end
end

function M.scan(ctx)
  local index
  for page in ctx.aws.paginate("ListTables") do
    if index == nil and next(page.TableNames or {}) then index = tagging.index(ctx, { "dynamodb:table" }) end
    ctx.each(page.TableNames, function(name) M.describe_table(ctx, name, index) end)
  end
end

---------------------------------------------------------------------------
-- events

-- the request parameters of a CloudTrail record (absent in some records)
local function req(e) return e.requestParameters or {} end

-- A table's name from its name or its ARN (requests may give either).
local function name_of(s)
  if type(s) ~= "string" then return nil end
  local a = arn.parse(s)
  if not a then return s end
  return a.service == "dynamodb" and a.resource:match("^table/([^/]+)$") or nil
end

local function refresh(ctx, e)
  local name = name_of(req(e).tableName)
  if name then M.describe_table(ctx, name, nil, true) end
end

-- TagResource / UntagResource name the table by ARN
local function refresh_arn(ctx, e)
  local name = name_of(req(e).resourceArn)
  if name then M.describe_table(ctx, name, nil, true) end
end

M.events = {
  CreateTable = refresh,
  UpdateTable = refresh,
  TagResource = refresh_arn,
  UntagResource = refresh_arn,
  DeleteTable = function(ctx, e)
    local name = name_of(req(e).tableName)
    if not name then return end
    ctx.delete(table_arn(ctx, name))
    local described = (e.responseElements or {}).tableDescription or {}
    if described.latestStreamArn then ctx.delete(described.latestStreamArn) end
  end,
}

-- the table an event is about (only the newest event per table of a batch is handled)
M.event_resource = { CreateTable = "tableName", UpdateTable = "tableName", DeleteTable = "tableName" }

return M
