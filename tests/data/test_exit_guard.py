import threading

from tfvideo.data import exit_guard


def test_run_returns_the_function_value_until_exit_then_the_exit_value_without_calling_it():
    guard = exit_guard.ExitGuard()
    calls = []
    assert guard.run(lambda x: calls.append(x) or x + 1, lambda: -1, 1) == 2
    guard.quiesce(quiet=0.0)
    assert guard.run(lambda x: calls.append(x) or x + 1, lambda: -1, 5) == -1
    assert calls == [1]


def test_quiesce_waits_for_a_running_call():
    guard = exit_guard.ExitGuard()
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=guard.run, args=(lambda: started.set() or release.wait(), None))
    worker.start()
    started.wait()
    quiescing = threading.Thread(target=guard.quiesce, kwargs=dict(quiet=0.01, timeout=60.0))
    quiescing.start()
    quiescing.join(0.3)
    assert quiescing.is_alive()  # the call is still running
    release.set()
    quiescing.join(60.0)
    assert not quiescing.is_alive() and not worker.is_alive()


def test_register_installs_one_exit_handler(monkeypatch):
    handlers = []
    monkeypatch.setattr(exit_guard.atexit, "register", handlers.append)
    guard = exit_guard.ExitGuard()
    guard.register()
    guard.register()
    assert handlers == [guard.quiesce]
