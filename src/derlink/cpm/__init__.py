"""Customer Program Management: programs, customers, devices and program subscriptions.

cpm plays the role of Oracle's CPMCS (SPEC §3 CPM). It enrolls customers' devices in programs,
keeps each enrollment in sync with the DERMS through sync requests sent over the hub, and
records the head-end registration of every device from the acknowledgements it gets back.
"""
