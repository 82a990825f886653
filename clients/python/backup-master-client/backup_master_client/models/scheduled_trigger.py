from enum import StrEnum


class ScheduledTrigger(StrEnum):
    CATCH_UP = "catch_up"
    SCHEDULE = "schedule"

    def __str__(self) -> str:
        return str(self.value)
