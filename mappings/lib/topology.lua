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

-- data["A.B"] -> data.A.B (path: { "A", "B" })
local function lookup(data, path)
  local v = data
  for i = 1, #path do
    if type(v) ~= "table" then return nil end
    v = v[path[i]]
  end
  return v
end

local function percent(c) return ("%%%02X"):format(c:byte()) end

local function url_encode(s)
  s = tostring(s)
  if not s:find("[^%w%-_%.~]") then return s end   -- most names need nothing
  return (s:gsub("[^%w%-_%.~]", percent))
end

-- A template cut once into its literal text and its placeholders
-- ({ key, path, url }): expanding it is then a loop, not a gsub with a new
-- closure, for every component. Templates come from the mappings' type
-- declarations, a few dozen; the cache is emptied should it ever pass 1000.
local compiled, ncompiled = {}, 0

local function compile(template)
  local parts, pos = {}, 1
  while true do
    local s, e, key, filter = template:find("{([%w_%.%-]+)(|?%w*)}", pos)
    if not s then break end
    if s > pos then parts[#parts + 1] = template:sub(pos, s - 1) end
    local path = {}
    for part in key:gmatch("[^%.]+") do path[#path + 1] = part end
    parts[#parts + 1] = { key = key, path = path, url = filter == "|url" }
    pos = e + 1
  end
  if pos <= #template then parts[#parts + 1] = template:sub(pos) end
  if ncompiled >= 1000 then compiled, ncompiled = {}, 0 end
  compiled[template], ncompiled = parts, ncompiled + 1
  return parts
end

local pieces = {}   -- expand's output, reused (expand never yields)

-- Expands "{key}" and "{key|url}" placeholders: vars first, then data.
-- Returns nil when a placeholder has no value (no half-built URLs).
function M.expand(template, vars, data)
  local parts = compiled[template] or compile(template)
  for i = 1, #parts do
    local p = parts[i]
    if type(p) == "string" then
      pieces[i] = p
    else
      local v = vars[p.key]
      if v == nil then v = lookup(data, p.path) end
      if v == nil or type(v) == "table" then return nil end
      if p.url then pieces[i] = url_encode(v) else pieces[i] = tostring(v) end
    end
  end
  return table.concat(pieces, "", 1, #parts)
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
  local data = table.clone(spec.data or {}, 10)   -- room for the ten fields set below
  local tagmap = tags.to_map(spec.tags or data.Tags or data.TagList or data.TagSet)
  local special_identifiers, special_environment = tags.special(tagmap)

  local identifiers, seen = json.array(), { [spec.id] = true }
  append_unique(identifiers, seen, spec.identifiers)
  append_unique(identifiers, seen, special_identifiers)

  -- the three labels every component has, then its tags' and its own
  local base = "aws-region:" .. region
  local account_label = "aws-account:" .. ctx.account
  local labels = json.array({ "stackpack:aws", base, account_label })
  local seen_labels = { ["stackpack:aws"] = true, [base] = true, [account_label] = true }
  if next(tagmap) then append_unique(labels, seen_labels, tags.labels(tagmap)) end
  append_unique(labels, seen_labels, spec.labels)

  local name = spec.name or spec.id
  local vars
  if tdef.cloudwatch or tdef.action then
    vars = { region = region, account = ctx.account, partition = ctx.partition,
             console = CONSOLE[ctx.partition] or CONSOLE.aws, name = name, id = spec.id }
  end

  data.name = name
  data.layer = tdef.layer
  data.domain = tdef.domain or "AWS"
  data.environment = special_environment or spec.environment or M.DEFAULT_ENVIRONMENT
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
