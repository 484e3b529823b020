-- a component of an undeclared type
return { service = "sqs", calls = {}, types = {}, scan = function(ctx)
  ctx.component { type = "aws.nope", id = "x" }
end }
