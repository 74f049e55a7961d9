"""Enrollment: program subscriptions and their devices, the sync requests that keep each one in
step with the DERMS (ENR-SYNC, ENR-ACK), device status checks (DEV-STATUS) and the enrollment
extracts for analytics (OUAI-ENR, OUAI-ENR-ACK)."""
