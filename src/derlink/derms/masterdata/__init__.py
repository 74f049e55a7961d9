"""cpm's master data as derms keeps it: every version of each program's rules (PROG-RULE) and
the aggregators (AGGREGATOR), delivered by the hub and answered one result per record; and the
rules in force for a stage being planned."""
