-- lib/arn.lua -- Amazon Resource Names, for every partition.
--
--   arn:<partition>:<service>:<region>:<account>:<resource>
--
-- The partition comes from the run (ctx.partition): "aws", "aws-cn" or
-- "aws-us-gov". Never write "arn:aws:" by hand in a mapping.

local M = {}

function M.build(partition, service, region, account, resource)
  region, account = region or "", account or ""
  -- one concatenation is cheaper than format (an ARN per resource and relation);
  -- format keeps what it gives for anything that is not a string
  if type(partition) == "string" and type(service) == "string" and type(region) == "string"
      and type(account) == "string" and type(resource) == "string" then
    return "arn:" .. partition .. ":" .. service .. ":" .. region .. ":" .. account .. ":" .. resource
  end
  return ("arn:%s:%s:%s:%s:%s"):format(partition, service, region, account, resource)
end

-- Splits an ARN into its fields; nil when s is not an ARN.
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local partition, service, region, account, resource = s:match("^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$")
  if not partition then return nil end
  return { partition = partition, service = service, region = region, account = account, resource = resource }
end

-- "arn:...:function:name[:qualifier]" -> "arn:...:function:name": relations
-- end at the unqualified function, whatever alias or version points there.
-- nil when s is not a Lambda function ARN.
function M.lambda_function(s)
  if type(s) ~= "string" then return nil end
  return s:match("^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+)")
end

-- The partition a region belongs to, from its name (for data that names a
-- region but not a partition).
function M.partition_of(region)
  if type(region) ~= "string" then return "aws" end
  if region:match("^cn%-") then return "aws-cn" end
  if region:match("^us%-gov%-") then return "aws-us-gov" end
  if region:match("^us%-iso%-") then return "aws-iso" end
  if region:match("^us%-isob%-") then return "aws-iso-b" end
  return "aws"
end

return M
