"""The ledger audit's defaults, in a module that imports nothing (the CLI's parser reads them
without loading the accountants)."""

DEFAULT_TOLERANCE = 0.01  # relative disagreement between recorded and recomputed epsilon that fails an entry (1 %)
