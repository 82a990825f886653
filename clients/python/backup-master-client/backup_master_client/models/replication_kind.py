from enum import StrEnum


class ReplicationKind(StrEnum):
    COPY = "copy"
    VERIFY = "verify"

    def __str__(self) -> str:
        return str(self.value)
