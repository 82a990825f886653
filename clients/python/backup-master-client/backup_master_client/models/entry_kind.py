from enum import StrEnum


class EntryKind(StrEnum):
    FILE = "file"
    FOLDER = "folder"
    SYMLINK = "symlink"

    def __str__(self) -> str:
        return str(self.value)
