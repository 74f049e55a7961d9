"""The shared kernel: identifiers, time, errors and units every part speaks."""
