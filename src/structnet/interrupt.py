"""Ctrl-C, for every command: an interrupt is remembered even when Python swallows the
KeyboardInterrupt it raised (``install_interrupt``, ``interrupted``, ``check_interrupt``), held
back while a file is written (``deferred_interrupt``), and kept from worker processes, which
die with their parent (``worker_init``)."""

#: set by the SIGINT handler (``install_interrupt``) and by ``deferred_interrupt``: an interrupt
#: the user sent, even when the KeyboardInterrupt it raised was swallowed (raised inside a
#: finalizer or a library's cleanup, Python prints "Exception ignored" and goes on: seen with
#: worker processes, 5 of 15 tries). Loops check it (``check_interrupt``), writers look at it
#: before they replace a file, and the command line exits 130 when it is set.
_INTERRUPTED = []


def _on_sigint(signum, frame):
    _INTERRUPTED.append(signum)
    raise KeyboardInterrupt


def install_interrupt():
    """Ctrl-C raises KeyboardInterrupt as usual and is also remembered (main thread only); a
    KeyboardInterrupt that Python cannot raise (inside a finalizer: "Exception ignored in
    ...") is not printed, the flag has it."""
    import signal
    import sys
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)
        previous = sys.unraisablehook

        def hook(unraisable):
            if not isinstance(unraisable.exc_value, KeyboardInterrupt):
                previous(unraisable)
        sys.unraisablehook = hook


def interrupted():
    """Whether Ctrl-C was pressed in this process (``install_interrupt``)."""
    return bool(_INTERRUPTED)


def check_interrupt():
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first raise was swallowed."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


class deferred_interrupt:
    """Hold Ctrl-C (SIGINT) back while an atomic write runs, then raise it once the write is
    complete: h5py's cleanup swallows a KeyboardInterrupt raised inside it, so a run
    interrupted mid-checkpoint used to carry on to its end. No-op outside the main thread."""

    def __enter__(self):
        import signal
        import threading
        self.caught = False
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.caught = True
        _INTERRUPTED.append(signum)

    def __exit__(self, *exc):
        import signal
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.caught and exc[0] is None:
            raise KeyboardInterrupt
        return False


def worker_init():
    """Initializer of every worker pool: Ctrl-C is the parent's to handle (no traceback
    fragments from workers), and a worker dies with its parent, even a parent killed -9
    (Linux PR_SET_PDEATHSIG; elsewhere the pool's own shutdown)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
