-- an event handler for an event SQS never emits (checked with a full model)
return {
  service = "sqs",
  calls = {},
  types = {},
  scan = function() end,
  events = {
    CreateQueue = function() end,
    CreateQueu = function() end,
  },
}
