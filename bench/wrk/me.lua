-- wrk (one thread): GET /v1/me, the young people's tokens in turn (an authenticated no-op:
-- one call to the booking service, one read).
-- BENCH_WRK_DATA names a Lua file returning {tokens = {...}}.
local data = dofile(os.getenv("BENCH_WRK_DATA"))
local report = dofile(os.getenv("BENCH_WRK_REPORT"))
local n = 0

function request()
  local token = data.tokens[(n % #data.tokens) + 1]
  n = n + 1
  return wrk.format("GET", "/v1/me", {["Authorization"] = "Bearer " .. token})
end

done = report.done
