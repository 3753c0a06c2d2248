"""``python -m verified_relu`` is the ``verified-relu`` command line."""

import sys

from .app.cli import main

sys.exit(main())
