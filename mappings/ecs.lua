-- mappings/ecs.lua -- Amazon ECS clusters, services and tasks.
--
-- Components (ids are the ARNs AWS returns):
--   aws.ecs.cluster  (layer Containers)
--   aws.ecs.service  (layer Services), extra identifier "urn:service:/<service name>" so
--                    trace services of the same name (Traefik) merge with it. The name
--                    alone is the id traces know; two clusters with a service of the same
--                    name therefore share that identifier.
--   aws.ecs.task     (layer Containers), the running tasks (ListTasks' default
--                    desiredStatus RUNNING), named by their task id
-- Data is the Describe* response with tags taken out (they become labels) and a
-- service's `events` (its last 100 log lines, new on every scan) dropped. Services and
-- tasks get `clusterName`, tasks `taskId`, for the console links.
--
-- Relations:
--   cluster has each service
--   service has each of its tasks          (task.group == "service:<service name>")
--   cluster runs-on the EC2 host of each container instance (ec2InstanceId)
--   task runs-on the EC2 host of its container instance (Fargate tasks have none)
--   service uses each target group of its loadBalancers (and a classic load balancer
--   named by loadBalancerName)
--
-- Calls: ListClusters (paginated) + DescribeClusters per 100 clusters (tags included);
-- per cluster: ListServices (paginated) + DescribeServices per 10 services, ListTasks
-- (paginated) + DescribeTasks per 100 tasks, ListContainerInstances (paginated) +
-- DescribeContainerInstances per 100 container instances (only for runs-on: a failure
-- there warns and keeps everything else).

local M = {
  service = "ecs",
  scope = "regional",
  calls = { "ListClusters", "DescribeClusters", "ListServices", "DescribeServices",
            "ListTasks", "DescribeTasks", "ListContainerInstances", "DescribeContainerInstances" },

  types = {
    ["aws.ecs.cluster"] = {
      layer = "Containers",
      views = { "all" },
      action = {
        name = "Go to ECS console",
        url = "{console}/ecs/v2/clusters/{clusterName|url}/services?region={region}",
      },
      cloudwatch = {
        namespace = "AWS/ECS",
        dimensions = { ClusterName = "{clusterName}" },
        metrics = {
          CPUUtilization    = { stat = "Average", unit = "Percent" },
          MemoryUtilization = { stat = "Average", unit = "Percent" },
          CPUReservation    = { stat = "Average", unit = "Percent" },
          MemoryReservation = { stat = "Average", unit = "Percent" },
        },
        default = { "CPUUtilization", "MemoryUtilization" },
      },
    },
    ["aws.ecs.service"] = {
      layer = "Services",
      views = { "all" },
      action = {
        name = "Go to ECS console",
        url = "{console}/ecs/v2/clusters/{clusterName|url}/services/{serviceName|url}/health?region={region}",
      },
      cloudwatch = {
        namespace = "AWS/ECS",
        dimensions = { ClusterName = "{clusterName}", ServiceName = "{serviceName}" },
        metrics = {
          CPUUtilization    = { stat = "Average", unit = "Percent" },
          MemoryUtilization = { stat = "Average", unit = "Percent" },
        },
        default = { "CPUUtilization", "MemoryUtilization" },
      },
    },
    ["aws.ecs.task"] = {
      layer = "Containers",
      views = { "all" },
      action = {
        name = "Go to ECS console",
        url = "{console}/ecs/v2/clusters/{clusterName|url}/tasks/{taskId|url}/configuration?region={region}",
      },
    },
  },
}

M.CLUSTERS_PER_CALL = 100    -- DescribeClusters
M.SERVICES_PER_CALL = 10     -- DescribeServices
M.TASKS_PER_CALL = 100       -- DescribeTasks
M.INSTANCES_PER_CALL = 100   -- DescribeContainerInstances
M.PAGE_SIZE = 100            -- List*: maxResults maximum

local chunks = require("batch").chunks

