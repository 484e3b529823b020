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

local PLACEHOLDER_ACCOUNT = "123456789012"   -- engine.h's PLACEHOLDER_ACCOUNT_ID

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
  -- kept aside too: a mapping that catches the error (ctx.aws.try) must not
  -- turn a hole in the fixture into a passing case (awstopo test fails it)
  local msg = ("the fixture has no response for %s:%s in %s with %s"):format(service, op, region, json.encode(params))
  run.missing = run.missing or {}
  run.missing[#run.missing + 1] = msg
  error(P.error(service, op, region, "FixtureMissing", msg), 0)
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
    v = v:gsub(run.account, PLACEHOLDER_ACCOUNT)
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

local function send(name, params, opts)
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

-- Is err an aws error whose code is opts.gone (a code or a list of codes)?
local function is_gone(err, gone)
  if gone == nil or type(err) ~= "table" or not err.code then return false end
  if type(gone) == "string" then return err.code == gone end
  for _, code in ipairs(gone) do
    if code == err.code then return true end
  end
  return false
end

-- The result; raises the aws error. With opts.gone (an error code, or a list
-- of them, that says the resource no longer exists), those errors give nil.
local function call(name, params, opts)
  if not (opts and opts.gone) then return send(name, params, opts) end
  local ok, result = pcall(send, name, params, opts)
  if ok then return result end
  if is_gone(result, opts.gone) then return nil end
  error(result, 0)
end

-- An error AWS answered with, that retrying will not change (AccessDenied,
-- a validation error): a mapping may carry on without that call. A transient
-- one (throttling or 5xx past the retries, no answer, an unparseable body)
-- must fail the run instead, or a component would go out incomplete in a
-- snapshot that claims to be complete.
local function is_refusal(err)
  return type(err) == "table" and err.code ~= nil and not err.transient
end

-- Returns the result, or nil and the AWS error (a table with code, message,
-- status ...); with opts.gone, nil and no error for those codes. Transient
-- AWS errors and errors that are not AWS errors (bugs) are raised as usual.
local function try(name, params, opts)
  local ok, result = pcall(call, name, params, opts)
  if ok then return result end
  if is_refusal(result) then return nil, result end
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
      page = send(name, nextp, opts)
    end
    local ok, following = pcall(P.next_params, service, op, nextp, page, seen)
    if not ok then error(following, 2) end   -- blame the mapping's loop, not this file
    if following == nil then
      done = true
    else
      nextp = following
      pending = P.spawn(send, name, nextp, opts)
    end
    return page
  end
end

-- Runs fn(page) for every page. Returns nil, or the aws error that stopped
-- the listing (the pages before it were handled; with opts.gone, those codes
-- return nil too); transient AWS errors and bugs are raised as usual.
local function try_pages(name, params, fn, opts)
  local ok, err = pcall(function()
    for page in paginate(name, params, opts) do fn(page) end
  end)
  if ok or is_gone(err, opts and opts.gone) then return nil end
  if is_refusal(err) then return err end
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

-- c.delete_relation(source, type, target): the relation c.relation would
-- emit is gone. Its id comes from lib/topology.lua, as the relation's did.
local function delete_relation_of(c)
  return function(source, type_name, target)
    if source == nil or target == nil then return end
    c.delete(topology.relation(c, source, type_name, target).externalId)
  end
end
ctx.delete_relation = delete_relation_of(ctx)

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

-- An event's handler: by CloudTrail eventName, or by detail-type for
-- EventBridge's own events ("EC2 Instance State-change Notification").
local function handler_of(event)
  local name = event.eventName or event["detail-type"]
  return mapping.events and type(name) == "string" and mapping.events[name] or nil
end

function entry.event(event)
  local handler = handler_of(event)
  if not handler then return false end
  handler(ctx, event)
  return true
end

---------------------------------------------------------------------------
-- a batch of events (awstopo events process / consume)

-- The resource an event is about, or nil: then the event is always handled.
-- mapping.event_resource (docs/mappings.md) is either a table
-- { EventName = "requestParameter" } -- that parameter's value names the
-- resource -- or a function(event) returning a string or nil.
local function resource_of(event)
  local how = mapping.event_resource
  if type(how) == "function" then
    local key = how(event)
    return type(key) == "string" and key ~= "" and key or nil
  end
  local param = type(how) == "table" and how[event.eventName]
  local params = type(event.requestParameters) == "table" and event.requestParameters or {}
  local value = param and params[param]
  return type(value) == "string" and value ~= "" and value or nil
end

-- ctx for one event of a batch: what it emits is kept aside, so that the
-- handlers can run concurrently and their effects still apply in event order.
local function buffered_ctx(out)
  local ectx = setmetatable({}, { __index = ctx })
  function ectx.component(spec)
    local c = topology.component(ectx, mapping, spec)
    out[#out + 1] = { "component", c.externalId, c }
    return c.externalId
  end
  function ectx.relation(source, type_name, target, data)
    if source == nil or target == nil then return end
    local r = topology.relation(ectx, source, type_name, target, data)
    out[#out + 1] = { "relation", r.externalId, r }
  end
  function ectx.delete(id)
    if id then out[#out + 1] = { "delete", id } end
  end
  ectx.delete_relation = delete_relation_of(ectx)
  return ectx
end

-- Runs a batch of events (oldest first). Only the newest event per resource
-- is handled (the older ones are "superseded"); the handlers run
-- concurrently; their effects are applied in event order, so that a later
-- delete removes what an earlier event emitted and a later component
-- replaces an earlier delete. Leaves run.outcomes: per event "ok", "none"
-- (no handler), "superseded", or the error message of its handler.
function entry.events(list)
  local outcomes, newest, todo = {}, {}, {}
  for i, e in ipairs(list) do
    if handler_of(e) then
      local key = resource_of(e)
      if key and newest[key] then outcomes[newest[key]] = "superseded" end
      if key then newest[key] = i end
      outcomes[i] = "pending"
    else
      outcomes[i] = "none"
    end
  end
  for i, o in ipairs(outcomes) do
    if o == "pending" then todo[#todo + 1] = i end
  end
  local effects = {}
  ctx.each(todo, function(i)
    local out = {}
    local ok, err = pcall(handler_of(list[i]), buffered_ctx(out), list[i])
    if ok then
      effects[i], outcomes[i] = out, "ok"
    else
      outcomes[i] = tostring(err)
    end
  end)
  local order, last = {}, {}
  for _, i in ipairs(todo) do
    for _, item in ipairs(effects[i] or {}) do
      if not last[item[2]] then order[#order + 1] = item[2] end
      last[item[2]] = item
    end
  end
  for _, id in ipairs(order) do
    local item = last[id]
    P.emit(item[1], id, item[3])
  end
  run.outcomes = outcomes
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
  local account = rec.anonymize and PLACEHOLDER_ACCOUNT or run.account
  return {
    description = ("recorded by awstopo record: %s in %s"):format(run.name, run.region),
    account = account, region = run.region, partition = run.partition,
    regions = run.regions, responses = rec.responses,
  }
end

return entry
