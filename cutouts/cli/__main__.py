"""python -m cutouts.cli"""
import sys

from cutouts.cli import main

sys.exit(main())
