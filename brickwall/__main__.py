import sys

from components import collector

collector.tune()  # before the command line imports the SDKs (components/collector.py)

from brickwall.cli import main  # noqa: E402

sys.exit(main())
