"""Building the ``fedflm`` parser stays light: heavy libraries load only in the command that needs them."""

import subprocess
import sys

HEAVY = ("matplotlib", "torch", "transformers", "flwr", "opacus", "datasets")


def test_parser_build_imports_no_heavy_library():
    # Prepare
    code = ("import sys\nfrom fedflm.cli.main import build_parser\nbuild_parser()\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")

    # Execute
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    # Assert
    assert out.stdout.strip() == "", f"parser build imported: {out.stdout.strip()}"
