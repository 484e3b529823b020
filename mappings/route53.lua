-- mappings/route53.lua -- Amazon Route 53 hosted zones and record sets.
--
-- Route 53 is a global service: this mapping runs once per account. Its
-- components are placed in the region Route 53 signs in (us-east-1 for the
-- aws partition), which is also where its CloudWatch metrics live.
--
-- Components
--   aws.route53.hosted-zone  arn:<p>:route53:::hostedzone/<id>  (the API's Id is
--                            "/hostedzone/<id>": the prefix is stripped)
--   aws.route53.record-set   record sets have no ARN; their id is
--                            <zone arn>/recordset/<name>/<type>[/<SetIdentifier>]
--                            where <name> is the record name lowercased, with
--                            octal escapes decoded (\052 -> *) and without the
--                            trailing dot; the SetIdentifier (weighted, latency,
--                            failover, geo ... records) is appended as it is.
-- Relations
--   hosted zone  has        record set
--   record set   routes-to  load balancer: alias (or CNAME) to an ELB/ALB/NLB DNS
--                           name. The DNS name does not give the load balancer's
--                           ARN, so the target is the identifier
--                           "urn:dns:/<dns name>" (lowercased, no trailing dot, no
--                           "dualstack."/"ipv6." prefix) that the ELB and ELBv2
--                           mappings add to their load balancers; the name is
--                           also in the record set's data as TargetDNSName.
--   record set   routes-to  record set: alias to another record of the same zone.
-- Other alias targets (CloudFront, S3 websites, API Gateway domains, ...) get
-- TargetDNSName in their data but no relation: no mapping has a component there.
--
-- Calls: ListHostedZones (100 zones a page), ListTagsForResources (10 zones a
-- call), ListResourceRecordSets per zone (300 records a page); GetHostedZone for
-- events only.
-- Events: CreateHostedZone, UpdateHostedZoneComment, ChangeTagsForResource (zone
-- read again), DeleteHostedZone, ChangeResourceRecordSets (each change: DELETE
-- deletes the record set's id, CREATE/UPSERT reads that record set with one
-- ListResourceRecordSets starting at its name, type and SetIdentifier).

local M = {
  service = "route53",
  scope = "global",
  calls = { "ListHostedZones", "ListResourceRecordSets", "ListTagsForResources", "GetHostedZone" },

  types = {
    ["aws.route53.hosted-zone"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Route 53 console",
        url = "{console}/route53/v2/hostedzones#ListRecordSets/{HostedZoneId|url}",
      },
      cloudwatch = {
        namespace = "AWS/Route53",
        dimensions = { HostedZoneId = "{HostedZoneId}" },
        metrics = {
          DNSQueries = { stat = "Sum", unit = "Count" },
        },
        default = { "DNSQueries" },
        region = "us-east-1",   -- Route 53 publishes its metrics in us-east-1 only (public zones)
      },
    },
    ["aws.route53.record-set"] = {
      layer = "Networking",
      views = { "all", "infrastructure" },
      action = {
        name = "Go to Route 53 console",
        url = "{console}/route53/v2/hostedzones#ListRecordSets/{HostedZoneId|url}",
      },
    },
  },
}

-- The region Route 53 lives in, per partition (its signing region).
local HOME_REGION = { ["aws"] = "us-east-1", ["aws-cn"] = "cn-northwest-1", ["aws-us-gov"] = "us-gov-west-1" }

local TAG_BATCH = 10      -- ListTagsForResources takes at most 10 ids

local function region_of(ctx)
  return HOME_REGION[ctx.partition] or ctx.region
end

-- "/hostedzone/Z123" (API) or "Z123" (CloudTrail, tags) -> "Z123"
local function zone_id(id)
  return (tostring(id):gsub("^/?hostedzone/", ""))
end

local function zone_arn(ctx, id)
  return ctx.arn("route53", "hostedzone/" .. zone_id(id), { region = "", account = "" })
end

-- A DNS name as ids compare it: \ddd escapes decoded, lowercased, no trailing dot.
local function dns_name(s)
  if type(s) ~= "string" then return nil end
  s = s:gsub("\\([0-7][0-7][0-7])", function(d) return string.char(tonumber(d, 8)) end)
  return (s:lower():gsub("%.$", ""))
end

