from enum import StrEnum


class Layout(StrEnum):
    ITEMS = "items"
    OLD_STYLE_DAT = "old_style_dat"

    def __str__(self) -> str:
        return str(self.value)
