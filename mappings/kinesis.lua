-- mappings/kinesis.lua -- Amazon Kinesis data streams.
--
-- One component per stream (DescribeStreamSummary, tags from the Resource
-- Groups Tagging API). This mapping draws no relation itself: the services
-- around a stream see both ends (lambda.lua: function uses stream;
-- firehose.lua: stream delivers-to delivery stream).
--
-- ListStreams pages with NextToken; endpoints that predate it (and return
-- StreamNames without StreamSummaries or NextToken) page by name with
-- ExclusiveStartStreamName.
--
-- Calls: 1 ListStreams per 100 streams + 1 GetResources per 100 tagged
-- streams (lib/tagging.lua; none in a region without streams) + 1
-- DescribeStreamSummary per stream. When GetResources fails (denied), one
-- warning and 1 ListTagsForStream per 50 tags of each stream instead; events
-- (one stream) use ListTagsForStream.

local arn = require("arn")
local tagging = require("tagging")

local M = {
  service = "kinesis",
  scope = "regional",
  calls = { "ListStreams", "DescribeStreamSummary", "ListTagsForStream", "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.kinesis.stream"] = {
      layer = "Messaging",
      views = { "all" },
      action = {
        name = "Go to Kinesis console",
        url = "{console}/kinesis/home?region={region}#/streams/details/{name|url}/monitoring",
      },
      cloudwatch = {
        namespace = "AWS/Kinesis",
        dimensions = { StreamName = "{name}" },
        metrics = {
          IncomingRecords                    = { stat = "Sum", unit = "Count" },
          IncomingBytes                      = { stat = "Sum", unit = "Bytes" },
          ["GetRecords.IteratorAgeMilliseconds"] = { stat = "Maximum", unit = "Milliseconds" },
          WriteProvisionedThroughputExceeded = { stat = "Sum", unit = "Count" },
          ReadProvisionedThroughputExceeded  = { stat = "Sum", unit = "Count" },
        },
        default = { "IncomingRecords", "GetRecords.IteratorAgeMilliseconds" },
      },
    },
  },
}

local TAGS_PER_PAGE = 50   -- ListTagsForStream's maximum Limit
local GONE = { gone = "ResourceNotFoundException" }   -- deleted since it was listed

-- All the tags of a stream (ListTagsForStream says HasMoreTags and continues
-- after ExclusiveStartTagKey; it has no paginator). nil after a warning.
local function stream_tags(ctx, name)
  local all, params = {}, { StreamName = name, Limit = TAGS_PER_PAGE }
  while true do
    local page, err = ctx.aws.try("ListTagsForStream", params)
    if not page then
      ctx.warn("stream %s: ListTagsForStream: %s", name, err.code)
      return nil
    end
    for _, t in ipairs(page.Tags or {}) do all[#all + 1] = t end
    local last = page.Tags and page.Tags[#page.Tags]
    if not page.HasMoreTags or not last or last.Key == params.ExclusiveStartTagKey then return all end
    params = { StreamName = name, Limit = TAGS_PER_PAGE, ExclusiveStartTagKey = last.Key }
  end
end

-- Emits one stream; `summary` is its ListStreams StreamSummaries entry, if
-- any; `index` the run's tags by stream ARN (lib/tagging.lua), or nil / false
-- to ask ListTagsForStream.
function M.describe_stream(ctx, name, summary, index)
  local result, err = ctx.aws.try("DescribeStreamSummary", { StreamName = name }, GONE)
  if not (result or err) then return end   -- gone
  if err then ctx.warn("stream %s: DescribeStreamSummary: %s", name, err.code) end
  local s = result and result.StreamDescriptionSummary or summary or { StreamName = name }
  local id = s.StreamARN or ctx.arn("kinesis", "stream/" .. name)
  ctx.component {
    type = "aws.kinesis.stream",
    id = id,
    name = name,
    data = s,
    tags = tagging.of(index, id, function() return stream_tags(ctx, name) end) or {},
  }
end

-- The streams of a ListStreams page: { name, summary } pairs.
local function streams_of(page)
  local list = {}
  if page.StreamSummaries then
    for _, s in ipairs(page.StreamSummaries) do list[#list + 1] = { s.StreamName, s } end
  else
    for _, n in ipairs(page.StreamNames or {}) do list[#list + 1] = { n } end
  end
  return list
end

function M.scan(ctx)
  local index
  local function describe_page(page)
    local list = streams_of(page)
    if index == nil and #list > 0 then index = tagging.index(ctx, { "kinesis:stream" }) end
    ctx.each(list, function(s) M.describe_stream(ctx, s[1], s[2], index) end)
    return list
  end

  local last, list
  for page in ctx.aws.paginate("ListStreams") do
    list = describe_page(page)
    last = page
  end
  -- no NextToken but more streams: page on by name
  local seen = {}
  while last and last.HasMoreStreams and not last.NextToken and #list > 0 do
    local after = list[#list][1]
    if seen[after] then error("ListStreams: the service repeated a page (after " .. after .. "); stopped", 0) end
    seen[after] = true
    last = ctx.aws.call("ListStreams", { ExclusiveStartStreamName = after })
    list = describe_page(last)
  end
end

---------------------------------------------------------------------------
-- events (requests name the stream by name or, lately, by ARN)

local function name_of(q)
  if type(q) ~= "table" then return nil end
  if q.streamName then return q.streamName end
  local a = arn.parse(q.streamARN or q.resourceARN)
  return a and a.service == "kinesis" and a.resource:match("^stream/([^/]+)$") or nil
end

local function refresh(ctx, e)
  local name = name_of(e.requestParameters)
  if name then M.describe_stream(ctx, name) end
end

M.events = {
  CreateStream = refresh,
  AddTagsToStream = refresh,
  RemoveTagsFromStream = refresh,
  TagResource = refresh,
  UntagResource = refresh,
  IncreaseStreamRetentionPeriod = refresh,
  DecreaseStreamRetentionPeriod = refresh,
  StartStreamEncryption = refresh,
  StopStreamEncryption = refresh,
  UpdateShardCount = refresh,
  UpdateStreamMode = refresh,
  DeleteStream = function(ctx, e)
    local name = name_of(e.requestParameters)
    if name then ctx.delete(ctx.arn("kinesis", "stream/" .. name)) end
  end,
}

-- the stream an event is about, when named (only the newest event per stream of a batch is handled)
M.event_resource = {}
for name in pairs(M.events) do M.event_resource[name] = "streamName" end

return M
