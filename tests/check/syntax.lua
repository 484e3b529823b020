-- does not load
return {
  service = "sqs",
  scan = function() if then end,
}
