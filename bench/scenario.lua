-- One wrk script for every scenario. bench/run.py writes a request file per wrk thread
-- (<prefix>.<thread number>), tab-separated:
--   S  <session>  <cookie header value>  <csrf token>        a signed-in clinician
--   G  <session>  <hx 0|1>  <path>                           a GET
--   P  <session>  <goal id>  <version>  <path>  <form body>  a goal save; {V} in the body is
--                                                            replaced by the goal's version
-- Requests are sent round-robin. A goal appears in one thread's file only, and its version is
-- counted up locally after each save, so a stale version (409) is a real error.
-- done() prints one line "BENCH_JSON {...}" with the figures bench/run.py reads.

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function fields(line)
  local out, start = {}, 1
  while true do
    local tab = string.find(line, "\t", start, true)
    if not tab then
      table.insert(out, string.sub(line, start))
      return out
    end
    table.insert(out, string.sub(line, start, tab - 1))
    start = tab + 1
  end
end

local reqs, versions, sessions, n, i = {}, {}, {}, 0, 0

function init(args)
  local file = assert(io.open(args[1] .. "." .. tid, "r"))
  for line in file:lines() do
    local f = fields(line)
    if f[1] == "S" then
      sessions[f[2]] = {cookie = f[3], csrf = f[4]}
    elseif f[1] == "G" then
      local s = sessions[f[2]]
      local headers = {Cookie = s.cookie}
      if f[3] == "1" then headers["HX-Request"] = "true" end
      table.insert(reqs, {pre = wrk.format("GET", f[4], headers)})
    elseif f[1] == "P" then
      local s = sessions[f[2]]
      local goal = tonumber(f[3])
      versions[goal] = versions[goal] or tonumber(f[4])
      table.insert(reqs, {goal = goal, path = f[5], body = f[6], headers = {
        Cookie = s.cookie, ["HX-Request"] = "true", ["X-CSRFToken"] = s.csrf,
        ["Content-Type"] = "application/x-www-form-urlencoded"}})
    end
  end
  file:close()
  n = #reqs
  i = (tid * 7919) % n  -- threads start at different places in their lists
end

-- wrk calls request() once on the first thread's state to check the script, and never sends
-- that request. Counting a goal's version up for it put that goal one ahead of the server: a
-- 409 each time it came round. The check gets a harmless request instead.
local checked = false

function request()
  if tid == 1 and not checked then
    checked = true
    return wrk.format("GET", "/healthz")
  end
  i = i % n + 1
  local r = reqs[i]
  if r.pre then return r.pre end
  local v = versions[r.goal]
  versions[r.goal] = v + 1
  local body = string.gsub(r.body, "{V}", tostring(v))
  return wrk.format("POST", r.path, r.headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
