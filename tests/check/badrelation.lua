-- a relation type neither docs/relations.md nor the mapping's `relations` has
return {
  service = "sqs",
  calls = {},
  types = { ["aws.sqs.queue"] = { layer = "Queues" } },
  relations = { "feeds" },
  scan = function(ctx)
    local id = ctx.component{ type = "aws.sqs.queue", id = "q" }
    ctx.relation(id, "feeds", "other")
    ctx.relation(id, "runs-as", "role")
  end,
}
