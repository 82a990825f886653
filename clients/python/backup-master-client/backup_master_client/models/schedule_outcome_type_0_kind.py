from enum import StrEnum


class ScheduleOutcomeType0Kind(StrEnum):
    STARTED = "started"

    def __str__(self) -> str:
        return str(self.value)
