-- mappings/sqs.lua -- Amazon SQS queues.
--
-- One component per queue, with its attributes (GetQueueAttributes "All")
-- and tags. A queue with a redrive policy uses its dead-letter queue.
-- Lambda event source mappings (queue triggers function) are drawn by
-- mappings/lambda.lua, which sees both ends.
--
-- Calls: 1 ListQueues per 1000 queues + 1 GetResources per 100 tagged queues
-- (lib/tagging.lua; none in a region without queues) + 1 GetQueueAttributes
-- per queue. When GetResources fails (denied), one warning and 1 ListQueueTags
-- per queue instead; events (one queue) use ListQueueTags.

local arn = require("arn")
local tagging = require("tagging")

local M = {
  service = "sqs",
  scope = "regional",
  calls = { "ListQueues", "GetQueueAttributes", "ListQueueTags", "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.sqs.queue"] = {
      layer = "Messaging",
      views = { "all" },
      action = {
        name = "Go to SQS console",
        url = "{console}/sqs/v2/home?region={region}#/queues/{QueueUrl|url}",
      },
      cloudwatch = {
        namespace = "AWS/SQS",
        dimensions = { QueueName = "{name}" },
        metrics = {
          ApproximateNumberOfMessagesVisible = { stat = "Maximum", unit = "Count" },
          ApproximateAgeOfOldestMessage      = { stat = "Maximum", unit = "Seconds" },
          NumberOfMessagesSent               = { stat = "Sum", unit = "Count" },
          NumberOfMessagesDeleted            = { stat = "Sum", unit = "Count" },
        },
        default = { "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage" },
      },
    },
  },
}

-- The queue's name is the last path segment of its URL. (Anchored: an
-- unanchored "([^/]+)$" is tried from every position, 16 times the cost.)
local function queue_name(url)
  return url:match("^.*/([^/]+)$") or url:match("^[^/]+$")
end

-- The queue's ARN from its URL, for events that carry only the URL:
-- https://sqs.<region>.amazonaws.com/<account>/<name>
function M.queue_arn(ctx, url)
  local account, name = url:match("/(%d+)/([^/]+)$")
  return ctx.arn("sqs", name, { account = account })
end

local function dead_letter_target(attrs)
  local policy = attrs.RedrivePolicy
  if type(policy) ~= "string" then return nil end
  local ok, decoded = pcall(json.decode, policy)
  return ok and type(decoded) == "table" and decoded.deadLetterTargetArn or nil
end

-- The tags of one queue, by itself (events; scans when GetResources failed).
local function queue_tags(ctx, url)
  local tags, err = ctx.aws.try("ListQueueTags", { QueueUrl = url })
  if not tags then ctx.warn("queue %s: ListQueueTags: %s", url, err.code) end
  return tags and tags.Tags
end

-- Emits one queue. `index`: the run's tags by queue ARN (lib/tagging.lua), or
-- nil / false to ask ListQueueTags.
function M.describe_queue(ctx, url, index)
  local result, err = ctx.aws.try("GetQueueAttributes", { QueueUrl = url, AttributeNames = { "All" } })
  if not result then
    if err.code == "AWS.SimpleQueueService.NonExistentQueue" or err.code == "QueueDoesNotExist" then return end
    ctx.warn("queue %s: GetQueueAttributes: %s", url, err.code)
  end
  local attrs = result and result.Attributes or {}
  attrs.QueueUrl = url
  local id = attrs.QueueArn or M.queue_arn(ctx, url)
  ctx.component {
    type = "aws.sqs.queue",
    id = id,
    name = queue_name(url),
    data = attrs,
    tags = tagging.of(index, id, function() return queue_tags(ctx, url) end),
    identifiers = { url },
  }
  local dlq = dead_letter_target(attrs)
  if dlq and arn.parse(dlq) then ctx.relation(id, "uses", dlq) end
end

function M.scan(ctx)
  local index
  for page in ctx.aws.paginate("ListQueues", { MaxResults = 1000 }) do
    if index == nil and next(page.QueueUrls or {}) then index = tagging.index(ctx, { "sqs" }) end
    ctx.each(page.QueueUrls, function(url) M.describe_queue(ctx, url, index) end)
  end
end

-- an event on a queue its request names: describe the queue again
local function changed_queue(ctx, e)
  M.describe_queue(ctx, e.requestParameters.queueUrl)
end

M.events = {
  CreateQueue = function(ctx, e)
    M.describe_queue(ctx, e.responseElements.queueUrl)
  end,
  SetQueueAttributes = changed_queue,
  TagQueue = changed_queue,
  UntagQueue = changed_queue,
  DeleteQueue = function(ctx, e)
    ctx.delete(M.queue_arn(ctx, e.requestParameters.queueUrl))
  end,
}

-- the queue an event is about: of several events for one queue in a batch,
-- only the newest is handled (docs/events.md)
M.event_resource = {
  SetQueueAttributes = "queueUrl", TagQueue = "queueUrl", UntagQueue = "queueUrl", DeleteQueue = "queueUrl",
}

return M
