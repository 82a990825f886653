from enum import StrEnum


class HookStatus(StrEnum):
    EXITED = "exited"
    FAILED_TO_START = "failed_to_start"
    KILLED = "killed"
    ORPHANED = "orphaned"
    RUNNING = "running"
    SKIPPED = "skipped"
    TIMED_OUT = "timed_out"

    def __str__(self) -> str:
        return str(self.value)
