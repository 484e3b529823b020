-- one child of ctx.each fails: the run fails with that error, naming the line
return { service = "sqs", calls = { "ListQueues" }, types = { ["t"] = { layer = "L" } }, scan = function(ctx)
  ctx.each({ 1, 2, 3 }, function(n)
    if n == 2 then ctx.aws.call("ListQueues", { QueueNamePrefix = "missing" }) end
    ctx.component { type = "t", id = "c" .. n }
  end)
end }
