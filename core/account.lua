-- account.lua -- what a scan asks AWS about an account before its mappings
-- run (core/cmd_scan.c runs it outside any mapping).
--
-- Given P (lua_api.h) and what to find:
--   "id"       the account id (sts GetCallerIdentity)
--   "regions"  the regions enabled for the account, sorted and joined by ","
--              (ec2 DescribeRegions, as the console lists them)
-- Returns a string; an AWS error is raised as it is.
local P, what = ...

if what == "id" then
  return P.call("sts", "GetCallerIdentity", {}, nil).Account
end
if what == "regions" then
  local out = {}
  for _, r in ipairs(P.call("ec2", "DescribeRegions", {}, nil).Regions or {}) do
    out[#out + 1] = r.RegionName
  end
  table.sort(out)
  return table.concat(out, ",")
end
error("account.lua: nothing to find called " .. tostring(what))
