from enum import StrEnum


class SnapshotMode(StrEnum):
    BTRFS = "btrfs"
    COMMAND = "command"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
