import logging

logger = logging.getLogger(__name__)


class _OnExit:
    def __init__(self, on_exit):
        self._on_exit = on_exit

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._on_exit()


class Callback:
    """An ordered list of callbacks; ``register`` returns a context manager
    that unregisters. Errors in callbacks are logged (or raised when
    ``raise_exceptions``)."""

    def __init__(self, reversed=False, raise_exceptions=False):
        self.raise_exceptions = raise_exceptions
        self._reversed = reversed
        self._callbacks = ()

    def register(self, callback):
        self._callbacks = self._callbacks + (callback,)
        return _OnExit(lambda: self.unregister(callback))

    def unregister(self, callback):
        self._callbacks = tuple(x for x in self._callbacks if x is not callback)

    def clear(self):
        self._callbacks = ()

    @property
    def callbacks(self):
        return self._callbacks

    def __len__(self):
        return len(self._callbacks)

    def __call__(self, *args, **kwargs):
        callbacks = reversed(self._callbacks) if self._reversed else self._callbacks
        for c in callbacks:
            try:
                c(*args, **kwargs)
            except BaseException:
                if self.raise_exceptions:
                    raise
                logger.exception("Error calling: %s.", c)
