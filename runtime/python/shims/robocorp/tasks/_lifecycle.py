import functools
import inspect


def _cache(callback, func):
    """Cache the result of ``func`` until ``callback`` fires.

    A generator function is advanced to its first ``yield`` (the cached
    value) and resumed when the cache is released.
    """
    cache = []

    @functools.wraps(func)
    def new_func(*args, **kwargs):
        if cache:
            return cache[0]

        if inspect.isgeneratorfunction(func):
            iter_in = func(*args, **kwargs)
            cache.append(next(iter_in))

            def on_finish(*args, **kwargs):
                try:
                    next(iter_in)
                except StopIteration:
                    pass  # Expected
                finally:
                    cache.clear()
                    callback.unregister(on_finish)

            callback.register(on_finish)
        else:
            cache.append(func(*args, **kwargs))

            def on_finish(*args, **kwargs):
                cache.clear()
                callback.unregister(on_finish)

            callback.register(on_finish)

        return cache[0]

    new_func.clear_cache = cache.clear
    return new_func
