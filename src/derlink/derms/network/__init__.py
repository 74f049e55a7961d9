"""The network model (SPEC NET-LOC): where every service point sits – transformer, feeder,
substation – effective-dated, exported to cpm. Not built yet; this package is its place."""
