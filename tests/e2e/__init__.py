"""Browser tests (a package, so that their module names, e2e.test_pages, differ from
tests/app/test_pages.py and the like)."""
