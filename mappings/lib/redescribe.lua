-- lib/redescribe.lua -- event handlers' "describe these ids again".
--
-- After a CloudTrail event the resource it names is described again and
-- emitted. A describe of several ids fails as a whole when one of them is
-- gone (EC2's InvalidXxxID.NotFound), so the batch is retried one id at a
-- time; an id that is not found any more is sent as deleted, with a warning.
--
--   redescribe.ids(ctx, kind, ids)   kind = { op, param, notfound, emit, arn, name }
--     op        the describe operation ("DescribeInstances")
--     param     its id-list parameter ("InstanceIds")
--     notfound  the error code of a missing id ("InvalidInstanceID.NotFound")
--     emit      function(ctx, response) that emits what was described
--     arn       function(ctx, id) -> the externalId the scan emits for it
--     name      what to call it in warnings ("instance")

local M = {}

function M.ids(ctx, kind, ids)
  if #ids == 0 then return end
  local result, err = ctx.aws.try(kind.op, { [kind.param] = ids })
  if result then return kind.emit(ctx, result) end
  if err.code ~= kind.notfound then error(err, 0) end
  if #ids > 1 then   -- one of them is gone: find out which
    return ctx.each(ids, function(id) M.ids(ctx, kind, { id }) end)
  end
  ctx.warn("%s %s: %s, sent as deleted", kind.name, ids[1], err.code)
  ctx.delete(kind.arn(ctx, ids[1]))
end

return M
