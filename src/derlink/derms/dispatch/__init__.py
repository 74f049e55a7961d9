"""Dispatch over OpenADR 3.1: the VTN that turns scheduled stages into events for the VENs whose
devices they reserved, and their reports into device outcomes. Not built yet; this package is
its place."""
