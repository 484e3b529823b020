-- engine.lua -- the ctx a mapping works with.
--
-- engine.c runs this chunk once in every mapping run's sandboxed state, with
--   P        the C primitives (listed in lua_api.h): call, next_params,
--            each, spawn/await, emit, copy, log, warn, error, ...
--   mapping  the table the mapping file returned
--   run      { name, file, account, region, partition, regions, instance,
--            replay = recorded responses (fixture replay) or nil,
--            record = { responses, anonymize } (awstopo record) or nil }
-- and gets back the functions that start the scan or an event handler.
-- It is compiled into the binary: users change mappings/ and mappings/lib/,
-- never this file.

local P, mapping, run = ...

local topology = require("topology")

---------------------------------------------------------------------------
-- which calls a mapping may make

local function split_call(name, default_service)
  local service, op = name:match("^([%w%-_]+):([%w]+)$")
  if service then return service, op end
  return default_service, name
end

local declared = {}
for _, c in ipairs(mapping.calls or {}) do
  local service, op = split_call(c, mapping.service)
  declared[service .. ":" .. op] = true
end

local function check_declared(service, op)
  if not declared[service .. ":" .. op] then
    error(("mapping %s calls %s:%s, which its `calls` list does not declare"):format(run.name, service, op), 3)
  end
end

---------------------------------------------------------------------------
-- replaying recorded responses (awstopo test, scan --demo)

local ARRAY = getmetatable(json.array())

-- Does `actual` contain everything `expected` says? Objects are compared
-- member by member, so a fixture names only the parameters that matter;
-- lists must match element for element, so a batch of 21 names never
-- answers for a batch of 20.
local function matches(expected, actual)
  if type(expected) ~= "table" then return expected == actual end
  if type(actual) ~= "table" then return false end
  if getmetatable(expected) == ARRAY and #expected ~= #actual then return false end
  for k, v in pairs(expected) do
    if not matches(v, actual[k]) then return false end
  end
  return true
end

local function replay_call(service, op, params, region)
  P.replayed()
  local entries = run.replay[service .. ":" .. op]
  if not entries and service == mapping.service then entries = run.replay[op] end
  for _, e in ipairs(entries or {}) do
    if (e.region == nil or e.region == region) and matches(e.params or {}, params) then
      if e.error then
        error(P.error(service, op, region, e.error.code, e.error.message or "", e.error.status or 400), 0)
      end
      return P.copy(e.response or {})
    end
  end
  error(P.error(service, op, region, "FixtureMissing",
    ("the fixture has no response for %s:%s in %s with %s"):format(service, op, region, json.encode(params))), 0)
end

---------------------------------------------------------------------------
-- recording live responses (awstopo record)
--
-- Secrets are scrubbed before anything is kept: values of members whose
-- names say they are credentials, Lambda environment variable values, and
-- the query of presigned URLs. With run.record.anonymize the scanned account
-- id becomes 123456789012 everywhere.

local SECRET_MEMBERS = {
  SecretAccessKey = true, SessionToken = true, AccessKeyId = true, Password = true,
  MasterUserPassword = true, AuthToken = true, PrivateKey = true, Signature = true,
  KeyMaterial = true, SecretString = true, SecretBinary = true,
}

local function scrub_string(v)
  if v:find("X-Amz-Signature=", 1, true) or v:find("X-Amz-Credential=", 1, true) then
    return (v:gsub("%?.*$", "?REDACTED"))
  end
  if run.record.anonymize and run.account then
    v = v:gsub(run.account, "123456789012")
  end
  return v
end

local function scrub(v, key)
  if type(v) == "string" then
    if key and SECRET_MEMBERS[key] then return "REDACTED" end
    return scrub_string(v)
  end
  if type(v) ~= "table" then return v end
  local t = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do
    local nk = type(k) == "string" and scrub_string(k) or k
    if k == "Variables" and key == "Environment" and type(x) == "table" then
      local redacted = {}
      for name in pairs(x) do redacted[name] = "REDACTED" end
      t[nk] = redacted
    else
      t[nk] = scrub(x, k)
    end
  end
  return t
end

