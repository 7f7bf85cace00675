"""The background worker: outbox delivery and the periodic SLA jobs."""
