from enum import StrEnum


class ScheduleOutcomeType2Kind(StrEnum):
    MISSED = "missed"

    def __str__(self) -> str:
        return str(self.value)
