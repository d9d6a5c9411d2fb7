"""``python -m geo``: same as the ``geo`` command."""

import sys

from .cli import main

sys.exit(main())
