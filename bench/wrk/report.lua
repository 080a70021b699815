-- wrk's done(): one line of JSON after the run, read by bench/wrk.py.
local report = {}

function report.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "status_errors": %d,' ..
    ' "socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d,' ..
    ' "mean_us": %.1f}\n',
    summary.duration, summary.requests, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end

return report
