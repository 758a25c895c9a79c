"""XenAPI simulator package (tests/simulators/xapi). The implementation lives in xapisim/."""
