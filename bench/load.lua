-- wrk script for bench/load.py: each connection walks the URL list from its own starting point,
-- so all connections together ask for every URL, not the same one at once.
local paths = {}
for line in io.lines(os.getenv("CLT_URLS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  n = offset or 0
end

function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
