-- lib/tags.lua -- AWS tags, in whatever shape a service returns them.
--
-- Services disagree: EC2 and most query services return a list of
-- {Key = .., Value = ..}, ECS uses {key = .., value = ..}, Lambda, SQS and
-- API Gateway a plain map. Everything here takes any of these.

local M = {}

-- Tags as a plain map { key = value }; nil and empty inputs give {}.
function M.to_map(tags)
  local map = {}
  if type(tags) ~= "table" then return map end
  for k, v in pairs(tags) do
    if type(k) == "number" and type(v) == "table" then
      local key = v.Key or v.key or v.TagKey
      local value = v.Value or v.value or v.TagValue
      if key ~= nil then map[key] = value or "" end
    elseif type(k) == "string" then
      map[k] = v
    end
  end
  return map
end

-- The value of the Name tag (EC2's display name) from a tag list, or nil
-- when there is none or it is empty.
function M.name(tags)
  for _, t in ipairs(type(tags) == "table" and tags or {}) do
    if t.Key == "Name" and type(t.Value) == "string" and t.Value ~= "" then return t.Value end
  end
end

-- "stackstate-identifier", "StackstateIdentifier", "stackstate_identifier",
-- "STACKSTATE-IDENTIFIERS" ... all become "stackstateidentifier(s)".
local function squash(key)
  return (key:lower():gsub("[^%w]", ""))
end

-- Cheap first look: only keys starting with "stackstate" (any case) can be
-- special, so most tags never pay for squash(). The first byte ("s" or "S")
-- turns most keys away without making a string.
local function maybe_special(key)
  local first = key:byte(1)
  return (first == 115 or first == 83) and #key >= 10 and key:sub(1, 10):lower() == "stackstate"
end

local function split_values(value, out)
  for item in tostring(value):gmatch("[^,;%s]+") do out[#out + 1] = item end
end

-- The special StackState tags, whatever their case or spelling:
--   stackstate-identifier(s)  -> identifiers = { ... } (values split on , ; and spaces)
--   stackstate-environment(s) -> environment = "..." (the first value)
-- The same as two values: the identifiers (nil when there are none: most
-- resources have no special tag, and a component is built for each) and
-- the environment.
function M.special(map)
  local identifiers, environment, keys = nil, nil, nil
  for k in pairs(map) do
    if maybe_special(k) then
      keys = keys or {}
      keys[#keys + 1] = k
    end
  end
  if not keys then return nil, nil end
  table.sort(keys)   -- stable order whatever the hash order
  for _, key in ipairs(keys) do
    local s = squash(key)
    if s == "stackstateidentifier" or s == "stackstateidentifiers" then
      identifiers = identifiers or {}
      split_values(map[key], identifiers)
    elseif (s == "stackstateenvironment" or s == "stackstateenvironments") and environment == nil then
      local values = {}
      split_values(map[key], values)
      environment = values[1]
    end
  end
  return identifiers, environment
end

function M.stackstate(map)
  local identifiers, environment = M.special(map)
  return { identifiers = identifiers or {}, environment = environment }
end

function M.is_special(key)
  return maybe_special(key)
end

-- Labels from tags: "key:value", or "key" when the value is empty; sorted.
-- The special stackstate-* tags are consumed, not turned into labels.
function M.labels(map)
  local labels = {}
  for k, v in pairs(map) do
    if not maybe_special(k) then
      labels[#labels + 1] = (v == nil or v == "") and k or (k .. ":" .. tostring(v))
    end
  end
  table.sort(labels)
  return labels
end

return M
