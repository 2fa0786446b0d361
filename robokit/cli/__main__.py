"""``python -m robokit.cli``: the ``robokit`` command."""

import sys

from robokit.cli import main

sys.exit(main())
