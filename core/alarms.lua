-- alarms.lua -- CloudWatch alarms onto the components their dimensions name,
-- as StackState health check states.
--
-- metrics.lua calls this chunk with (P, job, components, report), components
-- being the decoded components of the account. It returns the check states
--   { id, name, component, health, message }
-- and whether every region answered (only then may the health snapshot be
-- closed: StackState deletes the check states a complete snapshot lacks).
--
-- An alarm belongs to the component in its namespace whose CW dimensions are
-- all among the alarm's, with the same values, the most specific one winning
-- (a target group alarm names TargetGroup and LoadBalancer: the target group,
-- not its load balancer). Metric math alarms go to the components of each of
-- their metrics; composite alarms to the components of the alarms their rule
-- names.

local P, job, components, report = ...

local PAGE = 100                 -- DescribeAlarms MaxRecords maximum

local HEALTH = {
  OK = "CLEAR",
  ALARM = "CRITICAL",
  INSUFFICIENT_DATA = job.insufficient_data or "DEVIATING",
}

-- namespace -> list of { id, dims = { name = value }, n }
local function index_components()
  local by_ns = {}
  for _, c in ipairs(components) do
    local cw = c.data.CW
    local dims, n = {}, 0
    for _, d in ipairs(cw.Dimensions or {}) do
      dims[d.Key] = d.Value
      n = n + 1
    end
    if n > 0 then
      local list = by_ns[cw.Namespace] or {}
      by_ns[cw.Namespace] = list
      list[#list + 1] = { id = c.externalId, dims = dims, n = n }
    end
  end
  return by_ns
end

local function component_of(by_ns, metric)
  local have = {}
  for _, d in ipairs(metric.Dimensions or {}) do have[d.Name] = d.Value end
  local best
  for _, c in ipairs(by_ns[metric.Namespace] or {}) do
    local all = true
    for k, v in pairs(c.dims) do
      if have[k] ~= v then all = false break end
    end
    if all and (not best or c.n > best.n or (c.n == best.n and c.id < best.id)) then best = c end
  end
  return best and best.id
end

local function metrics_of(alarm)
  if alarm.MetricName then
    return { { Namespace = alarm.Namespace, MetricName = alarm.MetricName, Dimensions = alarm.Dimensions } }
  end
  local out = {}
  for _, q in ipairs(alarm.Metrics or {}) do
    if q.MetricStat and q.MetricStat.Metric then out[#out + 1] = q.MetricStat.Metric end
  end
  return out
end

local function describe(region, metric_alarms, composite_alarms)
  local params = { AlarmTypes = { "MetricAlarm", "CompositeAlarm" }, MaxRecords = PAGE }
  repeat
    report.alarm_calls = report.alarm_calls + 1
    local ok, page = pcall(P.call, "cloudwatch", "DescribeAlarms", params, region)
    if not ok then return page end
    for _, a in ipairs(page.MetricAlarms or {}) do metric_alarms[#metric_alarms + 1] = a end
    for _, a in ipairs(page.CompositeAlarms or {}) do composite_alarms[#composite_alarms + 1] = a end
    params.NextToken = page.NextToken
  until not params.NextToken
  return nil
end

local function message(alarm)
  local reason = alarm.StateReason or ""
  return ("%s: %s"):format(alarm.StateValue or "?", reason)
end

local by_ns = index_components()
local regions, order = {}, {}
for _, c in ipairs(components) do
  local r = c.data.Location and c.data.Location.AwsRegion
  if r and not regions[r] then
    regions[r] = true
    order[#order + 1] = r
  end
end
table.sort(order)

local complete = true
local states, seen = {}, {}
local function add(alarm, component)
  local id = alarm.AlarmArn .. "|" .. component
  if seen[id] then return end
  seen[id] = true
  states[#states + 1] = { id = id, name = alarm.AlarmName, component = component,
                          health = HEALTH[alarm.StateValue] or HEALTH.INSUFFICIENT_DATA, message = message(alarm) }
end

local per_region = {}
for i, r in ipairs(order) do per_region[i] = { region = r, metric = {}, composite = {} } end
P.each(per_region, function(pr)
  pr.err = describe(pr.region, pr.metric, pr.composite)
end)
for _, pr in ipairs(per_region) do
  if pr.err then
    complete = false
    report.warnings[#report.warnings + 1] =
      ("DescribeAlarms (%s) failed: %s; the alarms' health is sent without closing its snapshot"):format(
        pr.region, tostring(pr.err))
  end
  local by_name = {}
  for _, a in ipairs(pr.metric) do
    report.alarms = report.alarms + 1
    local targets = {}
    for _, m in ipairs(metrics_of(a)) do
      local c = component_of(by_ns, m)
      if c then targets[#targets + 1] = c end
    end
    by_name[a.AlarmName] = targets
    if a.AlarmArn then by_name[a.AlarmArn] = targets end
    if #targets == 0 then report.alarms_unmapped = report.alarms_unmapped + 1 end
    for _, c in ipairs(targets) do add(a, c) end
  end
  for _, a in ipairs(pr.composite) do
    report.alarms = report.alarms + 1
    local mapped = false
    for name in (a.AlarmRule or ""):gmatch("%u[%u_]*%(%s*[\"']?([^\"')]+)[\"']?%s*%)") do
      for _, c in ipairs(by_name[name] or {}) do
        add(a, c)
        mapped = true
      end
    end
    if not mapped then report.alarms_unmapped = report.alarms_unmapped + 1 end
  end
end
table.sort(states, function(a, b) return a.id < b.id end)
return states, complete
