"""interrupt.py: Ctrl-C remembered even when its KeyboardInterrupt is swallowed, held back
while a file is written, and raised once the write is complete."""
import os
import signal

import pytest

from structnet import interrupt


def test_swallowed_interrupt_is_remembered():
    interrupt.install_interrupt()
    try:
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass                                  # swallowed, as a finalizer would
        assert interrupt.interrupted()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check_interrupt()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_deferred_interrupt_raises_after_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)   # held: the block goes on to its end
            done.append(1)
    assert done == [1] and interrupt.interrupted()


def test_no_interrupt_no_raise():
    with interrupt.deferred_interrupt():
        pass
    assert not interrupt.interrupted()
    interrupt.check_interrupt()
