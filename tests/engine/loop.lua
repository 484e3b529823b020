-- a mapping that never ends: the instruction budget stops it
return { service = "sqs", calls = {}, types = {}, scan = function() while true do end end }
