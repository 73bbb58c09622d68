"""The test suite: a package, so that tests/support/ and tests/fixtures/ import as ``tests.…``."""
