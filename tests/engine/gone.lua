-- opts.gone of ctx.aws.call / try / try_pages, and ctx.delete_relation: a gone
-- code gives nil, any other error still counts; the relation id to delete is
-- lib/topology.lua's. The last call is denied, and the run must fail with it.
local GONE = { gone = "AWS.SimpleQueueService.NonExistentQueue" }

return { service = "sqs", calls = { "GetQueueUrl", "GetQueueAttributes", "ListQueues" },
  types = { t = { layer = "L" } },
  scan = function(ctx)
    assert(ctx.aws.call("GetQueueUrl", { QueueName = "gone" }, GONE) == nil, "call: gone gives nil")
    local r, err = ctx.aws.try("GetQueueUrl", { QueueName = "gone" }, { gone = { "Other", GONE.gone } })
    assert(r == nil and err == nil, "try: gone gives nil and no error")
    r, err = ctx.aws.try("GetQueueAttributes", { QueueUrl = "denied" }, GONE)
    assert(r == nil and err.code == "AccessDenied", "try: other codes are errors")
    assert(ctx.aws.try_pages("ListQueues", {}, function() end, { gone = "AccessDenied" }) == nil, "try_pages: gone")
    assert(ctx.aws.try_pages("ListQueues", {}, function() end).code == "AccessDenied", "try_pages: an error")
    ctx.component { type = "t", id = "a" }
    ctx.delete_relation("a", "uses", "b")
    ctx.delete_relation(nil, "uses", "b")
    ctx.aws.call("GetQueueAttributes", { QueueUrl = "denied" }, GONE)
  end }
