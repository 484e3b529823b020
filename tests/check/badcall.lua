-- a declared call the sqs model does not have (a typo)
return {
  service = "sqs",
  calls = {
    "ListQueus",
  },
  types = {},
  scan = function() end,
}
