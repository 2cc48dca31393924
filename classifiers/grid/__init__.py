"""The comparison grid: configuration, plan and shards, records, store, task and runner."""
