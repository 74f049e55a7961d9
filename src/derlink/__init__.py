"""derlink: demand-response and DER programs end to end.

Four parts, each a bounded context that owns its data and talks to the others only over
HTTP and files through the hub: ``cpm`` (customer program management), ``derms`` (DER
management), ``analytics`` and ``hub`` (the integration layer). ``common`` is the shared
kernel, ``platform`` the technical adapters every part uses, ``bootstrap`` the one
composition root, ``cli`` and ``console`` the entry points.
"""

__version__ = "0.1.0"
