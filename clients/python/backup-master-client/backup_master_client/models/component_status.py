from enum import StrEnum


class ComponentStatus(StrEnum):
    ABORTED = "aborted"
    COMMITTED = "committed"
    FAILED = "failed"
    PENDING = "pending"
    PREPARED = "prepared"
    PREPARING = "preparing"

    def __str__(self) -> str:
        return str(self.value)