-- The alias/CNAME target as load balancers name themselves.
local function target_dns_name(s)
  local name = dns_name(s)
  if not name then return nil end
  return (name:gsub("^dualstack%.", ""):gsub("^ipv6%.", ""))
end

local function is_load_balancer(name)
  return name:match("%.elb%.amazonaws%.com$") or name:match("%.elb%.amazonaws%.com%.cn$")
      or name:match("%.elb%.[%w%-]+%.amazonaws%.com$") or name:match("%.elb%.[%w%-]+%.amazonaws%.com%.cn$")
end

function M.record_id(ctx, zid, name, rtype, set_identifier)
  local id = zone_arn(ctx, zid) .. "/recordset/" .. dns_name(name) .. "/" .. rtype
  if set_identifier and set_identifier ~= "" then id = id .. "/" .. set_identifier end
  return id
end

local function record_label(rr)
  local label = dns_name(rr.Name) .. " " .. rr.Type
  if rr.SetIdentifier then label = label .. " (" .. rr.SetIdentifier .. ")" end
  return label
end

-- The DNS name a record sends traffic to: its alias target, or its CNAME value.
local function record_target(rr)
  if type(rr.AliasTarget) == "table" then return target_dns_name(rr.AliasTarget.DNSName) end
  if rr.Type == "CNAME" and type(rr.ResourceRecords) == "table" and rr.ResourceRecords[1] then
    return target_dns_name(rr.ResourceRecords[1].Value)
  end
  return nil
end

---------------------------------------------------------------------------
-- components

local function emit_zone(ctx, zone, tags)
  local data = {}
  for k, v in pairs(zone) do data[k] = v end
  data.HostedZoneId = zone_id(zone.Id)
  return ctx.component {
    type = "aws.route53.hosted-zone",
    id = zone_arn(ctx, zone.Id),
    name = dns_name(zone.Name),
    data = data,
    tags = tags or {},
    region = region_of(ctx),
  }
end

local function emit_record(ctx, zid, rr)
  local data = {}
  for k, v in pairs(rr) do data[k] = v end
  data.HostedZoneId = zone_id(zid)
  data.TargetDNSName = record_target(rr)
  local id = ctx.component {
    type = "aws.route53.record-set",
    id = M.record_id(ctx, zid, rr.Name, rr.Type, rr.SetIdentifier),
    name = record_label(rr),
    data = data,
    region = region_of(ctx),
  }
  ctx.relation(zone_arn(ctx, zid), "has", id)
  local target = data.TargetDNSName
  if target and is_load_balancer(target) then
    ctx.relation(id, "routes-to", "urn:dns:/" .. target)
  end
  return id
end

-- Alias to a record of the same zone: routes-to every record set of that name
-- and the alias's type (several when weighted, latency, ...).
local function alias_in_zone(zid, rr)
  local alias = rr.AliasTarget
  return type(alias) == "table" and alias.HostedZoneId and zone_id(alias.HostedZoneId) == zone_id(zid)
end

local function relate_aliases(ctx, zid, records, targets)
  for _, rr in ipairs(records) do
    if alias_in_zone(zid, rr) then
      local source = M.record_id(ctx, zid, rr.Name, rr.Type, rr.SetIdentifier)
      for _, t in ipairs(targets) do
        if dns_name(t.Name) == dns_name(rr.AliasTarget.DNSName) and t.Type == rr.Type then
          ctx.relation(source, "routes-to", M.record_id(ctx, zid, t.Name, t.Type, t.SetIdentifier))
        end
      end
    end
  end
end

---------------------------------------------------------------------------
-- calls


