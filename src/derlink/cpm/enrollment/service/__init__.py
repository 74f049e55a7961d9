"""The enrollment feature's services, one module per concern: ``subscriptions`` (enroll,
unenroll, add and replace a device), ``sync_requests`` (the hub's acceptance, acknowledgements,
discard), ``reads``, ``status_checks`` and ``extracts`` (with ``extract_file``, the file's
layout)."""
