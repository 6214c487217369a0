from pathlib import Path
from typing import Optional


class RunConfig:
    def __init__(self, output_dir: Path, path: Path, task_names, console_colors="plain",
                 no_status_rc=False):
        self.output_dir = output_dir
        self.path = path
        self.task_names = list(task_names)
        self.console_colors = console_colors
        self.no_status_rc = no_status_rc


_config: Optional[RunConfig] = None


def get_config() -> Optional[RunConfig]:
    return _config


def set_config(config: Optional[RunConfig]) -> None:
    global _config
    _config = config
