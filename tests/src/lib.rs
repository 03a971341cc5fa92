//! asplit-tests: shared helpers for asplitc's integration tests (under `tests/tests/`).
