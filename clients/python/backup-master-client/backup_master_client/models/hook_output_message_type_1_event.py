from enum import StrEnum


class HookOutputMessageType1Event(StrEnum):
    EXIT = "exit"

    def __str__(self) -> str:
        return str(self.value)
