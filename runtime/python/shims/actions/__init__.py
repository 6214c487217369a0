"""``actions`` namespace for robotni: ``from actions import workitems`` and
``from actions.work_items import inputs, outputs`` (actions-work-items 0.4.x)."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)  # other actions.* packages may exist


def __getattr__(name):
    if name in ("workitems", "work_items"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
