"""The one file-intake machinery: how a part (or the hub) takes in a file.

    list the store by prefix → set aside once, and report once, the entries that cannot be
      taken, never opening them (links, folders, names not allowed or too long: ``refusals``)
    → refuse unread what cannot be taken (empty, over the size limit)
    → claim the file by its checksum (``claims``: a re-delivered content has no second effect)
    → stream its CSV records from a position (``reader``, on ``records.RecordSplitter``)
    → check each record's shape and validate them in batches, rejected rows kept as data
      (``records.RowReject``: row number, code, reason)
    → apply the good rows, write the acknowledgement or error output atomically
    → rename the input ``Acked-``, ``Sent-``, ``Error-`` or ``Duplicate-`` (``names``)

A part plugs its file kind in as an ``driver.IntakeHandler`` (the enrollment extracts in
analytics; reservations, outcomes and kWh avoided in cpm) and ``driver.FileIntake`` runs it:
a crash mid-file leaves the claim to be taken over, and the next run takes the file again from
its first row (handlers apply rows idempotently, so the result comes out the same). The hub's
file flows use the same pieces inside durable steps, where the runtime resumes a crashed
instance at the last finished batch (``reader.read_window`` from a ``records.Position``).
"""
