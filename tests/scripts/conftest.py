"""The scripts import each other by name from scripts/, as `python scripts/X.py` runs them."""

import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
