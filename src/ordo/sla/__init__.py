"""SLA clocks: deadlines from the policy and the business calendar, started and stopped by events."""
