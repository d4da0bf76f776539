"""The job queue: submit runs, cancel them, wait for them to settle.

What pages, the command line and benchmarks call. `submit` validates a run's
config with its kind's validator and queues it in the store; a supervisor
(`labcore.supervisor`) claims queued runs and runs each in a worker process.

Keras-free: the Streamlit process imports this module.
"""

import time

from labcore import kinds, sharing
from labcore.errors import ConfigError
from labcore.store import TERMINAL_STATUSES

__all__ = ["cancel", "submit", "wait_until_settled"]


def submit(store, kind, config, owner, title=None, share=False):
    """Validate a run's config and queue it, or follow an identical run.

    Args:
        store: labcore.store.Store.
        kind: str, a key of `labcore.kinds.KINDS`.
        config: dict, the kind's config.
        owner: str, the session or user that may cancel or delete the run.
        title: str or None, shown in run lists; None uses the kind's title.
        share: bool, follow an identical run (`labcore.sharing`) that is
            done, queued or running instead of training again. Either way
            the run gets its key, so later identical requests can follow it.

    Returns:
        int, the run's id (a row of the caller's own, also when it follows).

    Raises:
        ConfigError: the kind or config has problems; the message lists them
            all, one per line, and no run is created.
    """
    problems = kinds.problems_for(kind, config)
    if problems:
        raise ConfigError("\n".join(problems))
    return store.create_run(kind, config, owner, title or kinds.KINDS[kind].title,
                            run_key=sharing.run_key(kind, config), follow=share)


def cancel(store, run_id, owner, admin=False):
    """Cancel a run: a queued one at once, a running one within seconds.

    Args:
        store: labcore.store.Store.
        run_id: int.
        owner: str or None, the caller; must be the run's owner unless admin.
        admin: bool, skip the owner check (CLI, instructors).

    Returns:
        str, the run's status afterwards (see `Store.request_cancel`).

    Raises:
        KeyError: no such run.
        PermissionDenied: the caller does not own the run and is not admin.
    """
    return store.request_cancel(run_id, owner=owner, admin=admin)


def wait_until_settled(store, run_ids, timeout_s=3.0, poll_s=0.1):
    """Wait until none of these runs is queued or running (or exists), at most `timeout_s`.

    A cancel takes effect at once for a queued run and within a fraction of
    a second for a running one, whose worker stops itself; callers that
    want to show or act on the outcome wait here.

    Returns:
        bool, whether they all settled in time.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        runs = [store.get_run(run_id) for run_id in run_ids]
        if all(run is None or run.status in TERMINAL_STATUSES for run in runs):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
