-- mappings/vpngateway.lua -- AWS Site-to-Site VPN: virtual private gateways.
--
-- Components:
--   aws.ec2.vpn-gateway  one per gateway that is not deleted
--                        (DescribeVpnGateways, tags inline). AWS keeps listing
--                        a deleted gateway for a while, in state "deleted".
-- Relations (docs/relations.md):
--   VPN gateway attached-to VPC, for each VpcAttachments entry in state
--   "attached" (attaching / detaching / detached ones are not drawn).
-- The VPC comes from mappings/vpc.lua: arn:<p>:ec2:<region>:<account>:vpc/<id>.
--
-- Calls per region: 1 DescribeVpnGateways. The operation has no paginator in
-- the EC2 model (no NextToken / MaxResults): one call returns every gateway.

local redescribe = require("redescribe")

local M = {
  service = "ec2",
  scope = "regional",
  calls = { "DescribeVpnGateways" },

  types = {
    ["aws.ec2.vpn-gateway"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to VPN Gateway console",
        url = "{console}/vpc/home?region={region}#VpnGatewayDetails:VpnGatewayId={VpnGatewayId}",
      },
    },
  },
}

function M.gateway_arn(ctx, id) return ctx.arn("ec2", "vpn-gateway/" .. id) end
local function vpc_arn(ctx, id) return ctx.arn("ec2", "vpc/" .. id) end

local present = require("values").present
local name_tag = require("tags").name

-- Emits one gateway and its attachments; a deleted one is skipped in a scan
-- and deleted from an event.
function M.emit_gateway(ctx, gw, from_event)
  local id = M.gateway_arn(ctx, gw.VpnGatewayId)
  if gw.State == "deleted" then
    if from_event then ctx.delete(id) end
    return
  end
  ctx.component {
    type = "aws.ec2.vpn-gateway",
    id = id,
    name = name_tag(gw.Tags) or gw.VpnGatewayId,
    data = gw,
  }
  for _, a in ipairs(gw.VpcAttachments or {}) do
    if a.State == "attached" and present(a.VpcId) then
      ctx.relation(id, "attached-to", vpc_arn(ctx, a.VpcId))
    end
  end
end

function M.scan(ctx)
  local result = ctx.aws.call("DescribeVpnGateways", {})
  for _, gw in ipairs(result.VpnGateways or {}) do M.emit_gateway(ctx, gw) end
end

---------------------------------------------------------------------------
-- events

local GATEWAY = {
  name = "vpn gateway", op = "DescribeVpnGateways", param = "VpnGatewayIds",
  notfound = "InvalidVpnGatewayID.NotFound", arn = M.gateway_arn,
  emit = function(ctx, result)
    for _, gw in ipairs(result.VpnGateways or {}) do M.emit_gateway(ctx, gw, true) end
  end,
}

function M.describe(ctx, ids)
  redescribe.ids(ctx, GATEWAY, ids)
end

local function request(e) return e.requestParameters or {} end
local function response(e) return e.responseElements or {} end

local function changed(ctx, e)
  local id = request(e).vpnGatewayId
  if present(id) then M.describe(ctx, { id }) end
end

M.events = {
  CreateVpnGateway = function(ctx, e)
    local gw = response(e).vpnGateway
    if type(gw) == "table" and present(gw.vpnGatewayId) then M.describe(ctx, { gw.vpnGatewayId }) end
  end,
  AttachVpnGateway = changed,
  -- the attachment is "detaching" at first, and a re-describe would only stop
  -- drawing it: delete the relation by name
  DetachVpnGateway = function(ctx, e)
    local p = request(e)
    if present(p.vpnGatewayId) and present(p.vpcId) then
      local id = M.gateway_arn(ctx, p.vpnGatewayId)
      ctx.delete_relation(id, "attached-to", vpc_arn(ctx, p.vpcId))
    end
    changed(ctx, e)
  end,
  DeleteVpnGateway = function(ctx, e)
    local id = request(e).vpnGatewayId
    if present(id) then ctx.delete(M.gateway_arn(ctx, id)) end
  end,
  CreateTags = function(ctx, e)
    local set, ids = request(e).resourcesSet, {}
    for _, item in ipairs(type(set) == "table" and set.items or {}) do
      if present(item.resourceId) and item.resourceId:sub(1, 4) == "vgw-" then ids[#ids + 1] = item.resourceId end
    end
    M.describe(ctx, ids)
  end,
}
M.events.DeleteTags = M.events.CreateTags

-- the gateway an event is about (only the newest event per gateway of a batch
-- is handled); not the detach, which deletes the attachment
M.event_resource = { AttachVpnGateway = "vpnGatewayId", DeleteVpnGateway = "vpnGatewayId" }

return M
