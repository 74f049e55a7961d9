"""derlink's command line: ``derlink up``, ``demo``, ``reconcile``, ``hospital``, ``flows``,
``lookups``."""
