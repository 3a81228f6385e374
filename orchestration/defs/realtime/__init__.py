"""The real-time tier (seed 000: < 5 min data freshness): today's fast tables and the marts that read
them, refreshed whenever the app database moves, and at every hour's end (seed 002's hourly
AgentGrid aggregation). See docs/realtime.md."""
