"""The calls suite's sandbox-wired fixtures, for the tests of audited verification attempts."""

from tests.calls.conftest import _forget_baa_coverage, agent, api, patient, site  # noqa: F401
