-- mappings/vpc.lua -- Amazon VPC: VPCs and subnets.
--
-- Components:
--   aws.ec2.vpc     one per VPC (DescribeVpcs, tags inline)
--   aws.ec2.subnet  one per subnet (DescribeSubnets, tags inline)
-- Relations (docs/relations.md):
--   subnet runs-in VPC   placement in the network
-- Instances, security groups, Lambda functions, load balancers, databases and
-- VPN gateways point at these components from their own mappings, by ARN:
--   arn:<p>:ec2:<region>:<account>:vpc/<id>, ...:subnet/<id>
-- built with ctx.arn in the scanned account, because the other mappings only
-- know the id. A VPC or subnet shared into this account (RAM: OwnerId is
-- another account) also carries the owner's ARN (SubnetArn for subnets) as an
-- identifier, so it merges with the owner account's component.
--
-- Calls per region: DescribeVpcs and DescribeSubnets, paginated (1000 per
-- page), run side by side. Nothing per resource.

local redescribe = require("redescribe")

local M = {
  service = "ec2",
  scope = "regional",
  calls = { "DescribeVpcs", "DescribeSubnets" },

  types = {
    ["aws.ec2.vpc"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to VPC console",
        url = "{console}/vpc/home?region={region}#VpcDetails:VpcId={VpcId}",
      },
    },
    ["aws.ec2.subnet"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Subnet console",
        url = "{console}/vpc/home?region={region}#SubnetDetails:subnetId={SubnetId}",
      },
    },
  },
}

local PAGE = 1000

function M.vpc_arn(ctx, id) return ctx.arn("ec2", "vpc/" .. id) end
function M.subnet_arn(ctx, id) return ctx.arn("ec2", "subnet/" .. id) end

local present = require("values").present
local name_tag = require("tags").name

-- The owner's ARN of a resource shared into this account; nil for our own.
local function owner_arn(ctx, resource, owner)
  if present(owner) and owner ~= ctx.account then
    return ctx.arn("ec2", resource, { account = owner })
  end
end

---------------------------------------------------------------------------
-- components

function M.emit_vpc(ctx, vpc)
  ctx.component {
    type = "aws.ec2.vpc",
    id = M.vpc_arn(ctx, vpc.VpcId),
    name = name_tag(vpc.Tags) or vpc.VpcId,
    data = vpc,
    identifiers = { owner_arn(ctx, "vpc/" .. vpc.VpcId, vpc.OwnerId) },
  }
end

function M.emit_subnet(ctx, subnet)
  local id = M.subnet_arn(ctx, subnet.SubnetId)
  local owner = owner_arn(ctx, "subnet/" .. subnet.SubnetId, subnet.OwnerId)
  if owner and present(subnet.SubnetArn) then owner = subnet.SubnetArn end
  ctx.component {
    type = "aws.ec2.subnet",
    id = id,
    name = name_tag(subnet.Tags) or subnet.SubnetId,
    data = subnet,
    identifiers = { owner },
  }
  if present(subnet.VpcId) then ctx.relation(id, "runs-in", M.vpc_arn(ctx, subnet.VpcId)) end
end

local function emit_vpcs(ctx, page)
  for _, vpc in ipairs(page.Vpcs or {}) do M.emit_vpc(ctx, vpc) end
end

local function emit_subnets(ctx, page)
  for _, subnet in ipairs(page.Subnets or {}) do M.emit_subnet(ctx, subnet) end
end

---------------------------------------------------------------------------
-- scan

local function scan_vpcs(ctx)
  for page in ctx.aws.paginate("DescribeVpcs", { MaxResults = PAGE }) do emit_vpcs(ctx, page) end
end

local function scan_subnets(ctx)
  for page in ctx.aws.paginate("DescribeSubnets", { MaxResults = PAGE }) do emit_subnets(ctx, page) end
end

function M.scan(ctx)
  ctx.each({ scan_vpcs, scan_subnets }, function(scan) scan(ctx) end)
end

---------------------------------------------------------------------------
-- events: re-describe what the event names; what no longer exists is deleted

local KIND = {
  vpc = { name = "vpc", op = "DescribeVpcs", param = "VpcIds", notfound = "InvalidVpcID.NotFound",
          emit = emit_vpcs, arn = M.vpc_arn },
  subnet = { name = "subnet", op = "DescribeSubnets", param = "SubnetIds", notfound = "InvalidSubnetID.NotFound",
             emit = emit_subnets, arn = M.subnet_arn },
}

function M.describe(ctx, kind, ids)
  redescribe.ids(ctx, KIND[kind], ids)
end

local function request(e) return e.requestParameters or {} end
local function response(e) return e.responseElements or {} end

-- A handler that re-describes the one resource whose id is at `field`.
local function changed(kind, field, from_response)
  return function(ctx, e)
    local source = from_response and response(e)[kind] or request(e)
    local id = type(source) == "table" and source[field]
    if present(id) then M.describe(ctx, kind, { id }) end
  end
end

local function deleted(arn_of, field)
  return function(ctx, e)
    local id = request(e)[field]
    if present(id) then ctx.delete(arn_of(ctx, id)) end
  end
end

-- CreateTags / DeleteTags name resources as { items = { { resourceId = .. } } }.
local function retagged(ctx, e)
  local set = request(e).resourcesSet
  local vpcs, subnets = {}, {}
  for _, item in ipairs(type(set) == "table" and set.items or {}) do
    local id = item.resourceId
    if present(id) and id:sub(1, 4) == "vpc-" then vpcs[#vpcs + 1] = id end
    if present(id) and id:sub(1, 7) == "subnet-" then subnets[#subnets + 1] = id end
  end
  M.describe(ctx, "vpc", vpcs)
  M.describe(ctx, "subnet", subnets)
end

M.events = {
  CreateVpc = changed("vpc", "vpcId", true),
  CreateDefaultVpc = changed("vpc", "vpcId", true),
  ModifyVpcAttribute = changed("vpc", "vpcId"),
  DeleteVpc = deleted(M.vpc_arn, "vpcId"),

  CreateSubnet = changed("subnet", "subnetId", true),
  CreateDefaultSubnet = changed("subnet", "subnetId", true),
  ModifySubnetAttribute = changed("subnet", "subnetId"),
  DeleteSubnet = deleted(M.subnet_arn, "subnetId"),

  CreateTags = retagged,
  DeleteTags = retagged,
}

-- the VPC or subnet an event is about (only the newest event per resource of a
-- batch is handled); creates name theirs only in the response
M.event_resource = {
  ModifyVpcAttribute = "vpcId", DeleteVpc = "vpcId",
  ModifySubnetAttribute = "subnetId", DeleteSubnet = "subnetId",
}

return M
