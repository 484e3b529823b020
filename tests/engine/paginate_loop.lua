-- a service that returns the same token forever: pagination stops with an error
return { service = "sqs", calls = { "ListQueues" }, types = {}, scan = function(ctx)
  for _ in ctx.aws.paginate("ListQueues") do end
end }
