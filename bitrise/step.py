"""Run the Bitrise step's Python side (``xctoken.bitrise_step``) from this checkout's own code."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from xctoken.bitrise_step import main  # noqa: E402 - after the path is set

sys.exit(main())
