-- a mapping with a syntax error
return { service = "sqs", calls = {}, scan = function(ctx) if then end }
