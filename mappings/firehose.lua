-- mappings/firehose.lua -- Amazon Data Firehose (Kinesis Data Firehose) delivery streams.
--
-- One component per delivery stream (DescribeDeliveryStream, tags from the
-- Resource Groups Tagging API). Relations, following the data:
--   Kinesis stream delivers-to delivery stream, when the delivery stream reads
--     a Kinesis stream (Source.KinesisStreamSourceDescription.KinesisStreamARN);
--   delivery stream delivers-to each S3 bucket it writes: the S3 / extended S3
--     destination's bucket, and the bucket any other destination (Redshift,
--     OpenSearch, Splunk, HTTP, ...) stages or backs up records in
--     (its S3DestinationDescription / S3BackupDescription).
--
-- Neither ListDeliveryStreams nor ListTagsForDeliveryStream has a paginator
-- in the model: both say HasMore... and continue after the last name / key
-- (ExclusiveStartDeliveryStreamName / ExclusiveStartTagKey), paged here.
--
-- Calls: 1 ListDeliveryStreams per 10000 delivery streams + 1 GetResources
-- per 100 tagged delivery streams (lib/tagging.lua; none in a region without
-- delivery streams) + 1 DescribeDeliveryStream per delivery stream. When
-- GetResources fails (denied), one warning and 1 ListTagsForDeliveryStream per
-- 50 tags of each delivery stream instead; events (one delivery stream) use
-- ListTagsForDeliveryStream.

local tagging = require("tagging")

local M = {
  service = "firehose",
  scope = "regional",
  calls = { "ListDeliveryStreams", "DescribeDeliveryStream", "ListTagsForDeliveryStream",
            "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.firehose.delivery-stream"] = {
      layer = "Messaging",
      views = { "all" },
      action = {
        name = "Go to Firehose console",
        url = "{console}/firehose/home?region={region}#/details/{name|url}/monitoring",
      },
      cloudwatch = {
        namespace = "AWS/Firehose",
        dimensions = { DeliveryStreamName = "{name}" },
        metrics = {
          IncomingRecords            = { stat = "Sum", unit = "Count" },
          IncomingBytes              = { stat = "Sum", unit = "Bytes" },
          ["DeliveryToS3.Success"]       = { stat = "Average", unit = "None" },
          ["DeliveryToS3.DataFreshness"] = { stat = "Maximum", unit = "Seconds" },
          ThrottledRecords           = { stat = "Sum", unit = "Count" },
        },
        default = { "IncomingRecords", "DeliveryToS3.DataFreshness" },
      },
    },
  },
}

local STREAMS_PER_PAGE = 10000   -- ListDeliveryStreams' maximum Limit
local TAGS_PER_PAGE = 50         -- ListTagsForDeliveryStream's maximum Limit
local GONE = { gone = "ResourceNotFoundException" }   -- deleted since it was listed

local function delivery_stream_arn(ctx, name)
  return ctx.arn("firehose", "deliverystream/" .. name)
end

-- All the tags of a delivery stream; nil after a warning.
local function stream_tags(ctx, name)
  local all, params = {}, { DeliveryStreamName = name, Limit = TAGS_PER_PAGE }
  while true do
    local page, err = ctx.aws.try("ListTagsForDeliveryStream", params)
    if not page then
      ctx.warn("delivery stream %s: ListTagsForDeliveryStream: %s", name, err.code)
      return nil
    end
    for _, t in ipairs(page.Tags or {}) do all[#all + 1] = t end
    local last = page.Tags and page.Tags[#page.Tags]
    if not page.HasMoreTags or not last or last.Key == params.ExclusiveStartTagKey then return all end
    params = { DeliveryStreamName = name, Limit = TAGS_PER_PAGE, ExclusiveStartTagKey = last.Key }
  end
end

-- The ARNs of the buckets a destination writes to, in a stable order.
local function destination_buckets(dest)
  local found, seen = {}, {}
  local function add(desc)
    local bucket = type(desc) == "table" and desc.BucketARN
    if type(bucket) == "string" and not seen[bucket] then
      seen[bucket] = true
      found[#found + 1] = bucket
    end
  end
  local kinds = {}
  for kind, desc in pairs(dest) do
    if type(desc) == "table" then kinds[#kinds + 1] = kind end
  end
  table.sort(kinds)
  for _, kind in ipairs(kinds) do
    local desc = dest[kind]
    add(desc)                           -- S3 / extended S3: the bucket itself
    add(desc.S3DestinationDescription)  -- staging / backup bucket of other destinations
    add(desc.S3BackupDescription)
  end
  return found
end

local function draw_relations(ctx, id, d)
  local source = d.Source and d.Source.KinesisStreamSourceDescription
  if source and source.KinesisStreamARN then ctx.relation(source.KinesisStreamARN, "delivers-to", id) end
  for _, dest in ipairs(d.Destinations or {}) do
    for _, bucket in ipairs(destination_buckets(dest)) do ctx.relation(id, "delivers-to", bucket) end
  end
end

-- Emits one delivery stream and its relations. `index`: the run's tags by
-- delivery stream ARN (lib/tagging.lua), or nil / false to ask
-- ListTagsForDeliveryStream.
function M.describe_delivery_stream(ctx, name, index)
  local result, err = ctx.aws.try("DescribeDeliveryStream", { DeliveryStreamName = name }, GONE)
  if not (result or err) then return end   -- gone
  if err then ctx.warn("delivery stream %s: DescribeDeliveryStream: %s", name, err.code) end
  local d = result and result.DeliveryStreamDescription or { DeliveryStreamName = name }
  local id = d.DeliveryStreamARN or delivery_stream_arn(ctx, name)
  ctx.component {
    type = "aws.firehose.delivery-stream",
    id = id,
    name = name,
    data = d,
    tags = tagging.of(index, id, function() return stream_tags(ctx, name) end) or {},
  }
  draw_relations(ctx, id, d)
end

function M.scan(ctx)
  local params, seen, index = { Limit = STREAMS_PER_PAGE }, {}, nil
  while true do
    local page = ctx.aws.call("ListDeliveryStreams", params)
    local names = page.DeliveryStreamNames or {}
    if index == nil and #names > 0 then index = tagging.index(ctx, { "firehose:deliverystream" }) end
    ctx.each(names, function(name) M.describe_delivery_stream(ctx, name, index) end)
    local after = names[#names]
    if not page.HasMoreDeliveryStreams or not after then return end
    if seen[after] then
      error("ListDeliveryStreams: the service repeated a page (after " .. after .. "); stopped", 0)
    end
    seen[after] = true
    params = { Limit = STREAMS_PER_PAGE, ExclusiveStartDeliveryStreamName = after }
  end
end

---------------------------------------------------------------------------
-- events

-- the request parameters of a CloudTrail record (absent in some records)
local function req(e) return e.requestParameters or {} end

local function refresh(ctx, e)
  local name = req(e).deliveryStreamName
  if name then M.describe_delivery_stream(ctx, name) end
end

M.events = {
  CreateDeliveryStream = refresh,
  UpdateDestination = refresh,
  TagDeliveryStream = refresh,
  UntagDeliveryStream = refresh,
  StartDeliveryStreamEncryption = refresh,
  StopDeliveryStreamEncryption = refresh,
  DeleteDeliveryStream = function(ctx, e)
    local name = req(e).deliveryStreamName
    if name then ctx.delete(delivery_stream_arn(ctx, name)) end
  end,
}

-- the delivery stream an event is about (only the newest event per stream of a batch is handled)
M.event_resource = {}
for name in pairs(M.events) do M.event_resource[name] = "deliveryStreamName" end

return M
