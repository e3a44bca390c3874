"""``python -m accelsim.train [options]``: the ``accelsim train`` subcommand without the main CLI."""

import sys

from accelsim.train.command import main

sys.exit(main())
