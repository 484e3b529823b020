-- a call of a service no model on the path has
return {
  service = "sqs",
  calls = { "ListQueues", "nosuchservice:ListThings" },
  types = {},
  scan = function() end,
}
