-- wrk (one thread): POST /v1/bookings, every request a new booking. Request n books showtime
-- `first + n` (never booked before: each showtime is its own film, and a young person books a
-- film once) for young person n modulo their number.
-- BENCH_WRK_DATA names a Lua file returning {tokens = {...}, stocks = {...}, first = k}.
local data = dofile(os.getenv("BENCH_WRK_DATA"))
local report = dofile(os.getenv("BENCH_WRK_REPORT"))
local n = 0

function request()
  local token = data.tokens[(n % #data.tokens) + 1]
  local stock = data.stocks[data.first + n + 1]
  n = n + 1
  return wrk.format("POST", "/v1/bookings", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"stock_id": "' .. stock .. '", "quantity": 1}')
end

done = report.done
