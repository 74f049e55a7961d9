"""The outcome intake (EVT-OUTCOME-OUAI): DERMS's outcome files in, one outcome per device per
stage kept, one acknowledgement file per input out, and the API that runs it and reads what it
stored.

- ``model``    the outcome file's records, their checks and reason codes, the ack rows (pure)
- ``tables``   ``event_outcomes`` and ``outcome_refusals`` on the part's ``db.metadata``
- ``service``  the intake's runs (claim, stream, upsert, ack file, rename) and the reads
- ``schemas``  the API's answers (``...Read``)
- ``api``      the routes under ``/analytics/api/v1``
"""
