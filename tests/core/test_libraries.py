"""core/libraries.warm_up: the lazy transformers names are resolved once, whichever threads ask."""

import threading

from ift_desktop.core import libraries


def test_warm_up_from_many_threads_imports_once_and_every_caller_waits_for_it(monkeypatch):
    calls, started = [], threading.Event()

    def slow_import():
        started.set()
        calls.append(threading.get_ident())
        threading.Event().wait(0.2)  # a caller arriving now must wait, not see a half-done import

    monkeypatch.setattr(libraries, "_done", False)
    monkeypatch.setattr(libraries, "_import_all", slow_import)
    finished = []

    def caller():
        libraries.warm_up()
        finished.append(libraries._done)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert started.is_set() and len(calls) == 1
    assert finished == [True] * 4  # nobody returned before the names were resolved


def test_the_train_pages_two_racing_workers_warm_up_first(monkeypatch):
    from ift_desktop.ui.pages.train import method, session

    seen = []
    monkeypatch.setattr(libraries, "warm_up", lambda: seen.append("warm_up"))
    session.preload_trainer()
    try:
        method.load_model_config(
            type("Spec", (), {"source": "folder", "name_or_path": "/nonexistent", "trust_remote_code": False})()
        )
    except Exception:  # noqa: BLE001 - the folder does not exist; only the order matters here
        pass
    assert seen == ["warm_up", "warm_up"]


def test_warm_up_freezes_what_the_imports_made_so_full_collections_skip_it(monkeypatch):
    import gc

    monkeypatch.setattr(libraries, "_done", False)
    monkeypatch.setattr(libraries, "_import_all", lambda: None)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    libraries.warm_up()
    assert gc.get_freeze_count() > 0  # a later gc.collect() no longer walks the libraries' objects
