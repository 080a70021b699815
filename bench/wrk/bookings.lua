-- wrk (one thread): POST /v1/bookings, every request a new booking. Booking k (counted across
-- the runs from `first`) is young person k modulo their number booking the showtime that
-- follows the last one they booked, among `stocks` (each its own film: a young person books a
-- film once), so the showtimes are booked in turn by everyone.
-- BENCH_WRK_DATA names a Lua file returning {tokens = {...}, stocks = {...}, first = k}.
local data = dofile(os.getenv("BENCH_WRK_DATA"))
local report = dofile(os.getenv("BENCH_WRK_REPORT"))
local n = 0

function request()
  local k = data.first + n
  local young = k % #data.tokens
  local round = math.floor(k / #data.tokens)
  n = n + 1
  return wrk.format("POST", "/v1/bookings", {
    ["Authorization"] = "Bearer " .. data.tokens[young + 1],
    ["Content-Type"] = "application/json",
  }, '{"stock_id": "' .. data.stocks[(young + round) % #data.stocks + 1] .. '", "quantity": 1}')
end

done = report.done
