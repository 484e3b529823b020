-- call.lua -- the task behind `awstopo call` (core/cmd_call.c runs it), and
-- behind the core's own calls (aws_json.c: one call, no paginate).
--
-- Given P (lua_api.h), service, op, params, region, paginate, page_size and
-- max_items: calls once, or follows the pages and merges them as the AWS CLI
-- does: the paginator's result keys concatenated, the rest from the first
-- page, tokens dropped. page_size sets the paginator's limit key; max_items
-- stops once the first result key holds that many items.
local P, service, op, params, region, paginate, page_size, max_items = ...

local function append_pages(result, page, keys)
  for _, k in ipairs(keys) do
    if type(page[k]) == "table" then
      result[k] = result[k] or json.array()
      for _, v in ipairs(page[k]) do result[k][#result[k] + 1] = v end
    end
  end
end

-- Cuts every result key to max_items; true when the first one reached it.
local function enough(result, keys)
  local first = keys[1] and result[keys[1]]
  if not (max_items and type(first) == "table" and #first >= max_items) then return false end
  for _, k in ipairs(keys) do
    local list = result[k]
    if type(list) == "table" then
      for i = #list, max_items + 1, -1 do list[i] = nil end
    end
  end
  return true
end

if not paginate then return P.call(service, op, params, region) end
local pg = P.paginator(service, op) or {}
local keys = pg.result_keys or {}
local p = {}
for k, v in pairs(params) do p[k] = v end
if page_size and pg.limit_key then p[pg.limit_key] = page_size end
local result, seen = nil, {}
while p do
  local page = P.call(service, op, p, region)
  if not result then result = page else append_pages(result, page, keys) end
  if enough(result, keys) then break end
  p = P.next_params(service, op, p, page, seen)
end
for _, t in ipairs(pg.output_tokens or {}) do result[t] = nil end
if pg.more_results then result[pg.more_results] = nil end
return result
