"""``python -m proofs_checks [--tier quick|full] [--only ID ...] [--json F] [--markdown F] [--quiet]``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
