"""``python -m derlink`` is ``derlink``."""

from derlink.cli.main import main

main()
