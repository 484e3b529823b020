-- a mapping that eats memory: the memory limit stops it
return { service = "sqs", calls = {}, types = {}, scan = function()
  local t = {}
  for i = 1, 1e9 do t[i] = ("x"):rep(64) .. i end
end }
