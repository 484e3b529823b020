-- a component type used but not declared (a typo)
return {
  service = "sqs",
  calls = {},
  types = { ["aws.sqs.queue"] = { layer = "Queues" } },
  scan = function(ctx)
    ctx.component{ type = "aws.sqs.queu", id = "q" }
  end,
}
