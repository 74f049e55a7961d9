"""The catalog: programs and their rules, aggregators, and the CIS master data (persons,
accounts, premises, service points) that enrollment needs to exist already."""
