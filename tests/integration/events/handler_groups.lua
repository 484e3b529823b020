-- handler_groups.lua -- which event names of a mapping share one handler.
--
-- lua5.4 tests/integration/events/handler_groups.lua NAME...  (from the repository root)
-- prints "mapping<TAB>event name<TAB>handler number" for every handler of
-- the mappings named: names with the same number call the same function.
-- test_events.py uses it to send every event name through `events process`
-- with a fixture case of another name of the same handler. The mappings are
-- loaded as plain Lua (their load-time code only builds tables).
package.path = "mappings/lib/?.lua;" .. package.path
json = {   -- luacheck: ignore 111
  null = setmetatable({}, {}),
  array = function(t) return t or {} end,
}

local out = {}
for _, name in ipairs(arg) do
  local M = dofile("mappings/" .. name .. ".lua")
  local ids, n = {}, 0
  for event, fn in pairs(M.events or {}) do
    if not ids[fn] then
      n = n + 1
      ids[fn] = n
    end
    out[#out + 1] = ("%s\t%s\t%d"):format(name, event, ids[fn])
  end
end
table.sort(out)
print(table.concat(out, "\n"))
