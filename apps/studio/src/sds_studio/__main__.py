"""``python -m sds_studio``: the ``sds`` command line."""

from sds_studio.cli import main

main()
