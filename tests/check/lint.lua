-- luacheck's findings: an unused variable, an undefined global
return {
  service = "sqs",
  calls = {},
  types = {},
  scan = function()
    local unused = 1
    undefined_global()
  end,
}
