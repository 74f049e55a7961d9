"""The network model: where every service point sits – transformer, feeder, substation –
effective-dated, exported to cpm (NET-LOC). Not built yet; this package is its place."""
