"""audioguide's tests. pytest rewrites the assertions of test modules and conftest.py only; the shared
helpers' assertions (a manifest that must read, an Info frame that must be there) say as much on failure."""

import pytest

pytest.register_assert_rewrite("tests.helpers")
