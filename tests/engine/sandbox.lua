-- a mapping probing the sandbox: every escape must be closed
return { service = "sqs", calls = {}, types = { ["t"] = { layer = "L" } }, scan = function(ctx)
  local open = {}
  for _, name in ipairs({ "io", "package", "debug", "coroutine", "dofile", "loadfile", "print", "collectgarbage" }) do
    if _G[name] ~= nil then open[#open + 1] = name end
  end
  if os.execute or os.getenv or os.remove or os.exit then open[#open + 1] = "os" end
  local ok = pcall(load, "\27Lua")   -- bytecode
  local fn = load("\27Lua")
  if fn then open[#open + 1] = "bytecode" end
  local req_ok = pcall(require, "../../etc/passwd")
  if req_ok then open[#open + 1] = "require-escape" end
  ctx.component { type = "t", id = "sandbox", name = #open == 0 and "closed" or table.concat(open, ","),
                  data = { load_ok = ok } }
end }
