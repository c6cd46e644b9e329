"""`python -m chainsig …`: the command line (chainsig/cli.py)."""

import sys

from chainsig.cli import main

sys.exit(main())
