-- wrk script for bench/http.sh: changes nothing about the requests (no
-- request() or response() hooks, so wrk keeps its fast path) and prints one
-- JSON line when the run is done. Latencies are in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"rps":%.1f,' ..
    '"lat_mean_us":%.1f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,' ..
    '"p999_us":%.0f,"max_us":%.0f,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.requests / (summary.duration / 1e6),
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
