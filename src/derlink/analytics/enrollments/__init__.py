"""The enrollment intake (OUAI-ENR, OUAI-ENR-ACK): cpm's extract files in, subscriptions and ack
files out, and the API that runs it and reads what it stored.

- ``fields``   how wide a kept field may be (shared by the record checks and the columns)
- ``model``    the extract's records, their checks and reason codes, the ack rows (pure)
- ``tables``   ``subscriptions`` and ``enrollment_files`` on the part's ``db.metadata``
- ``service``  the intake's runs (claim, stream, upsert, ack file, rename) and the reads
- ``schemas``  the API's answers (``...Read``)
- ``api``      the routes under ``/analytics/api/v1``
"""
