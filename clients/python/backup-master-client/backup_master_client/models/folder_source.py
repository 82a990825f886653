from enum import StrEnum


class FolderSource(StrEnum):
    IMPORTED = "imported"
    SLOT = "slot"

    def __str__(self) -> str:
        return str(self.value)
