-- lib/tagging.lua -- the tags of many resources at once, from the Resource Groups
-- Tagging API (resourcegroupstaggingapi:GetResources: up to 100 resources a page).
--
-- A scan asks once per run (one region) for every tagged resource of its types
-- instead of one tag call per resource:
--
--   local index                                       -- nil until there is something to tag
--   for page in ctx.aws.paginate("ListQueues", ...) do
--     if index == nil and next(page.QueueUrls or {}) then index = tagging.index(ctx, { "sqs" }) end
--     ctx.each(page.QueueUrls, function(url) describe(ctx, url, index) end)
--   end
--   ...
--   local tags = tagging.of(index, queue_arn, function() return <the per-resource call> end)
--
-- Filters are "service[:resourceType]", the resource type as the ARN spells it
-- ("lambda:function", "dynamodb:table", "kinesis:stream", "firehose:deliverystream");
-- services whose ARNs name no resource type (SQS, SNS) filter by service alone.
-- GetResources returns tagged (and formerly tagged) resources only: a resource
-- that is not in the listing has no tags. The ARN it returns is the resource's
-- plain ARN (a Lambda function's unqualified ARN, an SQS queue's QueueArn).
--
-- Load the index in the scan's own loop, before ctx.each: tasks started by
-- ctx.each run concurrently, and each would list everything again.
-- Event handlers pass no index: one resource, one per-resource tag call.
-- The caller declares "resourcegroupstaggingapi:GetResources" in its `calls`,
-- as well as its per-resource tag operation (the fallback).

local M = {}

M.OPERATION = "resourcegroupstaggingapi:GetResources"
M.PER_PAGE = 100        -- ResourcesPerPage maximum

-- The tags of every resource of the given types in the run's region:
-- { [arn] = { {Key = .., Value = ..}, ... } }, or nil and the aws error that
-- stopped the listing. opts.key(arn) -> the key to file a resource under (nil:
-- leave it out), when the mapping's ids are not the ARNs as returned.
function M.by_arn(ctx, filters, opts)
  local map, key = {}, opts and opts.key
  local params = { ResourceTypeFilters = filters, ResourcesPerPage = M.PER_PAGE }
  local err = ctx.aws.try_pages(M.OPERATION, params, function(page)
    for _, r in ipairs(page.ResourceTagMappingList or {}) do
      local k = r.ResourceARN
      if key and type(k) == "string" then k = key(k) end
      if type(k) == "string" then map[k] = r.Tags or {} end
    end
  end)
  if err then return nil, err end
  return map
end

-- by_arn for a scan: the map, or false after one warning when GetResources
-- failed (denied, unsupported, any AWS error); the caller then asks per resource.
function M.index(ctx, filters, opts)
  local map, err = M.by_arn(ctx, filters, opts)
  if map then return map end
  ctx.warn("tags: %s: %s, falling back to one call per resource", M.OPERATION, err.code)
  return false
end

-- The tags of one resource: from the index when there is one ({} when the
-- resource is not in it), otherwise what fallback() returns (the per-resource
-- call; nil after its own warning).
function M.of(index, arn, fallback)
  if index then return index[arn] or {} end
  return fallback()
end

return M
