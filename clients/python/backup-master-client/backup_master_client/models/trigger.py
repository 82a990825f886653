from enum import StrEnum


class Trigger(StrEnum):
    CATCH_UP = "catch_up"
    MANUAL = "manual"
    SCHEDULE = "schedule"

    def __str__(self) -> str:
        return str(self.value)
