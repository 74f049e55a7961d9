"""Baselines: what a service point would have used without the event.

- ``rules``       X-of-Y rules and the ISO/RTO presets (each citing its published rule)
- ``windows``     the event's local slots on the prior days, cut from a grid
- ``xofy``        the X-of-Y kernel, and ``XofYMethod``: a rule as a baseline method
- ``regression``  the CalTRACK-hourly regression, batched, and ``RegressionMethod``
- ``results``     what a method gives: ``EventSavings`` (past event), ``ExpectedLoad`` (coming)
- ``methods``     the ``BaselineMethod`` protocol both implement, and the methods by name
"""
