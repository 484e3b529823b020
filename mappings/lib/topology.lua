-- lib/topology.lua -- how an AWS resource becomes a StackState component.
--
-- ctx.component{...} and ctx.relation(...) come here. The result is the
-- StackState agent intake form:
--   component: { externalId, type = { name }, data = { name, layer, domain,
--                environment, labels, identifiers, Tags, Location, CW,
--                ConsoleUrl, <the resource's own fields> } }
--   relation:  { externalId = "<source>-<type>-<target>", type = { name },
--                sourceId, targetId, data }
-- Changing this file (or shadowing it with --mappings DIR/lib/topology.lua)
-- changes every component; docs/mappings.md describes the conventions.

local tags = require("tags")
local arn = require("arn")

local M = {}

local CONSOLE = {
  ["aws"] = "https://console.aws.amazon.com",
  ["aws-cn"] = "https://console.amazonaws.cn",
  ["aws-us-gov"] = "https://console.amazonaws-us-gov.com",
}

M.DEFAULT_ENVIRONMENT = "Production"

function M.arn(partition, service, region, account, resource)
  return arn.build(partition, service, region, account, resource)
end

-- data["A.B"] -> data.A.B
local function lookup(data, path)
  local v = data
  for part in path:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Expands "{key}" and "{key|url}" placeholders: vars first, then data.
-- Returns nil when a placeholder has no value (no half-built URLs).
function M.expand(template, vars, data)
  local missing = false
  local out = template:gsub("{([%w_%.%-]+)(|?%w*)}", function(key, filter)
    local v = vars[key]
    if v == nil then v = lookup(data, key) end
    if v == nil or type(v) == "table" then
      missing = true
      return ""
    end
    if filter == "|url" then return url_encode(v) end
    return tostring(v)
  end)
  if missing then return nil end
  return out
end

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local function append_unique(list, seen, values)
  for _, v in ipairs(values or {}) do
    if v ~= nil and v ~= "" and not seen[v] then
      seen[v] = true
      list[#list + 1] = v
    end
  end
end

-- The dimension names of a type, sorted once (the declaration never changes).
local sorted_names = setmetatable({}, { __mode = "k" })

local function dimension_names(dims)
  local names = sorted_names[dims]
  if not names then
    names = {}
    for name in pairs(dims) do names[#names + 1] = name end
    table.sort(names)
    sorted_names[dims] = names
  end
  return names
end

local function dimensions(cw, vars, data)
  if not (cw and cw.dimensions) then return nil end
  local names = dimension_names(cw.dimensions)
  local dims = json.array()
  for _, name in ipairs(names) do
    local value = M.expand(cw.dimensions[name], vars, data)
    if value then dims[#dims + 1] = { Key = name, Value = value } end
  end
  -- the namespace may be a template too ("AWS/{NamespaceSuffix}") when one type
  -- spans several (target groups of application and network load balancers)
  return { Namespace = M.expand(cw.namespace, vars, data) or cw.namespace, Dimensions = dims }
end

-- spec: { type, id, name, data, tags, identifiers, labels, region, environment }
function M.component(ctx, mapping, spec)
  local tdef = mapping.types and mapping.types[spec.type]
  if not tdef then
    error(("component type %s is not declared in the mapping's `types`"):format(tostring(spec.type)), 3)
  end
  if type(spec.id) ~= "string" or spec.id == "" then
    error(("a %s component needs an id (its ARN)"):format(spec.type), 3)
  end
  local region = spec.region or ctx.region
  local data = copy(spec.data)
  local tagmap = tags.to_map(spec.tags or data.Tags or data.TagList or data.TagSet)
  local special = tags.stackstate(tagmap)

  local identifiers, seen = json.array(), { [spec.id] = true }
  append_unique(identifiers, seen, spec.identifiers)
  append_unique(identifiers, seen, special.identifiers)

  local labels, seen_labels = json.array(), {}
  append_unique(labels, seen_labels, { "stackpack:aws", "aws-region:" .. region, "aws-account:" .. ctx.account })
  append_unique(labels, seen_labels, tags.labels(tagmap))
  append_unique(labels, seen_labels, spec.labels)

  local name = spec.name or spec.id
  local vars = { region = region, account = ctx.account, partition = ctx.partition,
                 console = CONSOLE[ctx.partition] or CONSOLE.aws, name = name, id = spec.id }

  data.name = name
  data.layer = tdef.layer
  data.domain = tdef.domain or "AWS"
  data.environment = special.environment or spec.environment or M.DEFAULT_ENVIRONMENT
  data.labels = labels
  data.identifiers = identifiers
  data.Tags = next(tagmap) and tagmap or nil
  data.TagList, data.TagSet = nil, nil
  data.Location = { AwsAccount = ctx.account, AwsRegion = region }
  data.CW = dimensions(tdef.cloudwatch, vars, data)
  data.ConsoleUrl = tdef.action and M.expand(tdef.action.url, vars, data) or nil

  return { externalId = spec.id, type = { name = spec.type }, data = data }
end

function M.relation(_, source, type_name, target, data)
  return {
    externalId = source .. "-" .. type_name .. "-" .. target,
    type = { name = type_name },
    sourceId = source,
    targetId = target,
    data = data or {},
  }
end

return M
