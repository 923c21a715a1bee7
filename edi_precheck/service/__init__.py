"""`edi-precheck serve`: the checks over HTTP, for practice-management systems that are not
written in Python (the `[serve]` extra: Starlette on uvicorn)."""
