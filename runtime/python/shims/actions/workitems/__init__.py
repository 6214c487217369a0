"""Compatibility alias for importing work items as ``actions.workitems``."""

from actions import work_items as _work_items
from actions.work_items import *  # noqa: F401,F403
from actions.work_items import inputs, outputs  # noqa: F401

__all__ = list(_work_items.__all__)
__version__ = _work_items.__version__
