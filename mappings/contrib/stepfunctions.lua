-- mappings/contrib/stepfunctions.lua -- AWS Step Functions state machines.
--
-- The example of docs/writing-a-mapping.md, shipped as an extra mapping: it
-- is not on the mapping path by default; scan it with
--   awstopo scan --mappings mappings/contrib --services stepfunctions
--
-- One component per state machine, with its description (DescribeStateMachine:
-- type, status, role, logging; the definition itself is left out: it can be
-- large and holds the workflow, not the topology) and tags. A state machine
-- `uses` each Lambda function its definition invokes, directly
-- ("Resource": "<function ARN>") or through the lambda:invoke integration
-- ("Parameters": { "FunctionName": "<function ARN>" }).
--
-- Calls: 1 ListStateMachines per 1000 state machines + 1 DescribeStateMachine
-- and 1 ListTagsForResource per state machine.

local arn = require("arn")

local M = {
  service = "stepfunctions",
  scope = "regional",
  calls = { "ListStateMachines", "DescribeStateMachine", "ListTagsForResource" },

  types = {
    ["aws.stepfunctions.statemachine"] = {
      layer = "Serverless",
      views = { "all", "serverless" },
      action = {
        name = "Go to Step Functions console",
        url = "{console}/states/home?region={region}#/statemachines/view/{id|url}",
      },
      cloudwatch = {
        namespace = "AWS/States",
        dimensions = { StateMachineArn = "{id}" },
        metrics = {
          ExecutionsFailed = { stat = "Sum", unit = "Count" },
          ExecutionsTimedOut = { stat = "Sum", unit = "Count" },
          ExecutionTime = { stat = "Average", unit = "Milliseconds" },
        },
        default = { "ExecutionsFailed" },
      },
    },
  },
}

-- Every Lambda function the states of a definition (and of its Parallel
-- branches and Map iterators) invoke, as unqualified function ARNs.
local function invoked_functions(states, out)
  for _, state in pairs(states or {}) do
    if type(state) == "table" then
      local fn = type(state.Resource) == "string" and arn.lambda_function(state.Resource)
      local params = type(state.Parameters) == "table" and state.Parameters or {}
      fn = fn or (type(params.FunctionName) == "string" and arn.lambda_function(params.FunctionName))
      if fn then out[fn] = true end
      for _, branch in ipairs(type(state.Branches) == "table" and state.Branches or {}) do
        invoked_functions(branch.States, out)
      end
      local iterator = state.ItemProcessor or state.Iterator
      if type(iterator) == "table" then invoked_functions(iterator.States, out) end
    end
  end
  return out
end

local function definition_functions(text)
  local ok, definition = pcall(json.decode, text or "")
  if not ok or type(definition) ~= "table" then return {} end
  return invoked_functions(definition.States, {})
end

-- Emits one state machine (its ARN); nothing when it is gone.
function M.describe_state_machine(ctx, machine_arn)
  local d = ctx.aws.call("DescribeStateMachine", { stateMachineArn = machine_arn },
    { gone = "StateMachineDoesNotExist" })
  if not d then return end
  local tags, err = ctx.aws.try("ListTagsForResource", { resourceArn = machine_arn })
  if not tags then ctx.warn("state machine %s: ListTagsForResource: %s", machine_arn, err.code) end
  local functions = definition_functions(d.definition)
  d.definition = nil
  local id = ctx.component {
    type = "aws.stepfunctions.statemachine",
    id = machine_arn,
    name = d.name,
    data = d,
    tags = tags and tags.tags,
  }
  local sorted = {}
  for fn in pairs(functions) do sorted[#sorted + 1] = fn end
  table.sort(sorted)
  for _, fn in ipairs(sorted) do ctx.relation(id, "uses", fn) end
end

function M.scan(ctx)
  for page in ctx.aws.paginate("ListStateMachines", { maxResults = 1000 }) do
    ctx.each(page.stateMachines, function(m) M.describe_state_machine(ctx, m.stateMachineArn) end)
  end
end

local function changed(ctx, e)
  M.describe_state_machine(ctx, e.requestParameters.stateMachineArn or e.requestParameters.resourceArn)
end

M.events = {
  CreateStateMachine = function(ctx, e)
    M.describe_state_machine(ctx, e.responseElements.stateMachineArn)
  end,
  UpdateStateMachine = changed,
  TagResource = changed,
  UntagResource = changed,
  DeleteStateMachine = function(ctx, e)
    ctx.delete(e.requestParameters.stateMachineArn)
  end,
}

M.event_resource = {
  UpdateStateMachine = "stateMachineArn", DeleteStateMachine = "stateMachineArn",
  TagResource = "resourceArn", UntagResource = "resourceArn",
}

return M
