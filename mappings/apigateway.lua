-- mappings/apigateway.lua -- Amazon API Gateway REST APIs (v1).
--
-- Components (ids are API Gateway's resource ARNs, which have no account)
--   aws.apigateway.rest-api  arn:<p>:apigateway:<region>::/restapis/<id>
--   aws.apigateway.stage     .../restapis/<id>/stages/<stage name>
--   aws.apigateway.resource  .../restapis/<id>/resources/<resource id>
--   aws.apigateway.method    .../restapis/<id>/resources/<resource id>/methods/<VERB>
-- The API and its stages carry their invoke URLs as identifiers
-- (https://<id>.execute-api.<region>.<dns suffix>[/<stage>]).
--
-- Relations
--   REST API has stage; REST API has resource; resource has method
--   method routes-to its integration target:
--     AWS / AWS_PROXY to Lambda (uri ...:lambda:path/<version>/functions/<fn arn>/invocations)
--                                     -> the function's unqualified ARN (aliases and
--                                        versions are drawn on the function itself)
--     AWS to SQS (uri ...:sqs:path/<account>/<queue>) -> the queue's ARN
--     HTTP / HTTP_PROXY              -> "urn:url:/<integration url>", an end outside the
--                                       scan (docs/relations.md)
--   Integrations that name their target through stage variables (${stageVariables.x}),
--   MOCK integrations and other AWS service integrations draw nothing.
--
-- Calls: GetRestApis (500 a page); per API GetStages (1) and GetResources (500 a page,
-- embed=methods, so the methods and their integrations come with the resources and
-- GetMethod is only needed for a method the response did not embed).
-- Events: GetRestApi, GetResource for the API or resource an event names. Deletes
-- delete the named API / stage / resource / method only: what went with it (the
-- stages and resources of a deleted API, the methods of a deleted resource, the old
-- target of a changed integration) goes with the next full scan's snapshot.

-- an API and each of its stages report the same metrics (the stage's with a Stage dimension)
local API_METRICS = {
  Count              = { stat = "Sum", unit = "Count" },
  ["4XXError"]       = { stat = "Sum", unit = "Count" },
  ["5XXError"]       = { stat = "Sum", unit = "Count" },
  Latency            = { stat = "Average", unit = "Milliseconds" },
  IntegrationLatency = { stat = "Average", unit = "Milliseconds" },
}
local API_DEFAULT = { "Count", "5XXError", "Latency" }

local M = {
  service = "apigateway",
  scope = "regional",
  calls = { "GetRestApis", "GetStages", "GetResources", "GetMethod", "GetRestApi", "GetResource" },

  types = {
    ["aws.apigateway.rest-api"] = {
      layer = "Services",
      views = { "all" },
      action = {
        name = "Go to API Gateway console",
        url = "{console}/apigateway/main/apis/{restApiId|url}/resources?api={restApiId|url}&region={region}",
      },
      cloudwatch = {
        namespace = "AWS/ApiGateway",
        dimensions = { ApiName = "{restApiName}" },
        metrics = API_METRICS,
        default = API_DEFAULT,
      },
    },
    ["aws.apigateway.stage"] = {
      layer = "Services",
      views = { "all" },
      action = {
        name = "Go to API Gateway console",
        url = "{console}/apigateway/main/apis/{restApiId|url}/stages?api={restApiId|url}&region={region}",
      },
      cloudwatch = {
        namespace = "AWS/ApiGateway",
        dimensions = { ApiName = "{restApiName}", Stage = "{stageName}" },
        metrics = API_METRICS,
        default = API_DEFAULT,
      },
    },
    ["aws.apigateway.resource"] = {
      layer = "Services",
      views = { "all" },
      action = {
        name = "Go to API Gateway console",
        url = "{console}/apigateway/main/apis/{restApiId|url}/resources?api={restApiId|url}&region={region}",
      },
    },
    ["aws.apigateway.method"] = {
      layer = "Services",
      views = { "all" },
      action = {
        name = "Go to API Gateway console",
        url = "{console}/apigateway/main/apis/{restApiId|url}/resources?api={restApiId|url}&region={region}",
      },
    },
  },
}

local PAGE_SIZE = 500     -- GetRestApis / GetResources: limit maximum
local DNS_SUFFIX = { ["aws-cn"] = "amazonaws.com.cn" }
local GONE = { gone = "NotFoundException" }   -- an API or resource deleted meanwhile

local function copy(t)
  return table.clone(t or {})
end

function M.api_arn(ctx, api_id)
  return ctx.arn("apigateway", "/restapis/" .. api_id, { account = "" })
end

local function stage_arn(ctx, api_id, stage) return M.api_arn(ctx, api_id) .. "/stages/" .. stage end
local function resource_arn(ctx, api_id, rid) return M.api_arn(ctx, api_id) .. "/resources/" .. rid end
local function method_arn(ctx, api_id, rid, verb) return resource_arn(ctx, api_id, rid) .. "/methods/" .. verb end

local function invoke_url(ctx, api_id)
  return ("https://%s.execute-api.%s.%s"):format(api_id, ctx.region, DNS_SUFFIX[ctx.partition] or "amazonaws.com")
end

---------------------------------------------------------------------------
-- integration targets

local function lambda_target(uri)
  local fn = uri:match(":lambda:path/[^/]+/functions/(arn:[^/]+)/invocations$")
  fn = fn and fn:match("^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+)")
  if fn and not fn:find("${", 1, true) then return fn end
  return nil
end

local function sqs_target(ctx, uri)
  local region, account, queue = uri:match("^arn:[^:]+:apigateway:([^:]+):sqs:path/(%d+)/([^/?]+)$")
  if queue and not queue:find("${", 1, true) then
    return ctx.arn("sqs", queue, { region = region, account = account })
  end
  return nil
end

-- The id a method's integration routes to, or nil.
function M.integration_target(ctx, integration)
  if type(integration) ~= "table" or type(integration.uri) ~= "string" then return nil end
  local kind, uri = integration.type, integration.uri
  if kind == "AWS" or kind == "AWS_PROXY" then
    return lambda_target(uri) or sqs_target(ctx, uri)
  elseif (kind == "HTTP" or kind == "HTTP_PROXY") and not uri:find("${", 1, true) then
    return "urn:url:/" .. uri
  end
  return nil
end

---------------------------------------------------------------------------
-- components

local function emit_api(ctx, api)
  local data = copy(api)
  data.tags = nil
  data.restApiId, data.restApiName = api.id, api.name
  return ctx.component {
    type = "aws.apigateway.rest-api",
    id = M.api_arn(ctx, api.id),
    name = api.name,
    data = data,
    tags = api.tags or {},
    identifiers = { invoke_url(ctx, api.id) },
  }
end

local function emit_stage(ctx, api, stage)
  local data = copy(stage)
  data.tags = nil
  data.restApiId, data.restApiName = api.id, api.name
  local id = ctx.component {
    type = "aws.apigateway.stage",
    id = stage_arn(ctx, api.id, stage.stageName),
    name = api.name .. " " .. stage.stageName,
    data = data,
    tags = stage.tags or {},
    identifiers = { invoke_url(ctx, api.id) .. "/" .. stage.stageName },
  }
  ctx.relation(M.api_arn(ctx, api.id), "has", id)
end

-- A method as the resource embedded it, or from GetMethod when it was not embedded.
local function full_method(ctx, api, resource, verb, method)
  if type(method) == "table" and method.httpMethod then return method end
  local got, err = ctx.aws.try("GetMethod", { restApiId = api.id, resourceId = resource.id, httpMethod = verb })
  if got then return got end
  ctx.warn("API %s resource %s method %s: GetMethod: %s", api.id, resource.id, verb, err.code)
  return { httpMethod = verb }
end

local function emit_method(ctx, api, resource, verb, method)
  method = full_method(ctx, api, resource, verb, method)
  local data = copy(method)
  data.restApiId, data.restApiName = api.id, api.name
  data.resourceId, data.path = resource.id, resource.path
  local id = ctx.component {
    type = "aws.apigateway.method",
    id = method_arn(ctx, api.id, resource.id, verb),
    name = api.name .. " " .. verb .. " " .. tostring(resource.path),
    data = data,
  }
  ctx.relation(resource_arn(ctx, api.id, resource.id), "has", id)
  ctx.relation(id, "routes-to", M.integration_target(ctx, method.methodIntegration))
end

local function emit_resource(ctx, api, resource)
  local data = copy(resource)
  data.resourceMethods = nil       -- each method is a component of its own
  data.restApiId, data.restApiName = api.id, api.name
  local id = ctx.component {
    type = "aws.apigateway.resource",
    id = resource_arn(ctx, api.id, resource.id),
    name = api.name .. " " .. tostring(resource.path),
    data = data,
  }
  ctx.relation(M.api_arn(ctx, api.id), "has", id)
  local verbs = {}
  for verb in pairs(resource.resourceMethods or {}) do verbs[#verbs + 1] = verb end
  table.sort(verbs)
  for _, verb in ipairs(verbs) do emit_method(ctx, api, resource, verb, resource.resourceMethods[verb]) end
end

---------------------------------------------------------------------------
-- calls


local function scan_stages(ctx, api)
  local resp, err = ctx.aws.try("GetStages", { restApiId = api.id })
  if not resp then
    ctx.warn("API %s: GetStages: %s", api.id, err.code)
    return
  end
  for _, stage in ipairs(resp.item or {}) do emit_stage(ctx, api, stage) end
end

local function scan_resources(ctx, api)
  local params = { restApiId = api.id, embed = { "methods" }, limit = PAGE_SIZE }
  local err = ctx.aws.try_pages("GetResources", params, function(page)
    for _, resource in ipairs(page.items or {}) do emit_resource(ctx, api, resource) end
  end)
  if err then ctx.warn("API %s: GetResources: %s", api.id, err.code) end
end

function M.describe_api(ctx, api)
  emit_api(ctx, api)
  scan_stages(ctx, api)
  scan_resources(ctx, api)
end

function M.scan(ctx)
  for page in ctx.aws.paginate("GetRestApis", { limit = PAGE_SIZE }) do
    ctx.each(page.items, function(api) M.describe_api(ctx, api) end)
  end
end

---------------------------------------------------------------------------
-- events (CloudTrail, eventSource apigateway.amazonaws.com)

-- The API, or nil when it is gone.
local function get_api(ctx, api_id)
  if not api_id then return nil end
  return ctx.aws.call("GetRestApi", { restApiId = api_id }, GONE)
end

local function req(e) return e.requestParameters or {} end

-- An API created, imported, replaced or changed: everything again.
local function on_api(ctx, e)
  local api = get_api(ctx, req(e).restApiId or (e.responseElements or {}).id)
  if api then M.describe_api(ctx, api) end
end

-- A stage created or changed: the API and its stages.
local function on_stage(ctx, e)
  local api = get_api(ctx, req(e).restApiId)
  if api then
    emit_api(ctx, api)
    scan_stages(ctx, api)
  end
end

-- A resource, method or integration created or changed: that resource again.
local function on_resource(ctx, e)
  local p = req(e)
  local rid = p.resourceId or (e.eventName == "CreateResource" and (e.responseElements or {}).id) or nil
  local api = get_api(ctx, p.restApiId)
  if not (api and rid) then return end
  local resource = ctx.aws.call("GetResource", { restApiId = api.id, resourceId = rid, embed = { "methods" } }, GONE)
  if resource then emit_resource(ctx, api, resource) end
end

-- TagResource / UntagResource name the API or stage by ARN.
local function on_tags(ctx, e)
  local api_id = tostring(req(e).resourceArn or ""):match("^arn:[^:]+:apigateway:[^:]*::/restapis/([^/]+)")
  if api_id then on_stage(ctx, { requestParameters = { restApiId = api_id } }) end
end

M.events = {
  CreateRestApi = on_api, ImportRestApi = on_api, PutRestApi = on_api, UpdateRestApi = on_api,
  CreateStage = on_stage, UpdateStage = on_stage,
  CreateResource = on_resource, UpdateResource = on_resource,
  PutMethod = on_resource, UpdateMethod = on_resource,
  PutIntegration = on_resource, UpdateIntegration = on_resource, DeleteIntegration = on_resource,
  TagResource = on_tags, UntagResource = on_tags,
  DeleteRestApi = function(ctx, e)
    ctx.delete(M.api_arn(ctx, req(e).restApiId))
  end,
  DeleteStage = function(ctx, e)
    local p = req(e)
    ctx.delete(stage_arn(ctx, p.restApiId, p.stageName))
  end,
  DeleteResource = function(ctx, e)
    local p = req(e)
    ctx.delete(resource_arn(ctx, p.restApiId, p.resourceId))
  end,
  DeleteMethod = function(ctx, e)
    local p = req(e)
    ctx.delete(method_arn(ctx, p.restApiId, p.resourceId, p.httpMethod))
  end,
}

-- the API, stage, resource or method an event is about (only the newest event
-- per one of them in a batch is handled)
local API_EVENTS = { UpdateRestApi = true, PutRestApi = true, DeleteRestApi = true }
function M.event_resource(e)
  local p, name = req(e), e.eventName
  if type(p.restApiId) ~= "string" then return nil end
  if API_EVENTS[name] then return "api:" .. p.restApiId end
  if name:find("Stage$") and p.stageName then return "stage:" .. p.restApiId .. "/" .. p.stageName end
  if name == "DeleteMethod" and p.resourceId and p.httpMethod then
    return "method:" .. p.restApiId .. "/" .. p.resourceId .. "/" .. p.httpMethod
  end
  if M.events[name] and name ~= "CreateResource" and name ~= "DeleteMethod" and p.resourceId then
    return "resource:" .. p.restApiId .. "/" .. p.resourceId
  end
  return nil
end

return M
