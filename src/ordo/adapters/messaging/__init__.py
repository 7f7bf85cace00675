"""Messaging channels (e-mail, SMS, webhooks), each behind a Protocol with a fake."""
