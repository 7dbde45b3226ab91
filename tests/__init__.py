"""tfvideo's test suite (a package, so that its modules import `tests.support` by one name)."""
