"""Job types of bench/e2e/workers.sh."""
from robotni import job


@job("add")
def add(x, y):
    return x + y


@job("cpu")
def cpu(n=200000):
    # Pure Python, holds the GIL: about 20 ms on this machine kind.
    s = 0
    for i in range(n):
        s += i * i
    return s
