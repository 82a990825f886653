from enum import StrEnum


class Decision(StrEnum):
    ABORT = "abort"
    COMMIT = "commit"
    ROLLBACK = "rollback"

    def __str__(self) -> str:
        return str(self.value)
