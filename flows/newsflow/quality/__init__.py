"""Data quality: the contracts' expectations checked with Great Expectations, and what a run keeps of it."""
