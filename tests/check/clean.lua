-- a mapping `awstopo mappings check` finds nothing wrong with
return {
  service = "sqs",
  calls = { "ListQueues" },
  types = { ["aws.sqs.queue"] = { layer = "Queues" } },
  scan = function(ctx)
    for page in ctx.aws.paginate("ListQueues", {}) do
      for _, url in ipairs(page.QueueUrls or {}) do
        local id = ctx.component{ type = "aws.sqs.queue", id = url }
        ctx.relation(id, "uses", url .. "-dlq")
      end
    end
  end,
  events = { CreateQueue = function(ctx, event) ctx.log("%s", event.eventName) end },
}
