"""Customer Program Management: programs, customers, devices and program subscriptions.

cpm plays the role of Oracle's CPMCS. It enrolls customers' devices in programs, keeps each
enrollment in sync with the DERMS through sync requests sent over the hub, and records the
head-end registration of every device from the acknowledgements it gets back.

The part is a package per feature, each with the same file roles – ``model.py`` (pure domain),
``tables.py``, ``service.py`` (or a ``service/`` package when it outgrows one module),
``schemas.py``, ``api.py``:

- ``catalog/``     programs (and their rules), aggregators, customers and service points
- ``enrollment/``  subscriptions, devices, sync requests, device status checks, extracts
- ``events/``      program events and event participation (reservation, opt-out, outcome)
- ``settlement/``  event and customer settlement (credits from kWh avoided and kW drop)

beside what the features share: ``db.py`` (the schema's metadata and the outbox),
``migrations.py``, ``errors.py``, ``schemas.py`` (the wire conventions), ``api.py`` (the
routes, composed) and ``app.py`` (the part, for the composition root).
"""
