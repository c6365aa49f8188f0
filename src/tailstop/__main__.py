"""``python -m tailstop``: the command line (see :mod:`tailstop.cli`)."""

import sys

from tailstop.cli import main

sys.exit(main())
