import sys

from brickwall.cli import main

sys.exit(main())
