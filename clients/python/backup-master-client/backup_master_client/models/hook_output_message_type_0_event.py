from enum import StrEnum


class HookOutputMessageType0Event(StrEnum):
    LINE = "line"

    def __str__(self) -> str:
        return str(self.value)
