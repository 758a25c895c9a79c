"""Entry point: `python tests/simulators/xapi --port 0` (works when run by path)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xapisim.cli import main

if __name__ == "__main__":
    sys.exit(main())
