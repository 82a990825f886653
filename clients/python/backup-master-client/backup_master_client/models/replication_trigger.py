from enum import StrEnum


class ReplicationTrigger(StrEnum):
    AFTER_BACKUP = "after_backup"
    MANUAL = "manual"

    def __str__(self) -> str:
        return str(self.value)