-- Tags of many zones: { [zone id] = tag list }, 10 ids a call.
local function zone_tags(ctx, ids)
  local batches = {}
  for i = 1, #ids, TAG_BATCH do
    batches[#batches + 1] = table.move(ids, i, math.min(i + TAG_BATCH - 1, #ids), 1, {})
  end
  local result = {}
  ctx.each(batches, function(batch)
    local resp, err = ctx.aws.try("ListTagsForResources", { ResourceType = "hostedzone", ResourceIds = batch })
    if not resp then
      ctx.warn("hosted zones %s: ListTagsForResources: %s", table.concat(batch, ","), err.code)
      return
    end
    for _, set in ipairs(resp.ResourceTagSets or {}) do result[zone_id(set.ResourceId)] = set.Tags end
  end)
  return result
end

-- Every record set of a zone, emitted, with the zone's relations.
local function scan_records(ctx, zid)
  local records = {}
  local err = ctx.aws.try_pages("ListResourceRecordSets", { HostedZoneId = zid }, function(page)
    for _, rr in ipairs(page.ResourceRecordSets or {}) do
      records[#records + 1] = rr
      emit_record(ctx, zid, rr)
    end
  end)
  if err then ctx.warn("hosted zone %s: ListResourceRecordSets: %s", zid, err.code) end
  relate_aliases(ctx, zid, records, records)
end

-- The record sets named `name` of type `rtype` (and `set_identifier`), from one call.
local function lookup_records(ctx, zid, name, rtype, set_identifier)
  local params = { HostedZoneId = zid, StartRecordName = name, StartRecordType = rtype, MaxItems = "100" }
  if set_identifier then params.StartRecordIdentifier = set_identifier end
  local resp = ctx.aws.call("ListResourceRecordSets", params)
  local found = {}
  for _, rr in ipairs(resp.ResourceRecordSets or {}) do
    if dns_name(rr.Name) ~= dns_name(name) or rr.Type ~= rtype then break end
    if set_identifier == nil or rr.SetIdentifier == set_identifier then found[#found + 1] = rr end
  end
  return found
end

-- One zone, described again (events): GetHostedZone and its tags.
local function describe_zone(ctx, id)
  local zid = zone_id(id)
  local resp, err = ctx.aws.try("GetHostedZone", { Id = zid })
  if not resp then
    if err.code == "NoSuchHostedZone" then return nil end
    error(err, 0)
  end
  emit_zone(ctx, resp.HostedZone, zone_tags(ctx, { zid })[zid])
  return zid
end

function M.scan(ctx)
  local zones = {}
  for page in ctx.aws.paginate("ListHostedZones", { MaxItems = "100" }) do
    for _, zone in ipairs(page.HostedZones or {}) do zones[#zones + 1] = zone end
  end
  local ids = {}
  for i, zone in ipairs(zones) do ids[i] = zone_id(zone.Id) end
  local tags = zone_tags(ctx, ids)
  ctx.each(zones, function(zone)
    emit_zone(ctx, zone, tags[zone_id(zone.Id)])
    scan_records(ctx, zone_id(zone.Id))
  end)
end

---------------------------------------------------------------------------
-- events (CloudTrail records of route53.amazonaws.com, logged in us-east-1)

local function record_change(ctx, zid, change)
  local rr = change.resourceRecordSet or {}
  if not (rr.name and rr.type) then return end
  if change.action == "DELETE" then
    ctx.delete(M.record_id(ctx, zid, rr.name, rr.type, rr.setIdentifier))
    return
  end
  for _, found in ipairs(lookup_records(ctx, zid, rr.name, rr.type, rr.setIdentifier)) do
    emit_record(ctx, zid, found)
    if alias_in_zone(zid, found) then
      local targets = lookup_records(ctx, zid, found.AliasTarget.DNSName, found.Type)
      relate_aliases(ctx, zid, { found }, targets)
    end
  end
end

M.events = {
  CreateHostedZone = function(ctx, e)
    local zid = describe_zone(ctx, e.responseElements.hostedZone.id)
    if zid then scan_records(ctx, zid) end
  end,
  UpdateHostedZoneComment = function(ctx, e)
    describe_zone(ctx, e.requestParameters.id)
  end,
  ChangeTagsForResource = function(ctx, e)
    if e.requestParameters.resourceType == "hostedzone" then describe_zone(ctx, e.requestParameters.resourceId) end
  end,
  DeleteHostedZone = function(ctx, e)
    -- Only the apex NS and SOA records remain in a zone that can be deleted;
    -- their components go with the next full scan.
    ctx.delete(zone_arn(ctx, e.requestParameters.id))
  end,
  ChangeResourceRecordSets = function(ctx, e)
    local p = e.requestParameters
    local zid = zone_id(p.hostedZoneId)
    for _, change in ipairs(p.changeBatch and p.changeBatch.changes or {}) do record_change(ctx, zid, change) end
  end,
}

-- the hosted zone an event is about (only the newest event per zone of a batch is handled);
-- record changes are always handled: each deletes the records it removed
M.event_resource = { UpdateHostedZoneComment = "id", DeleteHostedZone = "id" }

return M
