from enum import StrEnum


class DrillEventType0Type(StrEnum):
    COMPONENT = "component"

    def __str__(self) -> str:
        return str(self.value)
