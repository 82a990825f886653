from enum import StrEnum


class FolderOrigin(StrEnum):
    IMPORTED = "imported"
    REPLICA = "replica"
    SAFETY_COPY = "safety_copy"
    SLOT = "slot"
    SOURCE_FOLDER = "source_folder"

    def __str__(self) -> str:
        return str(self.value)
