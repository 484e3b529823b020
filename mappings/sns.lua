-- mappings/sns.lua -- Amazon SNS topics.
--
-- One component per topic, with its attributes (GetTopicAttributes) and tags.
-- Relations, from the topic's confirmed subscriptions: topic publishes-to
-- each SQS queue (protocol sqs), Lambda function (protocol lambda) and
-- Firehose delivery stream (protocol firehose) it delivers to. A Lambda
-- endpoint is reduced to the unqualified function ARN, the id lambda.lua
-- gives functions (an alias or version qualifier is stripped). Other
-- protocols (http/s, email, sms, application) have no component to point at.
--
-- Calls: 1 ListTopics per 100 topics + 1 GetResources per 100 tagged topics
-- (lib/tagging.lua; none in a region without topics) + per topic 1
-- GetTopicAttributes and 1 ListSubscriptionsByTopic per 100 subscriptions.
-- When GetResources fails (denied), one warning and 1 ListTagsForResource per
-- topic instead; events (one topic) use ListTagsForResource.

local arn = require("arn")
local tagging = require("tagging")

local M = {
  service = "sns",
  scope = "regional",
  calls = { "ListTopics", "GetTopicAttributes", "ListTagsForResource", "ListSubscriptionsByTopic",
            "resourcegroupstaggingapi:GetResources" },

  types = {
    ["aws.sns.topic"] = {
      layer = "Messaging",
      views = { "all" },
      action = {
        name = "Go to SNS console",
        url = "{console}/sns/v3/home?region={region}#/topic/{id}",
      },
      cloudwatch = {
        namespace = "AWS/SNS",
        dimensions = { TopicName = "{name}" },
        metrics = {
          NumberOfMessagesPublished      = { stat = "Sum", unit = "Count" },
          NumberOfNotificationsDelivered = { stat = "Sum", unit = "Count" },
          NumberOfNotificationsFailed    = { stat = "Sum", unit = "Count" },
        },
        default = { "NumberOfMessagesPublished", "NumberOfNotificationsFailed" },
      },
    },
  },
}

local function topic_name(topic_arn)
  return topic_arn:match("^.*:([^:]+)$") or topic_arn:match("^[^:]+$")   -- anchored: see sqs.lua's queue_name
end

local function_arn = require("arn").lambda_function

-- What a subscription's endpoint points at, by protocol.
-- a topic deleted since it was listed (the query and JSON protocols spell it apart)
local GONE = { gone = { "NotFound", "NotFoundException" } }

local TARGET = {
  sqs = function(endpoint) return endpoint end,
  firehose = function(endpoint) return endpoint end,
  lambda = function_arn,
}

local function draw_subscription(ctx, id, s)
  -- "PendingConfirmation" / "Deleted" subscriptions deliver nothing
  if not arn.parse(s.SubscriptionArn) then return end
  local target = TARGET[s.Protocol]
  local endpoint = target and target(s.Endpoint)
  if arn.parse(endpoint) then ctx.relation(id, "publishes-to", endpoint) end
end

-- The tags of one topic, by itself (events; scans when GetResources failed).
local function topic_tags(ctx, topic_arn, name)
  local tags, err = ctx.aws.try("ListTagsForResource", { ResourceArn = topic_arn })
  if not tags then ctx.warn("topic %s: ListTagsForResource: %s", name, err.code) end
  return tags and tags.Tags
end

-- Emits one topic and its subscriptions. `index`: the run's tags by topic ARN
-- (lib/tagging.lua), or nil / false to ask ListTagsForResource.
function M.describe_topic(ctx, topic_arn, index)
  local name = topic_name(topic_arn)
  local result, err = ctx.aws.try("GetTopicAttributes", { TopicArn = topic_arn }, GONE)
  if not (result or err) then return end   -- gone
  if err then ctx.warn("topic %s: GetTopicAttributes: %s", name, err.code) end
  local tags = tagging.of(index, topic_arn, function() return topic_tags(ctx, topic_arn, name) end)

  local attrs = result and result.Attributes or {}
  attrs.TopicArn = attrs.TopicArn or topic_arn
  ctx.component {
    type = "aws.sns.topic",
    id = topic_arn,
    name = name,
    data = attrs,
    tags = tags or {},
  }

  local list_err = ctx.aws.try_pages("ListSubscriptionsByTopic", { TopicArn = topic_arn }, function(page)
    for _, s in ipairs(page.Subscriptions or {}) do draw_subscription(ctx, topic_arn, s) end
  end, GONE)
  if list_err then ctx.warn("topic %s: ListSubscriptionsByTopic: %s", name, list_err.code) end
end

function M.scan(ctx)
  local index
  for page in ctx.aws.paginate("ListTopics") do
    -- topic ARNs name no resource type: the filter is the service
    if index == nil and next(page.Topics or {}) then index = tagging.index(ctx, { "sns" }) end
    ctx.each(page.Topics, function(t) M.describe_topic(ctx, t.TopicArn, index) end)
  end
end

---------------------------------------------------------------------------
-- events

-- the request parameters of a CloudTrail record (absent in some records)
local function req(e) return e.requestParameters or {} end

local function is_topic(s)
  local a = arn.parse(s)
  return a and a.service == "sns" and not a.resource:find(":", 1, true)
end

local function refresh(ctx, topic_arn)
  if is_topic(topic_arn) then M.describe_topic(ctx, topic_arn) end
end

M.events = {
  CreateTopic = function(ctx, e) refresh(ctx, (e.responseElements or {}).topicArn) end,
  SetTopicAttributes = function(ctx, e) refresh(ctx, req(e).topicArn) end,
  Subscribe = function(ctx, e) refresh(ctx, req(e).topicArn) end,
  ConfirmSubscription = function(ctx, e) refresh(ctx, req(e).topicArn) end,
  -- a subscription ARN is "<topic arn>:<subscription id>"
  Unsubscribe = function(ctx, e)
    local s = req(e).subscriptionArn
    refresh(ctx, type(s) == "string" and s:match("^(.*):[^:]+$"))
  end,
  TagResource = function(ctx, e) refresh(ctx, req(e).resourceArn) end,
  UntagResource = function(ctx, e) refresh(ctx, req(e).resourceArn) end,
  DeleteTopic = function(ctx, e)
    if is_topic(req(e).topicArn) then ctx.delete(req(e).topicArn) end
  end,
}

-- the topic an event is about (only the newest event per topic of a batch is handled)
M.event_resource = {
  SetTopicAttributes = "topicArn", Subscribe = "topicArn", ConfirmSubscription = "topicArn", DeleteTopic = "topicArn",
}

return M
