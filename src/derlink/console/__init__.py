"""The operations console (docs/console.md): server-rendered pages over the hub's store and
the parts' read APIs, behind the same credentials and scopes as the APIs.

``app.create_console`` builds it; the composition root mounts it at ``/console``.
"""
