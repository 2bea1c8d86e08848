"""The text algorithms: cleaning, language, shingles and stories, extraction. Plain Python, NumPy and Polars:
no Prefect, Delta Lake, Great Expectations or settings here (the worker processes import parts of it)."""
