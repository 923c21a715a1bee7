"""Reporting: what a run gives back. The report of findings (results, text, the rule
catalog's table), the listing of service lines (lines: CSV, JSON, JSON lines), and the two
837 files a split writes (claim_files: claims re-enveloped into clean and held outputs)."""