local function record(service, op, region, params, response, err)
  local key = service == mapping.service and op or service .. ":" .. op
  local entries = run.record.responses[key]
  if not entries then
    entries = json.array()
    run.record.responses[key] = entries
  end
  local entry = { params = scrub(params) }
  if region ~= run.region then entry.region = region end
  if err then
    entry.error = { code = err.code, message = scrub_string(err.message or ""), status = err.status }
  else
    entry.response = scrub(response)
  end
  entries[#entries + 1] = entry
end

---------------------------------------------------------------------------
-- ctx.aws

local function call(name, params, opts)
  local service, op = split_call(name, mapping.service)
  check_declared(service, op)
  local region = opts and opts.region or run.region
  params = params or {}
  if run.replay then return replay_call(service, op, params, region) end
  if not run.record then return P.call(service, op, params, region) end
  local ok, result = pcall(P.call, service, op, params, region)
  if ok or (type(result) == "table" and result.code) then
    record(service, op, region, params, ok and result or nil, not ok and result or nil)
  end
  if not ok then error(result, 0) end
  return result
end

-- Returns the result, or nil and the AWS error (a table with code, message,
-- status ...). Errors that are not AWS errors (bugs) are raised as usual.
local function try(name, params, opts)
  local ok, result = pcall(call, name, params, opts)
  if ok then return result end
  if type(result) == "table" and result.code then return nil, result end
  error(result, 0)
end

-- An iterator over the pages of a paginated operation:
--   for page in ctx.aws.paginate("DescribeInstances", {}) do ... end
-- The next page is requested as soon as a page arrives, while the mapping
-- works on it, so network latency overlaps with the mapping's work.
local function paginate(name, params, opts)
  local service, op = split_call(name, mapping.service)
  check_declared(service, op)
  local seen, nextp, done, pending = {}, params or {}, false, nil
  return function()
    if done then return nil end
    local page
    if pending then
      page = P.await(pending)
      pending = nil
    else
      page = call(name, nextp, opts)
    end
    local ok, following = pcall(P.next_params, service, op, nextp, page, seen)
    if not ok then error(following, 2) end   -- blame the mapping's loop, not this file
    if following == nil then
      done = true
    else
      nextp = following
      pending = P.spawn(call, name, nextp, opts)
    end
    return page
  end
end

-- Runs fn(page) for every page. Returns nil, or the aws error that stopped
-- the listing (the pages before it were handled); bugs are raised as usual.
local function try_pages(name, params, fn, opts)
  local ok, err = pcall(function()
    for page in paginate(name, params, opts) do fn(page) end
  end)
  if ok then return nil end
  if type(err) == "table" and err.code then return err end
  error(err, 0)
end

---------------------------------------------------------------------------
-- ctx

local ctx = {
  account = run.account,
  region = run.region,
  partition = run.partition,
  regions = run.regions,
  instance = run.instance,
  mapping = run.name,
  service = mapping.service,
  aws = { call = call, try = try, paginate = paginate, try_pages = try_pages },
}

function ctx.each(list, fn)
  if list ~= nil and next(list) ~= nil then P.each(list, fn) end
end

function ctx.log(fmt, ...)
  P.log(select("#", ...) > 0 and fmt:format(...) or tostring(fmt))
end

function ctx.warn(fmt, ...)
  P.warn(select("#", ...) > 0 and fmt:format(...) or tostring(fmt))
end

function ctx.component(spec)
  local c = topology.component(ctx, mapping, spec)
  P.emit("component", c.externalId, c)
  return c.externalId
end

function ctx.relation(source, type_name, target, data)
  if source == nil or target == nil then return end
  local r = topology.relation(ctx, source, type_name, target, data)
  P.emit("relation", r.externalId, r)
end

function ctx.delete(id)
  if id then P.emit("delete", id) end
end

function ctx.arn(service, resource, opts)
  opts = opts or {}
  return topology.arn(ctx.partition, service, opts.region or ctx.region, opts.account or ctx.account, resource)
end

---------------------------------------------------------------------------
-- what engine.c starts

local entry = {}

function entry.scan()
  if mapping.scan then mapping.scan(ctx) end
end

function entry.event(event)
  local handler = mapping.events and mapping.events[event.eventName]
  if not handler then return false end
  handler(ctx, event)
  return true
end

-- The fixture case of what was recorded. Within an operation, entries with
-- more parameters come first: a page-2 call ({MaxResults, NextToken}) must
-- not be answered by the page-1 entry ({MaxResults}) when replayed.
function entry.recording()
  local rec = run.record
  for _, entries in pairs(rec.responses) do
    local size = {}
    for i, e in ipairs(entries) do size[e] = { #json.encode(e.params), i } end
    table.sort(entries, function(a, b)
      if size[a][1] ~= size[b][1] then return size[a][1] > size[b][1] end
      return size[a][2] < size[b][2]
    end)
  end
  local account = rec.anonymize and "123456789012" or run.account
  return {
    description = ("recorded by awstopo record: %s in %s"):format(run.name, run.region),
    account = account, region = run.region, partition = run.partition,
    regions = run.regions, responses = rec.responses,
  }
end

return entry
