"""derms, the DER Management System.

For the enrollment journey (docs/contracts/enrollment.md) derms applies the enrollment syncs cpm
sends through the hub, acknowledges each with a MsgAck, originates bring-your-own-device
enrollment requests, and answers device status checks.

The part is a package per feature, each with the same file roles – ``model.py`` (pure domain),
``tables.py``, ``service.py``, ``schemas.py``, ``api.py``:

- ``registry/``  the enrolled-device registry and what derms says about it (ENR-SYNC, ENR-ACK,
  ENR-REQ, DEV-STATUS)
- ``network/``   the network model: service point → transformer → feeder → substation
- ``events/``    strategies, events and stages, with automatic stage generation
- ``dispatch/``  the OpenADR 3.1 VTN that carries stages to VENs and takes their reports

beside what the features share: ``db.py`` (the schema's metadata and the outbox),
``migrations.py``, ``api.py`` (the routes, composed) and ``app.py`` (the part).
"""
