import sys
from pathlib import Path

# Let the test modules import their shared helpers whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).parent))
