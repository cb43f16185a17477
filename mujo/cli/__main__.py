"""`python -m mujo.cli` (also under torchrun): the `mujo` command."""

import sys

from mujo.cli import main

if __name__ == "__main__":  # not again in a process that multiprocessing spawns
    sys.exit(main())
