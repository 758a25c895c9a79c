"""Concurrent lifecycle operations, as xapi orders them."""


def test_hard_shutdown_interrupts_a_pending_clean_shutdown(xapi):
    """xapi lets a hard shutdown through while a clean one hangs, and cancels the clean one's task."""
    import time

    xapi.control.fault("VM.clean_shutdown", mode="delay", seconds=3)
    s = xapi.session()
    try:
        vm = s.xenapi.VM.get_by_name_label("web-01")[0]
        clean = s.xenapi.Async.VM.clean_shutdown(vm)
        time.sleep(0.3)
        assert list(s.xenapi.VM.get_current_operations(vm).values()) == ["clean_shutdown"]
        s.xenapi.VM.hard_shutdown(vm)
        assert s.xenapi.VM.get_power_state(vm) == "Halted"
        assert s.xenapi.task.get_status(clean) == "cancelled"
        assert s.xenapi.VM.get_current_operations(vm) == {}
        time.sleep(3.2)  # the delayed clean shutdown wakes up, sees the cancel and does nothing
        assert s.xenapi.task.get_status(clean) == "cancelled"
        assert s.xenapi.VM.get_power_state(vm) == "Halted"
    finally:
        s.xenapi.session.logout()
