from enum import StrEnum


class BackupEventType0Type(StrEnum):
    PROGRESS = "progress"

    def __str__(self) -> str:
        return str(self.value)
