-- mappings/s3.lua -- Amazon S3 buckets.
--
-- A global mapping: it runs once per account, never per region (ListBuckets
-- returns every bucket of the account whatever the endpoint, so a per-region
-- run would list them all once per region). Each bucket is placed in its own
-- region: BucketRegion from ListBuckets (returned when the request has a
-- parameter, so we always send MaxBuckets), else GetBucketLocation, where an
-- empty LocationConstraint means the partition's first region (us-east-1 in
-- aws) and the legacy "EU" means eu-west-1. Buckets in regions outside the
-- scan (ctx.regions) are left out. Tags and notifications are read from the
-- bucket's own region.
--
-- Relations: bucket publishes-to each Lambda function, SQS queue and SNS topic
-- of its notification configuration (the bucket sends them events). A Lambda
-- target is the unqualified function ARN (see lambda.lua).

local M = {
  service = "s3",
  scope = "global",
  calls = { "ListBuckets", "GetBucketLocation", "GetBucketTagging", "GetBucketNotificationConfiguration" },

  types = {
    ["aws.s3.bucket"] = {
      layer = "Storage",
      views = { "all", "infrastructure", "serverless" },
      action = {
        name = "Go to S3 console",
        url = "{console}/s3/buckets/{name|url}?region={region}",
      },
      cloudwatch = {
        namespace = "AWS/S3",
        dimensions = { BucketName = "{name}" },
        period = 86400,            -- daily storage metrics; each names its StorageType
        metrics = {
          BucketSizeBytes = { stat = "Average", unit = "Bytes", dimensions = { StorageType = "StandardStorage" } },
          NumberOfObjects = { stat = "Average", unit = "Count", dimensions = { StorageType = "AllStorageTypes" } },
        },
        default = { "BucketSizeBytes", "NumberOfObjects" },
      },
    },
  },
}

-- The region a bucket without a LocationConstraint lives in, per partition.
local DEFAULT_REGION = { ["aws"] = "us-east-1", ["aws-cn"] = "cn-north-1", ["aws-us-gov"] = "us-gov-west-1" }
-- Legacy LocationConstraint values.
local LEGACY_REGION = { EU = "eu-west-1" }

local function bucket_arn(ctx, name)
  return ctx.arn("s3", name, { region = "", account = "" })
end

local function location_region(ctx, constraint)
  if type(constraint) ~= "string" or constraint == "" then
    return DEFAULT_REGION[ctx.partition] or "us-east-1"
  end
  return LEGACY_REGION[constraint] or constraint
end

local function_arn = require("arn").lambda_function

local function set_of(list)
  local set = {}
  for _, v in ipairs(list or {}) do set[v] = true end
  return set
end

-- The bucket's region; nil and an error code when it cannot be known.
local function bucket_region(ctx, bucket)
  if type(bucket.BucketRegion) == "string" and bucket.BucketRegion ~= "" then return bucket.BucketRegion end
  local loc, err = ctx.aws.try("GetBucketLocation", { Bucket = bucket.Name })
  if loc then return location_region(ctx, loc.LocationConstraint) end
  return nil, err.code
end

local function bucket_tags(ctx, name, region)
  local result, err = ctx.aws.try("GetBucketTagging", { Bucket = name }, { region = region })
  if result then return result.TagSet end
  if err.code ~= "NoSuchTagSet" then ctx.warn("bucket %s: GetBucketTagging: %s", name, err.code) end
  return nil
end

local function draw_notifications(ctx, id, name, region)
  local n, err = ctx.aws.try("GetBucketNotificationConfiguration", { Bucket = name }, { region = region })
  if not n then
    ctx.warn("bucket %s: GetBucketNotificationConfiguration: %s", name, err.code)
    return
  end
  for _, c in ipairs(n.LambdaFunctionConfigurations or {}) do
    ctx.relation(id, "publishes-to", function_arn(c.LambdaFunctionArn))
  end
  for _, c in ipairs(n.QueueConfigurations or {}) do ctx.relation(id, "publishes-to", c.QueueArn) end
  for _, c in ipairs(n.TopicConfigurations or {}) do ctx.relation(id, "publishes-to", c.TopicArn) end
end

-- Emits one bucket (an entry of ListBuckets' Buckets) when its region is in
-- the scan.
function M.describe_bucket(ctx, bucket, in_scope)
  local name = bucket.Name
  local region, code = bucket_region(ctx, bucket)
  if code == "NoSuchBucket" then return end
  if region and not in_scope[region] then return end

  local id = bucket_arn(ctx, name)
  local data = {}
  for k, v in pairs(bucket) do data[k] = v end
  if not region then
    -- without its region the bucket's own endpoint is unknown: emit it bare
    ctx.warn("bucket %s: GetBucketLocation: %s", name, code)
    ctx.component { type = "aws.s3.bucket", id = id, name = name, data = data, tags = {} }
    return
  end
  data.BucketRegion = region
  ctx.component {
    type = "aws.s3.bucket",
    id = id,
    name = name,
    data = data,
    tags = bucket_tags(ctx, name, region),
    region = region,
  }
  draw_notifications(ctx, id, name, region)
end

function M.scan(ctx)
  local in_scope = set_of(ctx.regions)
  for page in ctx.aws.paginate("ListBuckets", { MaxBuckets = 1000 }) do
    ctx.each(page.Buckets, function(bucket) M.describe_bucket(ctx, bucket, in_scope) end)
  end
end

---------------------------------------------------------------------------
-- events

-- Re-reads one bucket: its ListBuckets entry (by prefix, for CreationDate
-- and BucketRegion), then as in a scan.
local function refresh(ctx, e)
  local name = (e.requestParameters or {}).bucketName
  if not name then return end
  local entry = { Name = name }
  for page in ctx.aws.paginate("ListBuckets", { MaxBuckets = 1000, Prefix = name }) do
    for _, b in ipairs(page.Buckets or {}) do
      if b.Name == name then entry = b end
    end
  end
  M.describe_bucket(ctx, entry, set_of(ctx.regions))
end

M.events = {
  CreateBucket = refresh,
  PutBucketTagging = refresh,
  DeleteBucketTagging = refresh,
  PutBucketNotification = refresh,                -- CloudTrail's name for PutBucketNotificationConfiguration
  PutBucketNotificationConfiguration = refresh,
  DeleteBucket = function(ctx, e)
    local name = (e.requestParameters or {}).bucketName
    if name then ctx.delete(bucket_arn(ctx, name)) end
  end,
}

-- the bucket an event is about (only the newest event per bucket of a batch is handled)
M.event_resource = {}
for name in pairs(M.events) do M.event_resource[name] = "bucketName" end

return M
