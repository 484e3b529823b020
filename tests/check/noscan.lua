-- no scan function
return { service = "sqs", calls = {}, types = {} }
