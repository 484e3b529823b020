-- metrics.lua -- which CloudWatch metrics the components of one account get,
-- and fetching them with GetMetricData.
--
-- metrics.c runs this chunk in a task, once per account, with
--   P    the C primitives (lua_api.h): call, each
--   job  { account, now, interval, delay, estimate, prune, max_per_hour,
--          alarms = the alarms.lua chunk when alarms are wanted, insufficient_data,
--          catalog = { [type] = the type's `cloudwatch` declaration },
--          choose  = { [type] = { metric names } | "all" | "none" },
--          others  = "default" | "none"      (types the config does not name)
--          tags    = { { key, value|nil }, ... }   (all must match)
--          component, names, from, to   on demand: only this externalId, these
--                  metrics (all declared when nil), this window (epoch seconds)
--          components = { JSON text of each component } }
-- and returns { series = { ... }, health = { ... }, health_complete, report = { ... } }
-- (see metrics.h: what C
-- copies out of it). Nothing here formats output: data flows on to metrics.c.
--
-- The plan: one query per (component, chosen metric) whose dimensions are all
-- there; optionally pruned to what ListMetrics (RecentlyActive PT3H) lists;
-- cut to the budget; grouped by (region, period), since one GetMetricData call
-- has one time range and goes to one region; at most MAX_QUERIES a call,
-- NextToken pages merged by query id.

local P, job = ...

local MAX_QUERIES = 500          -- GetMetricData's limit of MetricDataQueries
local DEFAULT_PERIOD = 300
local WAVE = 16                  -- GetMetricData calls started together

local report = {
  components = 0,      -- components of a type that declares metrics
  filtered = 0,        -- left out by the tag filter
  planned = 0,         -- queries before pruning and budget
  without_dims = 0,    -- queries impossible: a declared dimension has no value
  pruned = 0,          -- queries ListMetrics says have no recent data
  skipped_budget = 0,  -- queries over max_metrics_per_hour
  not_due = 0,         -- queries of periods longer than the interval with no new period yet
  per_hour = 0,        -- metrics requested per hour at this plan, each at its own rate
  requested = 0,       -- queries sent (metrics requested: what CloudWatch bills)
  calls = 0,           -- GetMetricData calls (pages included)
  list_calls = 0,      -- ListMetrics calls
  no_data = 0,         -- series that came back without datapoints
  failed = 0,          -- queries whose call failed, or whose status says so
  alarms = 0,          -- alarms seen (DescribeAlarms)
  alarms_unmapped = 0, -- alarms whose dimensions name no component
  alarm_calls = 0,     -- DescribeAlarms calls
  skipped = {},        -- "<type> <metric>" -> queries skipped by the budget
  warnings = {},
}

local function warn(fmt, ...)
  report.warnings[#report.warnings + 1] = fmt:format(...)
end

---------------------------------------------------------------------------
-- the plan

local function tag_match(tags)
  for _, want in ipairs(job.tags or {}) do
    local have = tags and tags[want[1]]
    if have == nil or (want[2] ~= nil and have ~= want[2]) then return false end
  end
  return true
end

local function chosen(ctype, decl)
  if job.component then   -- on demand: the metrics asked for, else all it declares
    for _, name in ipairs(job.names or {}) do
      if not decl.metrics[name] then error(("metrics: %s has no metric %s"):format(ctype, name), 0) end
    end
    if job.names and #job.names > 0 then return job.names end
  end
  local pick = job.component and "all" or job.choose[ctype]
  if pick == nil then pick = job.others == "none" and "none" or "default" end
  if pick == "none" then return {} end
  if pick == "default" then return decl.default or {} end
  if pick == "all" then
    local names = {}
    for name in pairs(decl.metrics or {}) do names[#names + 1] = name end
    table.sort(names)
    return names
  end
  return pick
end

-- The host a series is reported for: the component's urn:host identifier (EC2
-- instances: agent-reported hosts merge with it), else its externalId.
local function hostname(c)
  for _, id in ipairs(c.data.identifiers or {}) do
    local host = type(id) == "string" and id:match("^urn:host:/(.+)$")
    if host then return host end
  end
  return c.externalId
end

local function add_queries(c, decl, queries)
  local cw = c.data.CW
  local dims, have = {}, {}
  for _, d in ipairs(cw.Dimensions or {}) do
    dims[#dims + 1] = { Name = d.Key, Value = d.Value }
    have[d.Key] = true
  end
  local complete = true
  for name in pairs(decl.dimensions or {}) do
    if not have[name] then complete = false end
  end
  local loc = c.data.Location or {}
  for _, name in ipairs(chosen(c.type.name, decl)) do
    local m = decl.metrics[name]
    report.planned = report.planned + 1
    if not complete then
      report.without_dims = report.without_dims + 1
    else
      local qd = dims                -- shared by the component's queries, unless the metric adds some
      if m.dimensions then
        qd = {}
        for i, d in ipairs(dims) do qd[i] = d end
        for k, v in pairs(m.dimensions) do qd[#qd + 1] = { Name = k, Value = v } end
        table.sort(qd, function(a, b) return a.Name < b.Name end)
      end
      queries[#queries + 1] = {
        component = c.externalId, type = c.type.name, hostname = hostname(c), account = loc.AwsAccount,
        region = decl.region or loc.AwsRegion, namespace = cw.Namespace, metric = name,
        stat = m.stat, unit = m.unit or "None", period = m.period or decl.period or DEFAULT_PERIOD,
        dims = qd,
      }
    end
  end
end

-- The configuration names declared types and metrics only.
local function check_choice()
  for ctype, pick in pairs(job.choose) do
    local decl = job.catalog[ctype]
    if not decl then
      local known = {}
      for t in pairs(job.catalog) do known[#known + 1] = t end
      table.sort(known)
      error(("metrics: %s declares no metrics (types with metrics: %s)"):format(ctype, table.concat(known, ", ")), 0)
    end
    if type(pick) == "table" then
      for _, name in ipairs(pick) do
        if not decl.metrics[name] then
          local names = {}
          for n in pairs(decl.metrics) do names[#names + 1] = n end
          table.sort(names)
          error(("metrics: %s has no metric %s (declared: %s)"):format(ctype, name, table.concat(names, ", ")), 0)
        end
      end
    end
  end
end

local function plan(decoded)
  local queries = {}
  for _, text in ipairs(job.components) do
    local c = json.decode(text)
    local decl = job.catalog[c.type and c.type.name]
    local loc = c.data and c.data.Location or {}
    if decl and c.data and c.data.CW and (job.account == nil or loc.AwsAccount == job.account)
        and (job.component == nil or c.externalId == job.component) then
      report.components = report.components + 1
      if job.alarms then decoded[#decoded + 1] = c end   -- alarms.lua needs them; else let them go
      if tag_match(c.data.Tags) then add_queries(c, decl, queries)
      else report.filtered = report.filtered + 1 end
    end
  end
  if report.without_dims > 0 then
    warn("%d metrics left out: their component lacks a dimension the type declares", report.without_dims)
  end
  return queries
end

local function series_key(metric, dims)
  local parts = { metric }
  for _, d in ipairs(dims) do parts[#parts + 1] = d.Name .. "=" .. d.Value end
  return table.concat(parts, "\0")
end

---------------------------------------------------------------------------
-- pruning: ListMetrics (RecentlyActive = PT3H) per region, namespace and metric name

local function list_active(region, namespace, metric, active)
  local params = { Namespace = namespace, MetricName = metric, RecentlyActive = "PT3H" }
  repeat
    report.list_calls = report.list_calls + 1
    local ok, page = pcall(P.call, "cloudwatch", "ListMetrics", params, region)
    if not ok then return page end
    for _, m in ipairs(page.Metrics or {}) do
      local dims = {}
      for i, d in ipairs(m.Dimensions or {}) do dims[i] = d end
      table.sort(dims, function(a, b) return a.Name < b.Name end)
      active[series_key(m.MetricName, dims)] = true
    end
    params.NextToken = page.NextToken
  until not params.NextToken
  return nil
end

local function prune(queries)
  local lists, order = {}, {}
  for _, q in ipairs(queries) do
    local k = q.region .. "\0" .. q.namespace .. "\0" .. q.metric
    if not lists[k] then
      lists[k] = { q.region, q.namespace, q.metric, active = {} }
      order[#order + 1] = lists[k]
    end
  end
  P.each(order, function(l)
    l.err = list_active(l[1], l[2], l[3], l.active)
  end)
  local kept = {}
  for _, q in ipairs(queries) do
    local l = lists[q.region .. "\0" .. q.namespace .. "\0" .. q.metric]
    if l.err or l.active[series_key(q.metric, q.dims)] then kept[#kept + 1] = q
    else report.pruned = report.pruned + 1 end
  end
  for _, l in ipairs(order) do
    if l.err then warn("ListMetrics %s %s (%s) failed, not pruned: %s", l[2], l[3], l[1], tostring(l.err)) end
  end
  return kept
end

---------------------------------------------------------------------------
-- the budget: what a query costs per hour is one request per interval, or
-- per period when that is longer (see due below); queries are kept in plan
-- order while they fit max_per_hour, the rest are reported

local function rate(q)
  return 3600 / math.max(job.interval, q.period)
end

local function budget(queries)
  local max, used, kept = job.max_per_hour, 0, {}
  for _, q in ipairs(queries) do
    local r = rate(q)
    if not max or used + r <= max + 1e-9 then
      used = used + r
      kept[#kept + 1] = q
    else
      local k = q.type .. " " .. q.metric
      report.skipped[k] = (report.skipped[k] or 0) + 1
      report.skipped_budget = report.skipped_budget + 1
    end
  end
  report.per_hour = used
  return kept
end

---------------------------------------------------------------------------
-- due: a metric whose period is longer than the interval (S3's daily ones)
-- is fetched only by the run after one of its periods has closed: CloudWatch
-- has nothing new for it before, and every request is billed. Stateless: the
-- run asks whether a period boundary fell into the last interval.

local function due(queries)
  local t, kept = job.now - job.delay, {}
  for _, q in ipairs(queries) do
    if job.component or q.period <= job.interval or t // q.period ~= (t - job.interval) // q.period then
      kept[#kept + 1] = q
    else
      report.not_due = report.not_due + 1
    end
  end
  return kept
end

---------------------------------------------------------------------------
-- fetching

-- The window of a period: it ends at the last whole period before now - delay,
-- and covers the interval (at least one period; two for daily metrics, which
-- CloudWatch publishes late).
local function window(period)
  if job.from and job.to then   -- on demand: whole periods covering [from, to)
    return job.from // period * period, -(-job.to // period) * period
  end
  local stop = (job.now - job.delay) // period * period
  local span = math.max(job.interval, period)
  if period >= 86400 then span = math.max(span, 2 * period) end
  return stop - span, stop
end

local function groups_of(queries)
  local groups, order = {}, {}
  for _, q in ipairs(queries) do
    local k = q.region .. "\0" .. q.period
    local g = groups[k]
    if not g then
      g = { region = q.region, period = q.period, queries = {} }
      groups[k] = g
      order[#order + 1] = g
    end
    g.queries[#g.queries + 1] = q
  end
  return order
end

local function fail_batch(batch, why)
  for _, q in ipairs(batch) do
    q.status = "Failed"
    report.failed = report.failed + 1
  end
  warn("GetMetricData (%s, %d metrics) failed: %s", batch.region, #batch, why)
end

local said = {}   -- warnings already given

local function fetch_batch(batch)
  local ids, mdq = {}, json.array()
  for i, q in ipairs(batch) do
    local id = "m" .. i
    ids[id] = q
    q.timestamps, q.values = json.array(), json.array()
    mdq[i] = { Id = id, ReturnData = true,
               MetricStat = { Metric = { Namespace = q.namespace, MetricName = q.metric, Dimensions = q.dims },
                              Period = q.period, Stat = q.stat } }
  end
  local params = { MetricDataQueries = mdq, StartTime = batch.start, EndTime = batch.stop,
                   ScanBy = "TimestampAscending" }
  report.requested = report.requested + #batch
  repeat
    report.calls = report.calls + 1
    local ok, page = pcall(P.call, "cloudwatch", "GetMetricData", params, batch.region)
    if not ok then return fail_batch(batch, tostring(page)) end
    for _, r in ipairs(page.MetricDataResults or {}) do
      local q = ids[r.Id]
      if q then
        local ts, vs = r.Timestamps or {}, r.Values or {}
        for i = 1, math.min(#ts, #vs) do
          q.timestamps[#q.timestamps + 1] = ts[i]
          q.values[#q.values + 1] = vs[i]
        end
        q.status = r.StatusCode or "Complete"
      end
    end
    for _, m in ipairs(page.Messages or {}) do   -- what CloudWatch says about the call, once each
      local text = ("GetMetricData (%s): %s: %s"):format(batch.region, m.Code or "?", m.Value or "")
      if not said[text] then
        said[text] = true
        warn("%s", text)
      end
    end
    params.NextToken = page.NextToken
  until not params.NextToken
  for _, q in ipairs(batch) do
    if not q.status then q.status = "Missing" end   -- not in any answer
    if q.status == "Forbidden" or q.status == "InternalError" or q.status == "Missing" then
      report.failed = report.failed + 1
    elseif #q.values == 0 then
      report.no_data = report.no_data + 1
    end
  end
end

local function batches_of(groups)
  local batches = {}
  for _, g in ipairs(groups) do
    local start, stop = window(g.period)
    for i = 1, #g.queries, MAX_QUERIES do
      local b = { region = g.region, start = start, stop = stop }
      for k = i, math.min(i + MAX_QUERIES - 1, #g.queries) do b[#b + 1] = g.queries[k] end
      batches[#batches + 1] = b
    end
  end
  return batches
end

---------------------------------------------------------------------------

check_choice()
local decoded = {}
local queries = plan(decoded)
collectgarbage()   -- the decoded components: the plan is what stays
if job.prune and not job.estimate then queries = prune(queries) end
queries = budget(queries)
queries = due(queries)
local batches = batches_of(groups_of(queries))
report.batches = #batches
if job.estimate then
  report.requested = #queries
else
  -- in waves as wide as a lane (16 calls in flight per service and region):
  -- requests are built, and responses held, for one wave at a time
  for i = 1, #batches, WAVE do
    P.each(table.move(batches, i, math.min(i + WAVE - 1, #batches), 1, {}), fetch_batch)
  end
end
local health, complete = {}, false
if job.alarms and not job.estimate then
  health, complete = job.alarms(P, job, decoded, report)
end
return { series = job.estimate and {} or queries, health = health, health_complete = complete, report = report }
