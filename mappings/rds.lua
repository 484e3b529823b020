-- mappings/rds.lua -- Amazon RDS (and Aurora) DB instances and DB clusters.
--
-- Components (tags come inline, as TagList):
--   aws.rds.instance  one per DB instance (DescribeDBInstances); its endpoint
--                     address is an extra identifier
--   aws.rds.cluster   one per DB cluster (DescribeDBClusters); its writer and
--                     reader endpoint addresses are extra identifiers
-- Relations (docs/relations.md):
--   instance runs-in VPC             DBSubnetGroup.VpcId
--   instance uses    security group  each VpcSecurityGroups entry
--   cluster  has     instance        each DBClusterMembers entry (also drawn
--                                    from the instance's DBClusterIdentifier,
--                                    the same relation id, so an event on a
--                                    new member instance draws it too)
--   cluster  runs-in VPC             see below
--   cluster  uses    security group  each VpcSecurityGroups entry
--
-- The VPC of a cluster: DescribeDBClusters names its DB subnet group
-- (DBSubnetGroup, a name) but not the VPC. Member instances use the same
-- subnet group, and DescribeDBInstances gives the group's VpcId, so the scan
-- learns name -> VPC from the instances first (no extra call). Only a cluster
-- whose subnet group no instance uses (Aurora Serverless v1, a cluster without
-- instances yet) and a cluster re-described from an event cost one
-- DescribeDBSubnetGroups call for that group name; if that call fails the
-- cluster is emitted without a VPC relation and a warning. (A security group
-- would need an EC2 call as well, and a cluster may have none.)
--
-- VPCs and security groups are emitted by mappings/vpc.lua and ec2.lua:
-- arn:<p>:ec2:<region>:<account>:vpc/<id>, ...:security-group/<id>.
--
-- Calls per region: DescribeDBInstances and DescribeDBClusters, paginated
-- (100 per page, the API's maximum), + 1 DescribeDBSubnetGroups per DB subnet
-- group that only clusters without instances use (once per group, however
-- many clusters share it).

local M = {
  service = "rds",
  scope = "regional",
  calls = { "DescribeDBInstances", "DescribeDBClusters", "DescribeDBSubnetGroups" },

  types = {
    ["aws.rds.instance"] = {
      layer = "Databases",
      views = { "all" },
      action = {
        name = "Go to RDS console",
        url = "{console}/rds/home?region={region}#database:id={DBInstanceIdentifier};is-cluster=false",
      },
      cloudwatch = {
        namespace = "AWS/RDS",
        dimensions = { DBInstanceIdentifier = "{DBInstanceIdentifier}" },
        metrics = {
          CPUUtilization      = { stat = "Average", unit = "Percent" },
          DatabaseConnections = { stat = "Average", unit = "Count" },
          FreeStorageSpace    = { stat = "Minimum", unit = "Bytes" },
          FreeableMemory      = { stat = "Minimum", unit = "Bytes" },
          ReadLatency         = { stat = "Average", unit = "Seconds" },
          WriteLatency        = { stat = "Average", unit = "Seconds" },
          ReadIOPS            = { stat = "Average", unit = "Count/Second" },
          WriteIOPS           = { stat = "Average", unit = "Count/Second" },
        },
        default = { "CPUUtilization", "DatabaseConnections", "FreeStorageSpace" },
      },
    },
    ["aws.rds.cluster"] = {
      layer = "Databases",
      views = { "all" },
      action = {
        name = "Go to RDS console",
        url = "{console}/rds/home?region={region}#database:id={DBClusterIdentifier};is-cluster=true",
      },
      cloudwatch = {
        namespace = "AWS/RDS",
        dimensions = { DBClusterIdentifier = "{DBClusterIdentifier}" },
        metrics = {
          CPUUtilization      = { stat = "Average", unit = "Percent" },
          DatabaseConnections = { stat = "Average", unit = "Count" },
          FreeableMemory      = { stat = "Minimum", unit = "Bytes" },
          VolumeBytesUsed     = { stat = "Average", unit = "Bytes" },
          ReadLatency         = { stat = "Average", unit = "Seconds" },
          WriteLatency        = { stat = "Average", unit = "Seconds" },
        },
        default = { "CPUUtilization", "DatabaseConnections" },
      },
    },
  },
}

local PAGE = 100   -- MaxRecords: 20..100

---------------------------------------------------------------------------
-- ARNs: arn:<p>:rds:<region>:<account>:db:<id> and ...:cluster:<id>

function M.instance_arn(ctx, id) return ctx.arn("rds", "db:" .. id) end
function M.cluster_arn(ctx, id) return ctx.arn("rds", "cluster:" .. id) end
local function vpc_arn(ctx, id) return ctx.arn("ec2", "vpc/" .. id) end
local function security_group_arn(ctx, id) return ctx.arn("ec2", "security-group/" .. id) end

local values = require("values")
local present, present_list = values.present, values.present_list

local function uses_security_groups(ctx, id, memberships)
  for _, m in ipairs(memberships or {}) do
    if present(m.VpcSecurityGroupId) then ctx.relation(id, "uses", security_group_arn(ctx, m.VpcSecurityGroupId)) end
  end
end

---------------------------------------------------------------------------
-- components

function M.emit_instance(ctx, db)
  local id = present(db.DBInstanceArn) and db.DBInstanceArn or M.instance_arn(ctx, db.DBInstanceIdentifier)
  ctx.component {
    type = "aws.rds.instance",
    id = id,
    name = db.DBInstanceIdentifier,
    data = db,
    tags = db.TagList,
    identifiers = present_list(db.Endpoint and db.Endpoint.Address),
  }
  local group = db.DBSubnetGroup
  if group and present(group.VpcId) then ctx.relation(id, "runs-in", vpc_arn(ctx, group.VpcId)) end
  uses_security_groups(ctx, id, db.VpcSecurityGroups)
  if present(db.DBClusterIdentifier) then ctx.relation(M.cluster_arn(ctx, db.DBClusterIdentifier), "has", id) end
end

-- Learns the VPC of every DB subnet group the clusters name that `known`
-- (name -> VPC id, or false when it cannot be had) does not hold yet: one
-- DescribeDBSubnetGroups call per group, side by side. A failing call leaves
-- those clusters without a VPC relation, with a warning.
function M.learn_subnet_groups(ctx, clusters, known)
  local names, first = {}, {}
  for _, cluster in ipairs(clusters or {}) do
    local name = cluster.DBSubnetGroup
    if present(name) and known[name] == nil and not first[name] then
      first[name] = cluster.DBClusterIdentifier
      names[#names + 1] = name
    end
  end
  ctx.each(names, function(name)
    local result, err = ctx.aws.try("DescribeDBSubnetGroups", { DBSubnetGroupName = name })
    if not result then
      ctx.warn("cluster %s: DB subnet group %s: DescribeDBSubnetGroups: %s", first[name], name, err.code)
      known[name] = false
      return
    end
    local group = (result.DBSubnetGroups or {})[1]
    known[name] = group and present(group.VpcId) and group.VpcId or false
  end)
end

function M.emit_cluster(ctx, cluster, known)
  local id = present(cluster.DBClusterArn) and cluster.DBClusterArn
             or M.cluster_arn(ctx, cluster.DBClusterIdentifier)
  ctx.component {
    type = "aws.rds.cluster",
    id = id,
    name = cluster.DBClusterIdentifier,
    data = cluster,
    tags = cluster.TagList,
    identifiers = present_list(cluster.Endpoint, cluster.ReaderEndpoint),
  }
  for _, member in ipairs(cluster.DBClusterMembers or {}) do
    if present(member.DBInstanceIdentifier) then
      ctx.relation(id, "has", M.instance_arn(ctx, member.DBInstanceIdentifier))
    end
  end
  local vpc = present(cluster.DBSubnetGroup) and known[cluster.DBSubnetGroup]
  if vpc then ctx.relation(id, "runs-in", vpc_arn(ctx, vpc)) end
  uses_security_groups(ctx, id, cluster.VpcSecurityGroups)
end

---------------------------------------------------------------------------
-- scan

function M.scan(ctx)
  local known = {}   -- DB subnet group name -> VPC id
  for page in ctx.aws.paginate("DescribeDBInstances", { MaxRecords = PAGE }) do
    for _, db in ipairs(page.DBInstances or {}) do
      M.emit_instance(ctx, db)
      local group = db.DBSubnetGroup
      if group and present(group.DBSubnetGroupName) and present(group.VpcId) then
        known[group.DBSubnetGroupName] = group.VpcId
      end
    end
  end
  for page in ctx.aws.paginate("DescribeDBClusters", { MaxRecords = PAGE }) do
    M.learn_subnet_groups(ctx, page.DBClusters, known)
    for _, cluster in ipairs(page.DBClusters or {}) do M.emit_cluster(ctx, cluster, known) end
  end
end

---------------------------------------------------------------------------
-- events: re-describe the instance or cluster; one that is gone is deleted

local KIND = {
  instance = { op = "DescribeDBInstances", param = "DBInstanceIdentifier", list = "DBInstances",
               notfound = "DBInstanceNotFound", arn = M.instance_arn,
               emit = function(ctx, db) M.emit_instance(ctx, db) end },
  cluster = { op = "DescribeDBClusters", param = "DBClusterIdentifier", list = "DBClusters",
              notfound = "DBClusterNotFoundFault", arn = M.cluster_arn,
              emit = function(ctx, cluster)
                local known = {}
                M.learn_subnet_groups(ctx, { cluster }, known)
                M.emit_cluster(ctx, cluster, known)
              end },
}

-- Returns true when the resource exists (and was emitted).
function M.describe(ctx, kind, name, quiet)
  local k = KIND[kind]
  local result, err = ctx.aws.try(k.op, { [k.param] = name })
  if not result then
    if err.code ~= k.notfound then error(err, 0) end
    if quiet then return false end
    ctx.warn("%s %s: %s, sent as deleted", kind, name, err.code)
    ctx.delete(k.arn(ctx, name))
    return false
  end
  for _, item in ipairs(result[k.list] or {}) do k.emit(ctx, item) end
  return true
end

local function request(e) return e.requestParameters or {} end
local function response(e) return e.responseElements or {} end

-- An identifier as the request spelled it; RDS stores (and puts in ARNs)
-- identifiers in lowercase, whatever case they were created with.
local function ident(s)
  return present(s) and s:lower() or nil
end

-- CloudTrail writes RDS fields in camelCase: dBInstanceIdentifier, ...
local function instance_of(e)
  return ident(response(e).dBInstanceIdentifier or request(e).dBInstanceIdentifier
               or request(e).targetDBInstanceIdentifier)
end

local function cluster_of(e)
  return ident(response(e).dBClusterIdentifier or request(e).dBClusterIdentifier)
end

local function changed_instance(ctx, e)
  local name = instance_of(e)
  if present(name) then M.describe(ctx, "instance", name) end
end

local function changed_cluster(ctx, e)
  local name = cluster_of(e)
  if present(name) then M.describe(ctx, "cluster", name) end
end

-- A rename (new...Identifier) replaces the component once it has happened;
-- until then (not applied immediately) the old name is still the one.
local function modified(kind, old_field, new_field)
  return function(ctx, e)
    local old, new = ident(request(e)[old_field]), ident(request(e)[new_field])
    if new and old and new ~= old and M.describe(ctx, kind, new, true) then
      ctx.delete(KIND[kind].arn(ctx, old))
    elseif old then
      M.describe(ctx, kind, old)
    end
  end
end

local function deleted(kind, field)
  return function(ctx, e)
    local name = ident(request(e)[field])
    if name then ctx.delete(KIND[kind].arn(ctx, name)) end
  end
end

-- AddTagsToResource / RemoveTagsFromResource name the resource by ARN.
local function retagged(ctx, e)
  local arn = request(e).resourceName
  if not present(arn) then return end
  local kind, name = arn:match(":(db):([^:]+)$")
  if not kind then kind, name = arn:match(":(cluster):([^:]+)$") end
  if kind then M.describe(ctx, kind == "db" and "instance" or "cluster", name) end
end

M.events = {
  CreateDBInstance = changed_instance,
  CreateDBInstanceReadReplica = changed_instance,
  RestoreDBInstanceFromDBSnapshot = changed_instance,
  RestoreDBInstanceFromS3 = changed_instance,
  RestoreDBInstanceToPointInTime = changed_instance,
  StartDBInstance = changed_instance,
  StopDBInstance = changed_instance,
  RebootDBInstance = changed_instance,
  PromoteReadReplica = changed_instance,
  ModifyDBInstance = modified("instance", "dBInstanceIdentifier", "newDBInstanceIdentifier"),
  DeleteDBInstance = deleted("instance", "dBInstanceIdentifier"),

  CreateDBCluster = changed_cluster,
  RestoreDBClusterFromSnapshot = changed_cluster,
  RestoreDBClusterFromS3 = changed_cluster,
  RestoreDBClusterToPointInTime = changed_cluster,
  StartDBCluster = changed_cluster,
  StopDBCluster = changed_cluster,
  FailoverDBCluster = changed_cluster,
  ModifyDBCluster = modified("cluster", "dBClusterIdentifier", "newDBClusterIdentifier"),
  DeleteDBCluster = deleted("cluster", "dBClusterIdentifier"),

  AddTagsToResource = retagged,
  RemoveTagsFromResource = retagged,
}

-- the instance or cluster an event is about (only the newest event per
-- resource of a batch is handled); not a rename, which deletes the old name
function M.event_resource(e)
  local p, name = request(e), e.eventName or ""
  if p.newDBInstanceIdentifier or p.newDBClusterIdentifier then return nil end
  if (name:find("DBInstance", 1, true) or name == "PromoteReadReplica") and p.dBInstanceIdentifier then
    return "instance:" .. p.dBInstanceIdentifier
  end
  if name:find("DBCluster", 1, true) and p.dBClusterIdentifier then return "cluster:" .. p.dBClusterIdentifier end
  return nil
end

return M
