-- mappings/redshift.lua -- Amazon Redshift (provisioned) clusters.
--
-- Components:
--   aws.redshift.cluster  one per cluster (DescribeClusters, tags inline);
--                         id arn:<p>:redshift:<region>:<account>:cluster:<id>
--                         (DescribeClusters returns no cluster ARN), its
--                         endpoint address an extra identifier
-- Relations (docs/relations.md):
--   cluster runs-in VPC             VpcId
--   cluster uses    security group  each VpcSecurityGroups entry
-- VPCs and security groups come from mappings/vpc.lua and ec2.lua:
-- arn:<p>:ec2:<region>:<account>:vpc/<id>, ...:security-group/<id>.
--
-- Calls per region: DescribeClusters, paginated (100 per page, the API's
-- maximum). Nothing per cluster.

local M = {
  service = "redshift",
  scope = "regional",
  calls = { "DescribeClusters" },

  types = {
    ["aws.redshift.cluster"] = {
      layer = "Databases",
      views = { "all" },
      action = {
        name = "Go to Redshift console",
        url = "{console}/redshiftv2/home?region={region}#cluster-details?cluster={ClusterIdentifier}",
      },
      cloudwatch = {
        namespace = "AWS/Redshift",
        dimensions = { ClusterIdentifier = "{ClusterIdentifier}" },
        metrics = {
          CPUUtilization          = { stat = "Average", unit = "Percent" },
          DatabaseConnections     = { stat = "Average", unit = "Count" },
          PercentageDiskSpaceUsed = { stat = "Average", unit = "Percent" },
          HealthStatus            = { stat = "Minimum", unit = "None" },
          ReadLatency             = { stat = "Average", unit = "Seconds" },
          WriteLatency            = { stat = "Average", unit = "Seconds" },
        },
        default = { "CPUUtilization", "PercentageDiskSpaceUsed", "HealthStatus" },
      },
    },
  },
}

local PAGE = 100   -- MaxRecords: 20..100

function M.cluster_arn(ctx, id) return ctx.arn("redshift", "cluster:" .. id) end

local present = require("values").present

function M.emit_cluster(ctx, cluster)
  local id = M.cluster_arn(ctx, cluster.ClusterIdentifier)
  local endpoint = cluster.Endpoint and cluster.Endpoint.Address
  ctx.component {
    type = "aws.redshift.cluster",
    id = id,
    name = cluster.ClusterIdentifier,
    data = cluster,
    identifiers = { present(endpoint) and endpoint or nil },
  }
  if present(cluster.VpcId) then ctx.relation(id, "runs-in", ctx.arn("ec2", "vpc/" .. cluster.VpcId)) end
  for _, m in ipairs(cluster.VpcSecurityGroups or {}) do
    if present(m.VpcSecurityGroupId) then
      ctx.relation(id, "uses", ctx.arn("ec2", "security-group/" .. m.VpcSecurityGroupId))
    end
  end
end

function M.scan(ctx)
  for page in ctx.aws.paginate("DescribeClusters", { MaxRecords = PAGE }) do
    for _, cluster in ipairs(page.Clusters or {}) do M.emit_cluster(ctx, cluster) end
  end
end

---------------------------------------------------------------------------
-- events: re-describe the cluster; one that is gone is deleted

-- Returns true when the cluster exists (and was emitted).
function M.describe(ctx, name, quiet)
  local result, err = ctx.aws.try("DescribeClusters", { ClusterIdentifier = name })
  if not result then
    if err.code ~= "ClusterNotFound" then error(err, 0) end
    if quiet then return false end
    ctx.warn("cluster %s: %s, sent as deleted", name, err.code)
    ctx.delete(M.cluster_arn(ctx, name))
    return false
  end
  for _, cluster in ipairs(result.Clusters or {}) do M.emit_cluster(ctx, cluster) end
  return true
end

local function request(e) return e.requestParameters or {} end
local function response(e) return e.responseElements or {} end

-- An identifier as the request spelled it; Redshift stores (and puts in
-- ARNs) cluster identifiers in lowercase.
local function ident(s)
  return present(s) and s:lower() or nil
end

local function changed(ctx, e)
  local name = ident(response(e).clusterIdentifier or request(e).clusterIdentifier)
  if name then M.describe(ctx, name) end
end

-- CreateTags / DeleteTags name the resource by ARN (clusters only here).
local function retagged(ctx, e)
  local arn = request(e).resourceName
  local name = present(arn) and arn:match("^arn:[^:]+:redshift:[^:]*:[^:]*:cluster:([^:]+)$")
  if name then M.describe(ctx, name) end
end

M.events = {
  CreateCluster = changed,
  RestoreFromClusterSnapshot = changed,
  ResizeCluster = changed,
  RebootCluster = changed,
  PauseCluster = changed,
  ResumeCluster = changed,
  ModifyClusterIamRoles = changed,
  -- a rename (newClusterIdentifier) replaces the component once it happened
  ModifyCluster = function(ctx, e)
    local old, new = ident(request(e).clusterIdentifier), ident(request(e).newClusterIdentifier)
    if new and old and new ~= old and M.describe(ctx, new, true) then
      ctx.delete(M.cluster_arn(ctx, old))
    elseif old then
      M.describe(ctx, old)
    end
  end,
  DeleteCluster = function(ctx, e)
    local name = ident(request(e).clusterIdentifier)
    if name then ctx.delete(M.cluster_arn(ctx, name)) end
  end,
  CreateTags = retagged,
  DeleteTags = retagged,
}

-- the cluster an event is about (only the newest event per cluster of a batch
-- is handled); not a rename, which deletes the old name
function M.event_resource(e)
  local p = request(e)
  if e.eventName == "CreateTags" or e.eventName == "DeleteTags" or p.newClusterIdentifier then return nil end
  return p.clusterIdentifier
end

return M
