-- a mapping calling an operation its `calls` does not declare
return { service = "sqs", calls = { "ListQueues" }, types = {}, scan = function(ctx)
  ctx.aws.call("DeleteQueue", { QueueUrl = "x" })
end }
