from enum import StrEnum


class TxnKind(StrEnum):
    BACKUP = "backup"
    RESTORE = "restore"

    def __str__(self) -> str:
        return str(self.value)
