-- ctx.each runs children; their components all arrive
return { service = "sqs", calls = { "ListQueues" }, types = { ["t"] = { layer = "L" } }, scan = function(ctx)
  local items = {}
  for i = 1, 50 do items[i] = i end
  ctx.each(items, function(n, i)
    ctx.component { type = "t", id = "c" .. n, data = { index = i } }
  end)
  ctx.relation("c1", "uses", "c2")
end }
