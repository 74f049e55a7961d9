"""Wire contracts that more than one part speaks, published in one place.

Data only: file names and column lists, the codes and envelopes every side reads and writes.
No logic and no I/O: a part builds and checks its own messages (each part keeps its own wire
schemas, docs/adr/0005-wire-schemas-per-part.md) from the values here. The layouts are
documented in docs/contracts/.
"""
