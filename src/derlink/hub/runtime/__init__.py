"""Durable execution behind the hub's own small port (``port.py``).

Flows see only :class:`~derlink.hub.runtime.port.FlowContext`; the engine that makes them
durable (DBOS Transact, ``dbos_engine.py``) or runs them in memory for tests (``memory.py``)
is chosen by the composition root.
"""
