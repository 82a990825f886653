from enum import StrEnum


class BackupEventType1Type(StrEnum):
    END = "end"

    def __str__(self) -> str:
        return str(self.value)
