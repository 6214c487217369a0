"""A Python job type, served next to the host's own (C or C++) type."""
from robotni import job


@job("py.square", schema={"type": "object", "required": ["n"],
                          "properties": {"n": {"type": "integer"}}})
def square(n):
    return n * n
