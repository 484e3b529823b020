-- lib/values.lua -- telling a value AWS returned from one it left out.
--
-- AWS leaves a member out, sends it null, or sends "" for "none" (a DB
-- instance outside a VPC, an instance without a private DNS name). Mappings
-- draw a relation or an identifier only for a value that is present.

local M = {}

-- A non-empty string.
function M.present(s)
  return type(s) == "string" and s ~= ""
end

-- The present ones of its arguments, as a list (holes and "" dropped).
function M.present_list(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if M.present(v) then out[#out + 1] = v end
  end
  return out
end

return M
