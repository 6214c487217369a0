"""Control Room adapter placeholder: robotni does not talk to Control Room."""

from ._base import BaseAdapter

MESSAGE = (
    "RobocorpAdapter (Robocorp Control Room work item API) is not supported by robotni. "
    "Run the robot inside robotni (bound to its work item store), or use the local "
    "FileAdapter: set RC_WORKITEM_ADAPTER=FileAdapter plus RC_WORKITEM_INPUT_PATH and "
    "RC_WORKITEM_OUTPUT_PATH."
)


class RobocorpAdapter(BaseAdapter):
    """Stands in for robocorp's Control Room adapter; constructing it raises."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(MESSAGE)

    def reserve_input(self):  # pragma: no cover - never constructed
        raise NotImplementedError(MESSAGE)

    def release_input(self, item_id, state, exception=None):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def create_output(self, parent_id, payload=None):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def load_payload(self, item_id):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def save_payload(self, item_id, payload):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def list_files(self, item_id):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def get_file(self, item_id, name):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def add_file(self, item_id, name, content):  # pragma: no cover
        raise NotImplementedError(MESSAGE)

    def remove_file(self, item_id, name):  # pragma: no cover
        raise NotImplementedError(MESSAGE)
