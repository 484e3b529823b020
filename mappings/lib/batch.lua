-- lib/batch.lua -- cutting lists for batch APIs.
--
-- Many describe and tag calls take a bounded number of names or ARNs (ELB
-- DescribeTags 20, ECS DescribeServices 10, Route 53 ListTagsForResources 10).
-- chunks() cuts a list into such batches without losing the last partial one.

local M = {}

-- { a, b, c, d, e }, 2 -> { {a, b}, {c, d}, {e} }
function M.chunks(list, size)
  local out = {}
  for i = 1, #list, size do
    out[#out + 1] = table.move(list, i, math.min(i + size - 1, #list), 1, {})
  end
  return out
end

return M
