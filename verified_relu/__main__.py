"""``python -m verified_relu`` is the ``verified-relu`` command line."""

import sys

from .cli import main

sys.exit(main())
