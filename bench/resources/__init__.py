"""What a profile's containers (or host processes) use during a k6 run: CPU from the cgroup
or /proc, peak memory, the replicas' own metrics from Prometheus, and their report rows."""
