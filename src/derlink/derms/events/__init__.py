"""Strategies, events and stages: the event lifecycle with its approvals, and automatic stage
generation from scores and forecasts. Not built yet; this package is its place."""
