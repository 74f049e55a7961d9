"""The hub: connections, the integration flows, lookups, tracking, the error hospital."""
