"""The test package. Imported before tests/conftest.py and every test module, so this runs first."""

import os
import sys

from components import collector

# Bytecode is cached as Python does by default, even where the environment turns that off (PYTHONDONTWRITEBYTECODE):
# else every xdist worker compiles the project and rewrites the test modules' asserts again, and every subprocess
# smoke test compiles the project again. Subprocesses inherit the setting through the environment.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# The collector as every entry point of the program sets it (components/collector.py): the tests render the stacks
# in this process.
collector.tune()
