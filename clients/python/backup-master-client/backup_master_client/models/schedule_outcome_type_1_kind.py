from enum import StrEnum


class ScheduleOutcomeType1Kind(StrEnum):
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)
