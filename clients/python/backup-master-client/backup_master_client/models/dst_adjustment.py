from enum import StrEnum


class DstAdjustment(StrEnum):
    REPEATED_TIME_FIRST_OCCURRENCE = "repeated_time_first_occurrence"
    SKIPPED_TIME_MOVED_FORWARD = "skipped_time_moved_forward"

    def __str__(self) -> str:
        return str(self.value)
