from enum import StrEnum


class DrillEventType2Type(StrEnum):
    END = "end"

    def __str__(self) -> str:
        return str(self.value)