-- Every item of a paginated List* call's `key`.
local function list_all(ctx, op, params, key)
  local all = {}
  params.maxResults = M.PAGE_SIZE
  for page in ctx.aws.paginate(op, params) do
    for _, v in ipairs(page[key] or {}) do all[#all + 1] = v end
  end
  return all
end

-- Describe* in batches of `size`, concurrently; returns the described items.
local function describe_all(ctx, op, ids, size, params_of, key)
  local results = {}
  ctx.each(chunks(ids, size), function(chunk, i)
    results[i] = ctx.aws.call(op, params_of(chunk))[key] or {}
  end)
  local all = {}
  for i = 1, #results do
    for _, v in ipairs(results[i]) do all[#all + 1] = v end
  end
  return all
end

local function instance_arn(ctx, id) return ctx.arn("ec2", "instance/" .. id) end

-- "name" from a cluster ARN (arn:...:cluster/<name>) or a plain name.
function M.cluster_name(s)
  if type(s) ~= "string" then return "default" end
  return s:match(":cluster/(.+)$") or s
end

function M.cluster_arn(ctx, s)
  if type(s) == "string" and s:match("^arn:") then return s end
  return ctx.arn("ecs", "cluster/" .. M.cluster_name(s))
end

local function strip_tags(item)
  local t = item.tags
  item.tags = nil
  return t or {}
end

---------------------------------------------------------------------------
-- components

function M.emit_cluster(ctx, cluster)
  return ctx.component {
    type = "aws.ecs.cluster",
    id = cluster.clusterArn,
    name = cluster.clusterName,
    tags = strip_tags(cluster),
    data = cluster,
  }
end

function M.emit_service(ctx, service)
  service.events = nil
  service.clusterName = M.cluster_name(service.clusterArn)
  local id = ctx.component {
    type = "aws.ecs.service",
    id = service.serviceArn,
    name = service.serviceName,
    tags = strip_tags(service),
    data = service,
    identifiers = { "urn:service:/" .. service.serviceName },
  }
  ctx.relation(service.clusterArn, "has", id)
  for _, lb in ipairs(service.loadBalancers or {}) do
    if lb.targetGroupArn then
      ctx.relation(id, "uses", lb.targetGroupArn)
    elseif lb.loadBalancerName then
      ctx.relation(id, "uses", ctx.arn("elasticloadbalancing", "loadbalancer/" .. lb.loadBalancerName))
    end
  end
  return id
end

-- services: { name = service ARN } of the task's cluster; hosts: { container
-- instance ARN = EC2 instance id }.
function M.emit_task(ctx, task, services, hosts)
  task.clusterName = M.cluster_name(task.clusterArn)
  -- the ARN's last segment, anchored: see sqs.lua's queue_name
  task.taskId = task.taskArn:match("^.*/([^/]+)$") or task.taskArn:match("^[^/]+$")
  local id = ctx.component {
    type = "aws.ecs.task",
    id = task.taskArn,
    name = task.taskId,
    tags = strip_tags(task),
    data = task,
  }
  local service_name = type(task.group) == "string" and task.group:match("^service:(.+)$")
  if service_name then ctx.relation(services[service_name], "has", id) end
  local host = task.containerInstanceArn and hosts[task.containerInstanceArn]
  if host then ctx.relation(id, "runs-on", instance_arn(ctx, host)) end
  return id
end

---------------------------------------------------------------------------
-- describing

local function describe_clusters(ctx, arns)
  return describe_all(ctx, "DescribeClusters", arns, M.CLUSTERS_PER_CALL,
    function(chunk) return { clusters = chunk, include = { "TAGS" } } end, "clusters")
end

local function describe_services(ctx, cluster_arn, arns)
  return describe_all(ctx, "DescribeServices", arns, M.SERVICES_PER_CALL,
    function(chunk) return { cluster = cluster_arn, services = chunk, include = { "TAGS" } } end, "services")
end

local function describe_tasks(ctx, cluster_arn, arns)
  return describe_all(ctx, "DescribeTasks", arns, M.TASKS_PER_CALL,
    function(chunk) return { cluster = cluster_arn, tasks = chunk, include = { "TAGS" } } end, "tasks")
end

-- { container instance ARN = EC2 instance id } for the given container instances;
-- nil and the error when a call failed.
local function hosts_of(ctx, cluster_arn, arns)
  local hosts, failed = {}, nil
  ctx.each(chunks(arns, M.INSTANCES_PER_CALL), function(chunk)
    local resp, err = ctx.aws.try("DescribeContainerInstances", { cluster = cluster_arn, containerInstances = chunk })
    failed = failed or err
    for _, ci in ipairs(resp and resp.containerInstances or {}) do
      if ci.containerInstanceArn and ci.ec2InstanceId then hosts[ci.containerInstanceArn] = ci.ec2InstanceId end
    end
  end)
  if failed then return nil, failed end
  return hosts
end

-- The EC2 hosts of a cluster's container instances; a failing call warns and
-- gives none (they only feed runs-on relations).
local function cluster_hosts(ctx, cluster)
  local arns = {}
  local params = { cluster = cluster.clusterArn, maxResults = M.PAGE_SIZE }
  local err = ctx.aws.try_pages("ListContainerInstances", params, function(page)
    for _, a in ipairs(page.containerInstanceArns or {}) do arns[#arns + 1] = a end
  end)
  local hosts
  if not err then hosts, err = hosts_of(ctx, cluster.clusterArn, arns) end
  if not hosts then
    ctx.warn("cluster %s: %s: %s", cluster.clusterName, err.operation or "ListContainerInstances", err.code)
    return {}
  end
  return hosts
end

function M.scan_cluster(ctx, cluster)
  local cluster_id = M.emit_cluster(ctx, cluster)
  local services, tasks, hosts = {}, {}, {}
  ctx.each({ "services", "tasks", "hosts" }, function(what)
    if what == "services" then
      local arns = list_all(ctx, "ListServices", { cluster = cluster_id }, "serviceArns")
      services = describe_services(ctx, cluster_id, arns)
    elseif what == "tasks" then
      local arns = list_all(ctx, "ListTasks", { cluster = cluster_id }, "taskArns")
      tasks = describe_tasks(ctx, cluster_id, arns)
    else
      hosts = cluster_hosts(ctx, cluster)
    end
  end)

  local host_ids = {}
  for _, ec2_id in pairs(hosts) do host_ids[ec2_id] = true end
  for ec2_id in pairs(host_ids) do ctx.relation(cluster_id, "runs-on", instance_arn(ctx, ec2_id)) end

  local by_name = {}
  for _, s in ipairs(services) do by_name[s.serviceName] = M.emit_service(ctx, s) end
  for _, t in ipairs(tasks) do M.emit_task(ctx, t, by_name, hosts) end
end

function M.scan(ctx)
  local arns = list_all(ctx, "ListClusters", {}, "clusterArns")
  ctx.each(describe_clusters(ctx, arns), function(cluster) M.scan_cluster(ctx, cluster) end)
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource ecs.amazonaws.com)

local function describe_cluster(ctx, cluster)
  for _, c in ipairs(describe_clusters(ctx, { M.cluster_arn(ctx, cluster) })) do
    if c.status ~= "INACTIVE" then M.emit_cluster(ctx, c) end
  end
end

local function describe_service(ctx, cluster, service)
  for _, s in ipairs(describe_services(ctx, M.cluster_arn(ctx, cluster), { service })) do
    if s.status ~= "INACTIVE" then M.emit_service(ctx, s) end
  end
end

-- The service a task's group names, in new-format ARNs (service/<cluster>/<name>).
local function services_by_construction(ctx, cluster_name)
  return setmetatable({}, { __index = function(_, name)
    return ctx.arn("ecs", "service/" .. cluster_name .. "/" .. name)
  end })
end

local function describe_tasks_event(ctx, cluster, task_arns)
  local cluster_arn = M.cluster_arn(ctx, cluster)
  local tasks = describe_tasks(ctx, cluster_arn, task_arns)
  local ci = {}
  for _, t in ipairs(tasks) do
    if t.containerInstanceArn then ci[#ci + 1] = t.containerInstanceArn end
  end
  local hosts = {}
  if #ci > 0 then
    local h, err = hosts_of(ctx, cluster_arn, ci)
    if h then
      hosts = h
    else
      ctx.warn("cluster %s: DescribeContainerInstances: %s", M.cluster_name(cluster_arn), err.code)
    end
  end
  local services = services_by_construction(ctx, M.cluster_name(cluster_arn))
  for _, t in ipairs(tasks) do
    if t.lastStatus ~= "STOPPED" then M.emit_task(ctx, t, services, hosts) end
  end
end

-- A task id or ARN from a request, as the task ARN (new format task/<cluster>/<id>).
local function task_arn(ctx, cluster, task)
  if task:match("^arn:") then return task end
  return ctx.arn("ecs", "task/" .. M.cluster_name(cluster) .. "/" .. task)
end

local function on_cluster(ctx, e)
  local r, p = e.responseElements or {}, e.requestParameters or {}
  local c = (r.cluster and r.cluster.clusterArn) or p.cluster or p.clusterName
  if c then describe_cluster(ctx, c) end
end

local function on_service(ctx, e)
  local r, p = e.responseElements or {}, e.requestParameters or {}
  local s = r.service or {}
  local service = s.serviceArn or p.service or p.serviceName
  if service then describe_service(ctx, s.clusterArn or p.cluster, service) end
end

local function on_run_task(ctx, e)
  local r, p = e.responseElements or {}, e.requestParameters or {}
  local arns, cluster = {}, p.cluster
  for _, t in ipairs(r.tasks or {}) do
    arns[#arns + 1] = t.taskArn
    cluster = t.clusterArn or cluster
  end
  if #arns > 0 then describe_tasks_event(ctx, cluster, arns) end
end

local function container_host(ctx, e)
  local r, p = e.responseElements or {}, e.requestParameters or {}
  local ci = r.containerInstance or {}
  if not ci.ec2InstanceId then return nil end
  return M.cluster_arn(ctx, p.cluster), instance_arn(ctx, ci.ec2InstanceId)
end

local function on_tags(ctx, e)
  local a = (e.requestParameters or {}).resourceArn
  if type(a) ~= "string" then return end
  local kind, rest = a:match(":(%a+)/(.+)$")
  if kind == "cluster" then
    describe_cluster(ctx, a)
  elseif kind == "service" then
    local cluster = rest:match("^([^/]+)/") or "default"
    describe_service(ctx, cluster, a)
  elseif kind == "task" then
    local cluster = rest:match("^([^/]+)/") or "default"
    describe_tasks_event(ctx, cluster, { a })
  end
end

M.events = {
  CreateCluster = on_cluster,
  UpdateCluster = on_cluster,
  UpdateClusterSettings = on_cluster,
  PutClusterCapacityProviders = on_cluster,
  CreateService = on_service,
  UpdateService = on_service,
  RunTask = on_run_task,
  StartTask = on_run_task,
  TagResource = on_tags,
  UntagResource = on_tags,

  DeleteCluster = function(ctx, e)
    local r, p = e.responseElements or {}, e.requestParameters or {}
    local c = (r.cluster and r.cluster.clusterArn) or p.cluster
    if c then ctx.delete(M.cluster_arn(ctx, c)) end
  end,
  DeleteService = function(ctx, e)
    local r, p = e.responseElements or {}, e.requestParameters or {}
    local s = r.service and r.service.serviceArn
    if not s and p.service then
      s = p.service:match("^arn:") and p.service
          or ctx.arn("ecs", "service/" .. M.cluster_name(p.cluster) .. "/" .. p.service)
    end
    ctx.delete(s)
  end,
  StopTask = function(ctx, e)
    local r, p = e.responseElements or {}, e.requestParameters or {}
    local t = r.task and r.task.taskArn
    if not t and p.task then t = task_arn(ctx, p.cluster, p.task) end
    ctx.delete(t)
  end,
  RegisterContainerInstance = function(ctx, e)
    local cluster, host = container_host(ctx, e)
    ctx.relation(cluster, "runs-on", host)
  end,
  DeregisterContainerInstance = function(ctx, e)
    local cluster, host = container_host(ctx, e)
    ctx.delete_relation(cluster, "runs-on", host)
  end,
}

-- the cluster an event is about (only the newest event per cluster of a batch is handled)
M.event_resource = {
  UpdateCluster = "cluster", UpdateClusterSettings = "cluster", PutClusterCapacityProviders = "cluster",
  DeleteCluster = "cluster",
}

return M
