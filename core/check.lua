-- check.lua -- `awstopo mappings check`: what can be known about a mapping without running it.
--
-- mapping_check.c loads the mapping in the sandbox (no AWS call), then runs
-- this chunk with one table:
--   file, source      the mapping's path and text
--   service, calls, types, events, relations, has_scan   its declaration
--   models            service -> { ops = { Name = true } } or { error = "why" }
--   relations_doc     the text of docs/relations.md (nil: not found)
--   suggest(word, list) -> the nearest name of list, or nil
-- and gets back a list of { line = N, message = "..." } (with events_unchecked
-- set when the service's model is the bundled, trimmed one: no event check).

local info = ...
local findings = {}

local lines = {}
for l in (info.source .. "\n"):gmatch("([^\n]*)\n") do
  lines[#lines + 1] = l:gsub("%-%-.*$", "")   -- comments say nothing
end

local function line_of(needle)
  for i, l in ipairs(lines) do
    if l:find(needle, 1, true) then return i end
  end
  return 1
end

-- the first line with name as a whole word
local function line_of_word(name)
  local pattern = "%f[%w_]" .. name:gsub("%p", "%%%0") .. "%f[^%w_]"
  for i, l in ipairs(lines) do
    if l:find(pattern) then return i end
  end
  return 1
end

local function add(line, fmt, ...)
  findings[#findings + 1] = { line = line, message = fmt:format(...) }
end

local function keys(set)
  local list = {}
  for k in pairs(set or {}) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function did_you_mean(word, set)
  local near = info.suggest(word, keys(set))
  return near and (" (did you mean %s?)"):format(near) or ""
end

local function split_call(name)
  local service, op = name:match("^([%w%-_]+):([%w]+)$")
  if service then return service, op end
  return info.service, name
end

-- declared calls: each must be an operation of a model on the model path
local reported_model = {}
for _, c in ipairs(info.calls) do
  local service, op = split_call(c)
  local m = info.models[service]
  local line = line_of('"' .. c .. '"')
  if m.error then
    if not reported_model[service] then
      reported_model[service] = true
      add(line, "call %s: %s", c, m.error)
    end
  elseif not m.ops[op] then
    add(line, "call %s: the %s model has no operation %s%s", c, service, op, did_you_mean(op, m.ops))
  end
end

-- component types used (type = "a.b") but not declared in `types`
local seen_type = {}
for i, l in ipairs(lines) do
  for t in l:gmatch('[^%w_]type%s*=%s*"([%w_%-]+%.[%w_%.%-]+)"') do
    if not info.types[t] and not seen_type[t] then
      seen_type[t] = true
      add(i, "component type %s is used but not declared in `types`%s", t, did_you_mean(t, info.types))
    end
  end
end

-- relation types: the first table of docs/relations.md, or the mapping's own `relations`
local function documented_relations(doc)
  local known, in_table = {}, false
  for l in (doc .. "\n"):gmatch("([^\n]*)\n") do
    local t = l:match("^| `([%w%-_]+)` |")
    if t then
      known[t], in_table = true, true
    elseif in_table and not l:find("^|") then
      break
    end
  end
  return known
end

if info.relations_doc then
  local known = documented_relations(info.relations_doc)
  for _, r in ipairs(info.relations) do known[r] = true end
  for i, l in ipairs(lines) do
    for r in l:gmatch('relation%s*%(%s*[^,()]+,%s*"([^"]+)"') do
      if not known[r] then
        add(i, "relation type %s is not in docs/relations.md nor in the mapping's `relations`%s", r,
          did_you_mean(r, known))
      end
    end
  end
end

-- event handlers: a CloudTrail eventName is an operation of the service (some
-- carry an API version: CreateFunction20150331); names with a space are
-- EventBridge detail-types, not checked
local own = info.models[info.service]
if own and own.trimmed and #info.events > 0 then
  findings.events_unchecked = true
elseif own and own.ops then
  for _, name in ipairs(info.events) do
    local op = name:match("^(.-)%d%d%d%d%d%d%d%d%w*$") or name
    if not name:find(" ", 1, true) and not own.ops[name] and not own.ops[op] then
      add(line_of_word(name), "event handler %s: %s never emits this event (no such operation)%s", name, info.service,
        did_you_mean(name, own.ops))
    end
  end
end

if not info.has_scan then
  add(1, "no `scan` function: a scan of this mapping finds nothing")
end

table.sort(findings, function(a, b) return a.line < b.line end)
return findings
