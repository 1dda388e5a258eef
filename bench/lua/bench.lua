-- One wrk script for every operation of bench/drive.py.
--
-- The method, the body and the answer expected come from the environment:
--   BENCH_METHOD    GET (default) or POST
--   BENCH_BODY      the request body (POST)
--   BENCH_UNIQUE    a word of the body replaced by a counter in every request, so no two
--                   created tickets have the same title
--   BENCH_EXPECT    "2xx" (default): any 2xx status; "302": a redirect ...
--   BENCH_LOCATION  ... whose Location header contains this text
-- Every other answer is counted as bad and reported by done(), with the first one seen:
-- a benchmark of error pages or of the sign-in page is worthless.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local unique = os.getenv("BENCH_UNIQUE")
local expect = os.getenv("BENCH_EXPECT") or "2xx"
local location = os.getenv("BENCH_LOCATION")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  first_bad = ""
  counter = 0
  prefix = tostring(os.time())
  wrk.method = method
  if body then
    wrk.body = body
  end
end

function request()
  if unique and body then
    counter = counter + 1
    return wrk.format(nil, nil, nil, (body:gsub(unique, prefix .. "-" .. counter)))
  end
  return wrk.request()
end

function response(status, headers, body)
  local ok
  if expect == "302" then
    local target = headers["Location"] or headers["location"] or ""
    ok = status == 302 and (location == nil or string.find(target, location, 1, true) ~= nil)
  else
    ok = status >= 200 and status < 300
  end
  if not ok then
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. (headers["Location"] or "")
    end
  end
end

function done(summary, latency, requests)
  local total_bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
    local seen = thread:get("first_bad")
    if seen and seen ~= "" then
      sample = seen
    end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d bad=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    total_bad, e.connect + e.read + e.write + e.timeout))
  if sample ~= "" then
    io.write("BENCH_FIRST_BAD " .. sample .. "\n")
  end
end
